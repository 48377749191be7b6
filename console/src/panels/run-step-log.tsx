// One step's output, live: it opens at the log's tail and, while the step runs, follows it (stepLogAppended, resumed
// after the last chunk shown when the socket reconnects) unless the user scrolled up; it loads older pages as the user
// scrolls back. Only a bounded window of the text is held (step-log-blocks.ts): scrolling past it reads pages again.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useClient } from '@urql/preact';
import { errorText } from '../api';
import { graphql, type ResultOf, type VariablesOf } from '../graphql';
import { useResumingEvents } from '../live';
import { dateTime } from './run-header';
import { formatDuration } from './runs-row';
import { LogBlocks, type LogChunk } from './step-log-blocks';

/** Chunks per page read (the gateway also stops a page at about 1 MiB of text). */
const PAGE_CHUNKS = 200;
/** Live text (characters) that goes into the page without waiting for the next animation frame. */
const FLUSH_CHARS = 256_000;
/** How close to the bottom (in pixels) still counts as following the tail. */
const FOLLOW_SLACK = 24;

const StepLogPage = graphql(`
  query ConsoleStepLog($stepId: ID!, $after: Int, $first: Int, $before: Int, $last: Int) {
    stepLog(stepId: $stepId, after: $after, first: $first, before: $before, last: $last) {
      size
      cutBytes
      hasMore
      complete
      chunks {
        offset
        endOffset
        stream
        text
      }
    }
  }
`);

const StepLogStream = graphql(`
  subscription ConsoleStepLogStream($stepId: ID!, $after: Int) {
    stepLogAppended(stepId: $stepId, after: $after) {
      offset
      endOffset
      stream
      text
    }
  }
`);

type Page = ResultOf<typeof StepLogPage>['stepLog'];
type PageRange = Omit<VariablesOf<typeof StepLogPage>, 'stepId'>;

/** The step as the timeline lists it. */
export interface LoggedStep {
  id: string;
  sequence: number;
  toolId: string;
  state: string;
  startedAt: string;
  endedAt?: string | null;
}

/** The log as a whole, from the last page read and the chunks since. */
interface Summary {
  size: number;
  cutBytes: number;
  complete: boolean;
}

const bytes = new Intl.NumberFormat('en');
const atBottom = (node: HTMLElement) => node.scrollHeight - node.scrollTop - node.clientHeight <= FOLLOW_SLACK;

/** How the log ends, in words: the step's state and end when the timeline has read them. */
function endOf(step: LoggedStep, size: number): string {
  const ended =
    step.endedAt && step.state !== 'RUNNING'
      ? `step #${step.sequence} ${step.state} at ${dateTime.format(new Date(step.endedAt))}, after ${formatDuration(Date.parse(step.endedAt) - Date.parse(step.startedAt))}`
      : `step #${step.sequence} has ended`;
  return `End of the log: ${ended}; ${bytes.format(size)} bytes in all.`;
}

export function StepLog({ step }: { step: LoggedStep }) {
  const client = useClient();
  const box = useRef<HTMLDivElement>(null);
  const lines = useRef<HTMLDivElement>(null);
  const olderButton = useRef<HTMLButtonElement>(null);
  const newerButton = useRef<HTMLButtonElement>(null);
  const blocks = useRef<LogBlocks | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  /** Chunks precede the first one held. */
  const [older, setOlder] = useState(false);
  /** Chunks follow the last one held that the page does not follow live (it dropped them, or has not read them again). */
  const [newer, setNewer] = useState(false);
  /** Where the live stream starts (undefined: not following live). */
  const [from, setFrom] = useState<number | undefined>(undefined);
  /** The view is at the bottom of the text held. */
  const [following, setFollowing] = useState(true);
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  /** Live chunks not yet in the page: added once per animation frame, however many arrive. */
  const pending = useRef<{ chunks: LogChunk[]; chars: number; frame: number | null; live: boolean }>({ chunks: [], chars: 0, frame: null, live: false });
  /** The next render ends at the bottom of the log (after what it adds around the text: buttons, the end notice). */
  const toEnd = useRef(false);

  const read = async (range: PageRange): Promise<Page | null> => {
    const { data, error } = await client.query(StepLogPage, { stepId: step.id, ...range }, { requestPolicy: 'network-only' }).toPromise();
    if (error || !data) {
      setProblem((error && errorText(error)) ?? 'the step’s log could not be read');
      return null;
    }
    setProblem(null);
    return data.stepLog;
  };

  /** Stops following live: the newest text held is gone or not read yet. */
  const detach = () => {
    pending.current = { chunks: [], chars: 0, frame: null, live: false };
    setFrom(undefined);
    setNewer(true);
  };

  /** Continues live after the last chunk held (a log that will not grow has nothing to follow). */
  const attach = (page: Page, to: number) => {
    setSummary({ size: page.size, cutBytes: page.cutBytes, complete: page.complete });
    setNewer(false);
    pending.current.live = !page.complete;
    setFrom(page.complete ? undefined : to);
  };

  /** The log's tail, in place of whatever is held. */
  const openLatest = async () => {
    pending.current.live = false;
    setLoading(true);
    setFrom(undefined);
    const page = await read({ last: PAGE_CHUNKS });
    setLoading(false);
    const held = blocks.current;
    const node = box.current;
    if (!page || !held || !node) return;
    held.clear();
    Object.assign(pending.current, { chunks: [], chars: 0 });
    held.append(page.chunks);
    setOlder(page.hasMore);
    attach(page, held.range?.to ?? page.size);
    toEnd.current = true;
    setFollowing(true);
  };

  useEffect(() => {
    if (box.current && lines.current) blocks.current = new LogBlocks(box.current, lines.current);
    void openLatest();
    return () => {
      if (pending.current.frame !== null) cancelAnimationFrame(pending.current.frame);
    };
  }, []);

  const flush = () => {
    const { chunks, frame } = pending.current;
    if (frame !== null) cancelAnimationFrame(frame);
    Object.assign(pending.current, { chunks: [], chars: 0, frame: null });
    const node = box.current;
    const held = blocks.current;
    if (!node || !held || chunks.length === 0) return;
    const follow = atBottom(node);
    held.append(chunks);
    // Following: the oldest text goes; scrolled up: the newest, and the page stops following live.
    const trimmed = held.trim(follow ? 'bottom' : 'top');
    if (trimmed.top) setOlder(true);
    if (trimmed.bottom) detach();
    else if (follow) node.scrollTop = node.scrollHeight;
    const size = chunks.at(-1)!.endOffset;
    setSummary((shown) => shown && { ...shown, size: Math.max(shown.size, size) });
  };

  useResumingEvents(
    StepLogStream,
    { stepId: step.id },
    from,
    (data) => data.stepLogAppended.endOffset,
    (data) => {
      const live = pending.current;
      if (!live.live) return;
      live.chunks.push(data.stepLogAppended);
      live.chars += data.stepLogAppended.text.length;
      // A hidden tab runs no animation frames: past a block's worth, the chunks go in at once rather than pile up.
      if (live.chars > FLUSH_CHARS) flush();
      else live.frame ??= requestAnimationFrame(flush);
    },
    setProblem,
    // Every chunk has been delivered: the log's final size and cut, read once.
    () =>
      void read({ last: 1 }).then((page) => {
        flush();
        if (page) setSummary({ size: page.size, cutBytes: page.cutBytes, complete: page.complete });
      }),
  );

  /** Pages at either end of the text held, read as their button scrolls into view (or is pressed). */
  const loadOlder = async () => {
    const range = blocks.current?.range;
    if (!range || loading) return;
    setLoading(true);
    const page = await read({ before: range.from, last: PAGE_CHUNKS });
    setLoading(false);
    const held = blocks.current;
    if (!page || !held || held.range?.from !== range.from) return;
    held.prepend(page.chunks);
    setOlder(page.hasMore);
    if (held.trim('top').bottom) detach();
  };

  const loadNewer = async () => {
    const range = blocks.current?.range;
    if (!range || loading) return;
    setLoading(true);
    const page = await read({ after: range.to, first: PAGE_CHUNKS });
    setLoading(false);
    const held = blocks.current;
    if (!page || !held || held.range?.to !== range.to) return;
    held.append(page.chunks);
    if (held.trim('bottom').top) setOlder(true);
    if (!page.hasMore) attach(page, held.range?.to ?? range.to);
  };

  useEffect(() => {
    const node = box.current;
    if (!node || loading) return;
    const observer = new IntersectionObserver(
      (entries) => {
        const seen = (button: HTMLButtonElement | null) => entries.some((entry) => entry.isIntersecting && entry.target === button);
        if (seen(olderButton.current)) void loadOlder();
        else if (seen(newerButton.current)) void loadNewer();
      },
      { root: node },
    );
    for (const button of [olderButton.current, newerButton.current]) if (button) observer.observe(button);
    return () => observer.disconnect();
  }, [older, newer, loading]);

  // The end notice is added below the text: a reader following the tail sees it.
  const ended = Boolean(summary?.complete) && !newer;
  if (ended && following) toEnd.current = true;
  useLayoutEffect(() => {
    const node = box.current;
    if (toEnd.current && node) node.scrollTop = node.scrollHeight;
    toEnd.current = false;
  });

  const jumpToLatest = () => {
    box.current?.focus();
    if (newer) return void openLatest();
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
    setFollowing(true);
  };

  const label = `#${step.sequence} ${step.toolId}`;
  return (
    <section aria-labelledby="step-log" class="step-log">
      <h2 id="step-log">Log of step {label}</h2>
      {problem && <p role="alert">{problem}</p>}
      <p class="log-summary">
        <span data-field="state">{ended ? 'ended' : newer ? 'not following: newer output below' : from !== undefined ? 'live' : 'reading'}</span>
        {summary && (
          <>
            {' · '}
            <span data-field="size">{bytes.format(summary.size)} bytes</span>
            {summary.cutBytes > 0 && (
              <>
                {' · '}
                <span data-field="cut">{bytes.format(summary.cutBytes)} bytes cut from the middle</span>
              </>
            )}
          </>
        )}
      </p>
      <p class="legend">
        Streams: <code data-stream="STDOUT">stdout</code> <code data-stream="STDERR">stderr (tinted red)</code>
      </p>
      <div
        class="log-box step-log-box"
        ref={box}
        tabIndex={0}
        role="log"
        aria-live="off"
        aria-label={`Output of step ${label}, newest at the bottom`}
        onScroll={(event) => setFollowing(atBottom(event.currentTarget))}
      >
        {older ? (
          <button type="button" ref={olderButton} class="older" onClick={() => void loadOlder()} disabled={loading}>
            {loading ? 'Loading…' : 'Load older output'}
          </button>
        ) : (
          summary && <p class="hint">{summary.size > 0 ? 'The start of the log.' : summary.complete ? 'The step wrote no output.' : 'No output yet.'}</p>
        )}
        <div class="log-lines" ref={lines} />
        {newer && (
          <button type="button" ref={newerButton} class="older" onClick={() => void loadNewer()} disabled={loading}>
            {loading ? 'Loading…' : 'Load newer output'}
          </button>
        )}
        {ended && summary && <p class="log-end">{endOf(step, summary.size)}</p>}
      </div>
      {(newer || !following) && (
        <button type="button" class="jump" onClick={jumpToLatest}>
          Jump to latest
        </button>
      )}
      <p class="sr-only" aria-live="polite">
        {ended && summary ? `The log of step ${label} has ended: ${bytes.format(summary.size)} bytes.` : ''}
      </p>
    </section>
  );
}

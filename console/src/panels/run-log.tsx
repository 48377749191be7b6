// The run's event log, following the run live: it opens on the latest events, resumes after the last one it shows when
// the socket reconnects (live.ts useResumingEvents), and loads older pages as the user scrolls back.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useClient } from '@urql/preact';
import { errorText } from '../api';
import { graphql, type ResultOf } from '../graphql';
import { useResumingEvents } from '../live';

/** Events per page read; the stream itself sends each event as it is appended. */
const PAGE_SIZE = 50;

const RunEventsPage = graphql(`
  query ConsoleRunEvents($runId: ID!, $last: Int, $before: String) {
    runEvents(runId: $runId, last: $last, before: $before) {
      pageInfo {
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        node {
          cursor
          kind
          ts
          payload
        }
      }
    }
  }
`);

const RunEventStream = graphql(`
  subscription ConsoleRunEventStream($runId: ID!, $after: String) {
    runEvents(runId: $runId, after: $after, follow: true) {
      cursor
      kind
      ts
      payload
    }
  }
`);

type LogEvent = ResultOf<typeof RunEventStream>['runEvents'];

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });

/** A note says its message; any other event its payload's fields, as key: value. */
function details(event: LogEvent): string {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  if (event.kind === 'NOTE' && typeof payload.message === 'string') return payload.message;
  return Object.entries(payload)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
}

/** How close to the bottom (in pixels) still counts as following the newest events. */
const FOLLOW_SLACK = 24;

export function RunLog({ id, onEvent }: { id: string; onEvent: (kind: string) => void }) {
  const client = useClient();
  const [events, setEvents] = useState<readonly LogEvent[]>([]);
  /** The cursor older pages end before; null when the first event is shown. */
  const [older, setOlder] = useState<string | null>(null);
  /** Where the live stream starts: the last event of the first page read (undefined until it is read). */
  const [from, setFrom] = useState<string | null | undefined>(undefined);
  const [problem, setProblem] = useState<string | null>(null);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLButtonElement>(null);
  /** What the next layout must do to the scroll position: stay at the bottom, or keep the rows in view above a prepended page. */
  const scroll = useRef<{ follow: boolean; heightBefore: number | null }>({ follow: false, heightBefore: null });

  const readPage = async (before: string | null) => {
    const { data, error } = await client.query(RunEventsPage, { runId: id, last: PAGE_SIZE, before }, { requestPolicy: 'network-only' }).toPromise();
    if (error || !data) {
      setProblem((error && errorText(error)) ?? 'the run’s events could not be read');
      return null;
    }
    return data.runEvents;
  };

  useEffect(() => {
    void readPage(null).then((page) => {
      if (!page) return;
      scroll.current.follow = true;
      setEvents(page.edges.map((edge) => edge.node));
      setOlder(page.pageInfo.hasPreviousPage ? page.pageInfo.startCursor : null);
      setFrom(page.pageInfo.endCursor);
    });
  }, [id]);

  useResumingEvents(
    RunEventStream,
    { runId: id },
    from,
    (data) => data.runEvents.cursor,
    (data) => {
      const node = box.current;
      scroll.current.follow = !node || node.scrollHeight - node.scrollTop - node.clientHeight <= FOLLOW_SLACK;
      setEvents((shown) => [...shown, data.runEvents]);
      onEvent(data.runEvents.kind);
    },
    setProblem,
  );

  const loadOlder = async () => {
    if (!older || loadingOlder) return;
    setLoadingOlder(true);
    const page = await readPage(older);
    setLoadingOlder(false);
    if (!page) return;
    scroll.current = { follow: false, heightBefore: box.current?.scrollHeight ?? null };
    setEvents((shown) => [...page.edges.map((edge) => edge.node), ...shown]);
    setOlder(page.pageInfo.hasPreviousPage ? page.pageInfo.startCursor : null);
  };

  useLayoutEffect(() => {
    const node = box.current;
    if (!node) return;
    const { follow, heightBefore } = scroll.current;
    if (heightBefore !== null) node.scrollTop += node.scrollHeight - heightBefore;
    else if (follow) node.scrollTop = node.scrollHeight;
    scroll.current = { follow: false, heightBefore: null };
  }, [events]);

  // Scrolling back to the top of the log loads the page before it.
  useEffect(() => {
    const node = sentinel.current;
    if (!node || !box.current) return;
    const observer = new IntersectionObserver((entries) => entries.some((entry) => entry.isIntersecting) && void loadOlder(), { root: box.current });
    observer.observe(node);
    return () => observer.disconnect();
  }, [older, loadingOlder]);

  return (
    <section aria-labelledby="run-log" class="run-log">
      <h2 id="run-log">Event log</h2>
      {problem && <p role="alert">{problem}</p>}
      <div class="log-box" ref={box} tabIndex={0} role="region" aria-label="Event log, newest at the bottom">
        {older ? (
          <button type="button" ref={sentinel} class="older" onClick={() => void loadOlder()} disabled={loadingOlder}>
            {loadingOlder ? 'Loading older events…' : 'Load older events'}
          </button>
        ) : (
          from !== undefined && <p class="hint">The start of the log.</p>
        )}
        <table class="events">
          <caption class="sr-only">Events of the run, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Kind</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.cursor} data-cursor={event.cursor} data-kind={event.kind}>
                <td>
                  <time dateTime={event.ts}>{time.format(new Date(event.ts))}</time>
                </td>
                <th scope="row">{event.kind}</th>
                <td data-field="details">{details(event)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="hint">
        {events.length} {events.length === 1 ? 'event' : 'events'} shown, following live
      </p>
    </section>
  );
}

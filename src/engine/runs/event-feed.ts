import { deliver, endQueue, newBoundedQueue, untilWoken, type BoundedQueue, type QueueBounds } from '../core/bounded-queue.js';
import { CoalescedRunner } from '../core/coalesced-runner.js';
import { endable } from '../core/endable-iterator.js';
import { DomainError } from '../core/errors.js';
import type { EventBus } from '../core/event-bus.js';
import type { RunEvent, RunEventKind, RunState } from './entities.js';
import type { EventQuery, RunEventReader } from './event-log.js';
import { isEndedRun } from './machines.js';

const READ_BATCH = 500;
/** Runs whose project the feed remembers (a run's project never changes); past this the memory starts over. */
const PROJECT_CACHE_SIZE = 10_000;
/** A subscriber that falls this far behind is ended; it can resume from its last cursor. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 10_000;
/** ... or that holds this many bytes of events (payloads) unread: 10,000 large notes would be far more. */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** The queue bounds of a feed whose subscribers may fall `maxBuffered` events behind. */
function queueBounds(maxBuffered: number): QueueBounds {
  return {
    items: maxBuffered,
    bytes: DEFAULT_MAX_BUFFERED_BYTES,
    overflow: () =>
      new DomainError('SLOW_CONSUMER', 'subscriber fell too far behind; resume with the last cursor', {
        maxBuffered,
        maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES,
      }),
  };
}

/** An event's approximate size, measured once per row however many listeners hold it. */
const sizes = new WeakMap<RunEvent, number>();
function sizeOf(event: RunEvent): number {
  let size = sizes.get(event);
  if (size === undefined) {
    size = 256 + JSON.stringify(event.payload ?? null).length;
    sizes.set(event, size);
  }
  return size;
}

/** A subscriber's queue of events, sized by sizeOf. */
type Listener = BoundedQueue<RunEvent>;

/**
 * The stored log, read once per wake-up for every subscriber of one run (or
 * of all runs). Bus notices only say "something was appended"; the tail then
 * reads everything after the last position it read, so what its listeners
 * receive is exactly the committed log, in order, however the notices arrive.
 */
class Tail {
  readonly listeners = new Set<Listener>();
  last = 0;
  readonly ready: Promise<void>;
  private readonly reads: CoalescedRunner;

  constructor(
    private readonly runId: string | null,
    private readonly reader: RunEventReader,
    onError: (error: unknown) => void,
    private readonly bounds: QueueBounds,
  ) {
    this.ready = reader.lastPosition().then((position) => {
      this.last = Math.max(this.last, position);
    });
    this.reads = new CoalescedRunner(this.ready, () => this.catchUp(), onError);
  }

  wake(): void {
    this.reads.request();
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const rows = await this.reader.after({ runId: this.runId, after: this.last, limit: READ_BATCH });
      for (const row of rows) {
        const size = sizeOf(row);
        for (const listener of this.listeners) deliver(listener, row, size, this.bounds);
      }
      this.last = rows.at(-1)?.position ?? this.last;
      if (rows.length < READ_BATCH) return;
    }
  }
}

export interface RunEventStreamOptions {
  runId?: string | null;
  /** Only events of this project's runs. */
  projectId?: string | null;
  /** Position after which to start; null for live events only. */
  after: number | null;
  kinds?: readonly RunEventKind[] | null;
  /**
   * With runId: the stream ends once the run has ended (the event that moved
   * it to SUCCEEDED, FAILED, CANCELED or QUARANTINED) and every event stored
   * by then has been delivered, those its ending wrote with it included.
   * On a run that has already ended it delivers what is stored after `after`
   * (nothing without it) and ends.
   */
  untilRunEnds?: boolean;
  signal?: AbortSignal;
}

/** At most how many events, and about how many bytes of them (sizeOf), one batch of RunEventFeed.batches holds. */
export interface BatchLimits {
  events: number;
  bytes: number;
}

/** `stream` yields its events one by one from batches of these: at most one batch is off the queue and not yet yielded. */
const STREAM_BATCH: BatchLimits = { events: READ_BATCH, bytes: 1024 * 1024 };

/** Consecutive runs of `rows`, each within `limits` and at least one row long. */
function* cut(rows: RunEvent[], limits: BatchLimits): Generator<RunEvent[]> {
  let start = 0;
  while (start < rows.length) {
    let end = start + 1;
    let bytes = sizeOf(rows[start]!);
    while (end < rows.length && end - start < limits.events && bytes + sizeOf(rows[end]!) <= limits.bytes) bytes += sizeOf(rows[end++]!);
    yield start === 0 && end === rows.length ? rows : rows.slice(start, end);
    start = end;
  }
}

async function* flatten<T>(batches: AsyncGenerator<T[]>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch;
}

/** The event that ends its run (a FAILED run may still be QUARANTINED: that ends it too). */
function endsRun(event: RunEvent): boolean {
  return event.kind === 'run_state_changed' && typeof event.payload.to === 'string' && isEndedRun(event.payload.to as RunState);
}

/** Live, resumable streams of the run event log. */
export class RunEventFeed {
  private readonly tails = new Map<string, Tail>();
  private readonly listeners = new Set<Listener>();
  private readonly unsubscribe: () => void;
  private readonly projects = new Map<string, string>();
  private readonly bounds: QueueBounds;

  constructor(
    private readonly reader: RunEventReader,
    bus: EventBus,
    private readonly onError: (error: unknown) => void,
    maxBuffered = DEFAULT_MAX_BUFFERED_EVENTS,
  ) {
    this.bounds = queueBounds(maxBuffered);
    const unsubscribe = bus.subscribe('run.event', (notice) => {
      this.tails.get('*')?.wake();
      this.tails.get(notice.runId)?.wake();
    });
    // Notices published while a shared bus was away never arrive: once it is back, every tail reads what it missed.
    const stopWatching = bus.onConnectionChange((connected) => {
      if (connected) for (const tail of this.tails.values()) tail.wake();
    });
    this.unsubscribe = () => {
      unsubscribe();
      stopWatching();
    };
  }

  /**
   * Replays the stored events after `after`, then continues live. The
   * listener is attached before the replay, and whatever it buffers is
   * emitted only past the last replayed position, so nothing is skipped or
   * repeated even while writes commit during the replay.
   */
  stream(options: RunEventStreamOptions): AsyncIterableIterator<RunEvent> {
    const listener = newBoundedQueue<RunEvent>();
    return endable(flatten(this.follow(listener, options, STREAM_BATCH)), () => endQueue(listener));
  }

  /**
   * The same events as `stream`, in the same order, in batches: as many as
   * are ready (a stored page, or what live writes have queued), cut at
   * `limits`; a batch holds at least one event, and none is empty.
   */
  batches(options: RunEventStreamOptions, limits: BatchLimits): AsyncIterableIterator<RunEvent[]> {
    const listener = newBoundedQueue<RunEvent>();
    return endable(this.follow(listener, options, limits), () => endQueue(listener));
  }

  private async *follow(listener: Listener, options: RunEventStreamOptions, limits: BatchLimits): AsyncGenerator<RunEvent[]> {
    const key = options.runId ?? '*';
    const kinds = options.kinds?.length ? new Set(options.kinds) : null;
    const query = { runId: options.runId, projectId: options.projectId, kinds: options.kinds };
    const untilRunEnds = Boolean(options.untilRunEnds && options.runId);
    const tail = this.tailFor(key, options.runId ?? null);
    const onAbort = () => endQueue(listener);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await tail.ready;
      tail.listeners.add(listener);
      this.listeners.add(listener);
      let last = options.after ?? tail.last;
      // Asked once attached: an ending committed before is seen here, one committed since is queued.
      const ended = untilRunEnds && isEndedRun((await this.reader.runState(options.runId!)) ?? 'pending');
      if (options.after !== null || ended) {
        for await (const rows of this.stored(query, last, listener)) {
          last = rows.at(-1)!.position;
          yield* cut(rows, limits);
        }
        if (ended) return;
      }
      for (;;) {
        // What the listener has queued, up to the limits.
        const batch: RunEvent[] = [];
        let bytes = 0;
        let ending = false;
        while (listener.queue.length > 0 && batch.length < limits.events && (batch.length === 0 || bytes + sizeOf(listener.queue[0]!) <= limits.bytes)) {
          const event = listener.queue.shift()!;
          listener.queuedBytes -= sizeOf(event);
          // Looked at even when the replay delivered it already.
          ending = untilRunEnds && endsRun(event);
          if (event.position > last) {
            last = event.position;
            if ((!kinds || kinds.has(event.kind)) && (await this.inProject(event, options.projectId))) {
              batch.push(event);
              bytes += sizeOf(event);
            }
          }
          if (ending) break;
        }
        if (batch.length > 0) yield batch;
        if (ending) {
          // The rest of the ending's write (steps canceled, tasks skipped) is stored by now: deliver it, then end.
          for await (const rows of this.stored(query, last, listener)) yield* cut(rows, limits);
          return;
        }
        if (listener.queue.length > 0) continue;
        if (listener.failure) throw listener.failure;
        if (listener.ended) return;
        await untilWoken(listener);
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      this.listeners.delete(listener);
      tail.listeners.delete(listener);
      if (tail.listeners.size === 0 && this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** The stored events of `query` after position `after`, in log order, page by page (none empty), until the log's end or the listener's. */
  private async *stored(query: Omit<EventQuery, 'after' | 'limit'>, after: number, listener: Listener): AsyncGenerator<RunEvent[]> {
    for (;;) {
      const rows = await this.reader.after({ ...query, after, limit: READ_BATCH });
      if (rows.length > 0) {
        after = rows.at(-1)!.position;
        yield rows;
      }
      if (rows.length < READ_BATCH || listener.ended) return;
    }
  }

  /** Whether a live event belongs to the project (always without one); runs' projects are remembered, as they never change. */
  private async inProject(event: RunEvent, projectId: string | null | undefined): Promise<boolean> {
    if (!projectId) return true;
    let project = this.projects.get(event.runId);
    if (project === undefined) {
      if (this.projects.size >= PROJECT_CACHE_SIZE) this.projects.clear();
      project = (await this.reader.projectsOf([event.runId])).get(event.runId) ?? '';
      this.projects.set(event.runId, project);
    }
    return project === projectId;
  }

  /** Ends every open stream (used on shutdown). */
  close(): void {
    this.unsubscribe();
    for (const listener of this.listeners) endQueue(listener);
  }

  get openStreams(): number {
    return this.listeners.size;
  }

  private tailFor(key: string, runId: string | null): Tail {
    let tail = this.tails.get(key);
    if (!tail) {
      tail = new Tail(runId, this.reader, this.onError, this.bounds);
      this.tails.set(key, tail);
    }
    return tail;
  }
}

import { DomainError } from './errors.js';
import type { EventBus, Topic, Topics } from './event-bus.js';

/** A subscriber this many notices behind is ended with SLOW_CONSUMER rather than buffered without end. */
export const DEFAULT_MAX_QUEUED_NOTICES = 10_000;

export interface NoticeStreamOptions<N> {
  /** Drops a notice before it is queued (server-side filters that need no read). */
  accept?: (notice: N) => boolean;
  onClose?: () => void;
  maxQueued?: number;
}

/**
 * Bus notices of one topic as an async iterator, mapped through `load`
 * (which may drop a notice by returning null). return() ends it at once,
 * even while it waits for the next notice.
 */
export type NoticeStream<T> = AsyncIterableIterator<T> & {
  /** Ends the stream with `error` once what is queued has been read. */
  fail(error: DomainError): void;
};

export function noticeStream<K extends Topic, T>(
  bus: EventBus,
  topic: K,
  load: (notice: Topics[K]) => T | null | Promise<T | null>,
  { accept = () => true, onClose = () => {}, maxQueued = DEFAULT_MAX_QUEUED_NOTICES }: NoticeStreamOptions<Topics[K]> = {},
): NoticeStream<T> {
  const queue: Topics[K][] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let failure: DomainError | null = null;
  const unsubscribe = bus.subscribe(topic, (notice) => {
    if (ended || !accept(notice)) return;
    if (queue.length >= maxQueued) {
      failure = new DomainError('SLOW_CONSUMER', 'subscriber fell too far behind', { maxQueued });
      finish();
      return;
    }
    queue.push(notice);
    wake?.();
  });
  const finish = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    onClose();
    wake?.();
  };
  const done = { value: undefined, done: true } as const;
  return {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (failure) {
          const error = failure;
          failure = null;
          throw error;
        }
        if (ended) return done;
        const notice = queue.shift();
        if (!notice) {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        const value = await load(notice);
        if (value !== null && !ended) return { value, done: false };
      }
    },
    async return(): Promise<IteratorResult<T>> {
      finish();
      return done;
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      finish();
      throw error;
    },
    fail(error) {
      if (ended) return;
      failure = error;
      finish();
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const busLost = () => new DomainError('UNAVAILABLE', 'the event bus lost its connection, so notices may be missed: subscribe again', { retryAfterSeconds: 1 });

/**
 * Every notice stream the engine has open: shutdown ends them, and tests
 * count them. Notices are not stored, so a stream cannot bridge a gap: when
 * a shared bus (Redis) loses its connection, each stream ends with
 * UNAVAILABLE and the client subscribes again (runEvents instead replays
 * the gap from the database: event-feed.ts).
 */
export class NoticeStreams {
  private readonly open = new Set<NoticeStream<unknown>>();

  constructor(private readonly bus: EventBus) {
    bus.onConnectionChange((connected) => {
      if (connected) return;
      for (const stream of this.open) stream.fail(busLost());
    });
  }

  /** A stream of `topic`'s notices that pass `accept`, each mapped through `load`. */
  follow<K extends Topic, T>(topic: K, load: (notice: Topics[K]) => T | null | Promise<T | null>, accept?: (notice: Topics[K]) => boolean): AsyncIterableIterator<T> {
    const stream: NoticeStream<T> = noticeStream(this.bus, topic, load, { accept, onClose: () => this.open.delete(stream) });
    if (!this.bus.connected()) stream.fail(busLost());
    else this.open.add(stream);
    return stream;
  }

  get size(): number {
    return this.open.size;
  }

  closeAll(): void {
    for (const stream of this.open) void stream.return?.();
  }
}

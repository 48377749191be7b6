import type { EventBus } from './event-bus.js';

/**
 * Bus notices of one topic as an async iterator, mapped through `load`
 * (which may drop a notice by returning null). return() ends it at once,
 * even while it waits for the next notice.
 */
export function noticeStream<N extends object, T>(
  bus: EventBus,
  topic: string,
  load: (notice: N) => Promise<T | null>,
  onClose: () => void = () => {},
): AsyncIterableIterator<T> {
  const queue: N[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const unsubscribe = bus.subscribe<N>(topic, (notice) => {
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
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

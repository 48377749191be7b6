import type { DomainError } from './errors.js';

/**
 * What a subscriber has been delivered and not yet read, with the limits
 * that end it: a subscriber that stops reading must not hold memory without
 * end. A plain object and plain functions, so that delivering one item to
 * thousands of subscribers allocates nothing per subscriber.
 */
export interface BoundedQueue<T> {
  queue: T[];
  /** What the queue holds, by the sizes given to `deliver`. */
  queuedBytes: number;
  /** Set while the reader waits (untilWoken). */
  wake: (() => void) | null;
  ended: boolean;
  /** Why it ended, when the reader fell behind: thrown once the queue is read. */
  failure: DomainError | null;
}

/** How many items and bytes a queue may hold; past either, `overflow()` (a SLOW_CONSUMER error) ends it. */
export interface QueueBounds {
  items: number;
  bytes: number;
  overflow: () => DomainError;
}

export function newBoundedQueue<T>(): BoundedQueue<T> {
  return { queue: [], queuedBytes: 0, wake: null, ended: false, failure: null };
}

/** Queues `item` (of `size` bytes) and wakes the reader, or ends the queue with the bounds' error if it would hold too much. */
export function deliver<T>(listener: BoundedQueue<T>, item: T, size: number, bounds: QueueBounds): void {
  if (listener.ended) return;
  if (listener.queue.length >= bounds.items || listener.queuedBytes + size > bounds.bytes) {
    listener.failure = bounds.overflow();
    listener.ended = true;
  } else {
    listener.queue.push(item);
    listener.queuedBytes += size;
  }
  wakeReader(listener);
}

/** Ends the queue: its reader stops once it has read what is queued (or at once, if it chooses). */
export function endQueue<T>(listener: BoundedQueue<T>): void {
  listener.ended = true;
  wakeReader(listener);
}

/** Resolves at the next delivery or end. */
export function untilWoken<T>(listener: BoundedQueue<T>): Promise<void> {
  return new Promise<void>((resolve) => (listener.wake = resolve));
}

function wakeReader<T>(listener: BoundedQueue<T>): void {
  const wake = listener.wake;
  listener.wake = null;
  wake?.();
}

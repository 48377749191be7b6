import { deliver, endQueue, newBoundedQueue, untilWoken, type BoundedQueue, type QueueBounds } from '../core/bounded-queue.js';
import { CoalescedRunner } from '../core/coalesced-runner.js';
import { endable } from '../core/endable-iterator.js';
import { DomainError } from '../core/errors.js';
import type { EventBus } from '../core/event-bus.js';
import { isContinuationByte, type StepLogChunkView, type StepLogs } from './step-logs.js';

/** Chunks read per query while a tail catches up or a subscriber replays. */
const READ_BATCH = 100;
/** A subscriber that holds this many chunks unread, or this many bytes of them, is ended with SLOW_CONSUMER (it resumes with `after`). */
export const MAX_QUEUED_CHUNKS = 10_000;
export const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Those bounds, and the error that ends a subscriber past them. */
const BOUNDS: QueueBounds = {
  items: MAX_QUEUED_CHUNKS,
  bytes: MAX_QUEUED_BYTES,
  overflow: () =>
    new DomainError('SLOW_CONSUMER', 'subscriber fell too far behind; resume with `after`: the endOffset of the last chunk it got', {
      maxQueued: MAX_QUEUED_CHUNKS,
      maxQueuedBytes: MAX_QUEUED_BYTES,
    }),
};

/** Queued after the last chunk of a step that ended: nothing follows. */
const END = Symbol('step ended');
type Item = StepLogChunkView | typeof END;

/** A subscriber's queue of chunks (and END), sized by their text's length. */
type Listener = BoundedQueue<Item>;

/**
 * One step's stored log, read once per wake-up for all its subscribers.
 * Notices only say "the log grew" or "the step ended"; the tail reads what
 * is stored past the last offset it read, so its listeners receive exactly
 * the committed log, in order, however the notices arrive (or across
 * instances). After an end notice it reads the rest, then queues END.
 */
class Tail {
  readonly listeners = new Set<Listener>();
  last = 0;
  readonly ready: Promise<void>;
  private readonly reads: CoalescedRunner;
  /** An end notice (or a reconnected bus) came: look at the step's state on the next read. */
  private checkEnd = false;

  constructor(
    private readonly stepId: string,
    private readonly logs: StepLogs,
    onError: (error: unknown) => void,
  ) {
    this.ready = logs.summary(stepId).then((summary) => {
      this.last = Math.max(this.last, summary.size);
    });
    this.reads = new CoalescedRunner(this.ready, () => this.catchUp(), onError);
  }

  wake(checkEnd: boolean): void {
    this.checkEnd ||= checkEnd;
    this.reads.request();
  }

  private async catchUp(): Promise<void> {
    // Asked before the read: an ending committed by then has every chunk of the step committed before it.
    // Cleared first, so that an end notice arriving during the question is looked at again.
    const check = this.checkEnd;
    this.checkEnd = false;
    const ended = check && (await this.logs.summary(this.stepId)).complete;
    for (;;) {
      const { chunks, hasMore } = await this.logs.readAfter(this.stepId, this.last, READ_BATCH);
      for (const chunk of chunks) for (const listener of this.listeners) deliver(listener, chunk, chunk.text.length, BOUNDS);
      this.last = chunks.at(-1)?.endOffset ?? this.last;
      if (!hasMore) break;
    }
    if (ended) for (const listener of this.listeners) deliver(listener, END, 0, BOUNDS);
  }
}

export interface StepLogStreamOptions {
  stepId: string;
  /** Byte offset after which to replay the stored log first; null for live chunks only. */
  after: number | null;
}

/** Live, resumable streams of step logs, by byte offset. */
export class StepLogFeed {
  private readonly tails = new Map<string, Tail>();
  private readonly listeners = new Set<Listener>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly logs: StepLogs,
    bus: EventBus,
    private readonly onError: (error: unknown) => void,
  ) {
    const unsubscribe = bus.subscribe('step.log', (notice) => this.tails.get(notice.stepId)?.wake(notice.ended === true));
    // Notices published while a shared bus was away never arrive: once it is back, every tail reads what it missed, an ending included.
    const stopWatching = bus.onConnectionChange((connected) => {
      if (connected) for (const tail of this.tails.values()) tail.wake(true);
    });
    this.unsubscribe = () => {
      unsubscribe();
      stopWatching();
    };
  }

  /**
   * Replays the stored chunks past `after`, then continues live, and ends
   * once the step has ended and every chunk is delivered. The listener is
   * attached before the replay, and what it queued meanwhile is emitted only
   * past the last replayed offset: no gap, no duplicate.
   */
  stream(options: StepLogStreamOptions): AsyncIterableIterator<StepLogChunkView> {
    const listener = newBoundedQueue<Item>();
    return endable(this.follow(listener, options), () => endQueue(listener));
  }

  private async *follow(listener: Listener, options: StepLogStreamOptions): AsyncGenerator<StepLogChunkView> {
    const { stepId } = options;
    const tail = this.tailFor(stepId);
    try {
      await tail.ready;
      tail.listeners.add(listener);
      this.listeners.add(listener);
      let last = options.after ?? tail.last;
      // Asked once attached: an ending committed before is seen here, one committed since is queued as END.
      const ended = (await this.logs.summary(stepId)).complete;
      if (options.after !== null || ended) {
        for (;;) {
          const { chunks, hasMore } = await this.logs.readAfter(stepId, last, READ_BATCH);
          for (const chunk of chunks) {
            last = chunk.endOffset;
            yield chunk;
          }
          if (!hasMore || listener.ended) break;
        }
        if (ended) return;
      }
      for (;;) {
        const item = listener.queue.shift();
        if (item === END) return;
        if (item) {
          listener.queuedBytes -= item.text.length;
          // Delivered by the replay already, or (live only) a chunk reaching back before `after`: only what is past `last`.
          if (item.endOffset <= last) continue;
          const chunk = item.offset < last ? trimmed(item, last) : item;
          last = chunk.endOffset;
          yield chunk;
          continue;
        }
        if (listener.failure) throw listener.failure;
        if (listener.ended) return;
        await untilWoken(listener);
      }
    } finally {
      this.listeners.delete(listener);
      tail.listeners.delete(listener);
      if (tail.listeners.size === 0 && this.tails.get(stepId) === tail) this.tails.delete(stepId);
    }
  }

  /** Ends every open stream (used on shutdown). */
  close(): void {
    this.unsubscribe();
    for (const listener of this.listeners) endQueue(listener);
  }

  get openStreams(): number {
    return this.listeners.size;
  }

  private tailFor(stepId: string): Tail {
    let tail = this.tails.get(stepId);
    if (!tail) {
      tail = new Tail(stepId, this.logs, this.onError);
      this.tails.set(stepId, tail);
    }
    return tail;
  }
}

/** A live chunk from `from` on (a subscriber whose `after` lies inside it), cut at a character's start. */
function trimmed(chunk: StepLogChunkView, from: number): StepLogChunkView {
  const bytes = Buffer.from(chunk.text, 'utf8');
  let skip = from - chunk.offset;
  while (skip < bytes.length && isContinuationByte(bytes[skip]!)) skip += 1;
  return { ...chunk, offset: chunk.offset + skip, text: bytes.subarray(skip).toString('utf8') };
}

import { StringDecoder } from 'node:string_decoder';
import { AppendStepLog } from './documents.js';
import { GatewayError, type Gateway } from './gateway.js';

export type LogStream = 'STDOUT' | 'STDERR';

export interface StepLogLimits {
  /** Unsent bytes kept per step while the gateway is unreachable; past it the middle is dropped (one marker line says so). */
  maxBufferBytes: number;
  /** At most this many UTF-8 bytes per append (the gateway's per-chunk limit). */
  maxChunkBytes: number;
  /** Output waits at most this long before it is sent. */
  flushMs: number;
}

export const STEP_LOG_LIMITS: StepLogLimits = { maxBufferBytes: 8 * 1024 * 1024, maxChunkBytes: 65_536, flushMs: 150 };

interface Segment {
  stream: LogStream;
  bytes: Buffer;
}

/** The one marker where output was dropped; its count is fixed when it is sent. */
interface Gap {
  stream: 'STDERR';
  dropped: number;
}

const gapLine = (dropped: number) => `[uet-worker: ${dropped} bytes of output dropped while the gateway was unreachable]\n`;

/**
 * A step's output on its way to appendStepLog: bytes are decoded per stream
 * (a character split across reads stays whole), batched (one append per
 * flush interval or per full chunk), sent one append at a time, each naming
 * the offset it starts at, so that an append resent after a reconnect is
 * stored once. While the gateway is unreachable the unsent bytes are kept up
 * to a bound; past it the oldest half and the newest half are kept, with
 * one marker line where the gap is.
 */
export class StepLogSender {
  private readonly decoders = { STDOUT: new StringDecoder('utf8'), STDERR: new StringDecoder('utf8') };
  private readonly queue: (Segment | Gap)[] = [];
  private queuedBytes = 0;
  /** The marker still in the queue (the bytes after it are the newest, trimmed from their front on overflow). */
  private gap: Gap | null = null;
  /** Bytes after the gap marker. */
  private tailBytes = 0;
  /** The gateway's size of the log: the offset of the next append. */
  private offset = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped: string | null = null;
  private ended = false;
  private drainedListeners: (() => void)[] = [];
  /** Bytes the tool wrote, all of them (the task's log_bytes). */
  producedBytes = 0;
  droppedBytes = 0;

  constructor(
    private readonly gateway: Gateway,
    private readonly stepId: string,
    private readonly say: (line: string) => void,
    /** The gateway ended the step (its run ended): the tool has no one left to report to. */
    private readonly onStepEnded: () => void,
    private readonly limits: StepLogLimits = STEP_LOG_LIMITS,
  ) {}

  /** Why appends stopped for good (the step ended, the log is full, the token may not append), or null. */
  get stoppedBecause(): string | null {
    return this.stopped;
  }

  write(stream: LogStream, chunk: Buffer): void {
    this.producedBytes += chunk.length;
    this.enqueue(stream, this.decoders[stream].write(chunk));
  }

  /** The tool's output has ended: what is buffered is sent; resolves when all of it is stored, or appends stopped. */
  async end(): Promise<void> {
    for (const stream of ['STDOUT', 'STDERR'] as const) this.enqueue(stream, this.decoders[stream].end());
    this.ended = true;
    this.pump(true);
    if (this.queuedBytes === 0 && this.inFlight === null) return;
    if (this.stopped) return;
    await new Promise<void>((resolve) => this.drainedListeners.push(resolve));
  }

  /** Stops sending (the step is over for the gateway): what is buffered is dropped. */
  abandon(why: string): void {
    this.stop(why);
  }

  private enqueue(stream: LogStream, text: string): void {
    if (text === '' || this.stopped) return;
    const bytes = Buffer.from(text, 'utf8');
    const last = this.queue.at(-1);
    // Adjacent output of one stream merges, unless it is already in an append.
    if (last && 'bytes' in last && last.stream === stream && !(this.inFlight && this.queue.length === 1)) last.bytes = Buffer.concat([last.bytes, bytes]);
    else this.queue.push({ stream, bytes });
    this.queuedBytes += bytes.length;
    if (this.gap) this.tailBytes += bytes.length;
    this.trim();
    this.pump(false);
  }

  /** Over the bound: keep the oldest half, drop from the front of the newest until it fits in the other half. */
  private trim(): void {
    const half = Math.floor(this.limits.maxBufferBytes / 2);
    if (this.queuedBytes <= this.limits.maxBufferBytes) return;
    if (!this.gap) {
      // The head is the first half (past whatever an append in flight holds); the rest becomes the tail.
      let kept = 0;
      let i = 0;
      for (; i < this.queue.length; i++) {
        const item = this.queue[i]!;
        if (!('bytes' in item)) continue;
        if (kept + item.bytes.length > half) {
          const cut = utf8Boundary(item.bytes, half - kept);
          if (cut > 0 && !(this.inFlight && i === 0)) {
            this.queue.splice(i + 1, 0, { stream: item.stream, bytes: item.bytes.subarray(cut) });
            item.bytes = item.bytes.subarray(0, cut);
            i += 1;
          } else if (cut > 0) i += 1;
          break;
        }
        kept += item.bytes.length;
      }
      this.gap = { stream: 'STDERR', dropped: 0 };
      this.queue.splice(i, 0, this.gap);
      this.tailBytes = this.queue.slice(i + 1).reduce((sum, item) => sum + ('bytes' in item ? item.bytes.length : 0), 0);
    }
    const start = this.queue.indexOf(this.gap) + 1;
    while (this.tailBytes > half && start < this.queue.length) {
      const item = this.queue[start] as Segment;
      const excess = this.tailBytes - half;
      const drop = excess >= item.bytes.length ? item.bytes.length : utf8Boundary(item.bytes, excess, true);
      if (drop >= item.bytes.length) this.queue.splice(start, 1);
      else item.bytes = item.bytes.subarray(drop);
      this.tailBytes -= drop;
      this.queuedBytes -= drop;
      this.gap.dropped += drop;
      this.droppedBytes += drop;
      if (drop === 0) break;
    }
  }

  /** Sends the next append when none is in flight and there is enough to send, or it is time. */
  private pump(now: boolean): void {
    if (this.inFlight || this.stopped || this.queue.length === 0) return;
    const full = this.queuedBytes >= this.limits.maxChunkBytes || this.queue[0] === this.gap;
    if (!now && !full && !this.ended) {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.pump(true);
      }, this.limits.flushMs);
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight = this.sendHead().finally(() => {
      this.inFlight = null;
      if (this.queue.length > 0 && !this.stopped) this.pump(this.ended || this.queuedBytes >= this.limits.maxChunkBytes);
      else this.notifyDrained();
    });
  }

  private async sendHead(): Promise<void> {
    const head = this.queue[0]!;
    let stream: LogStream;
    let bytes: Buffer;
    if (!('bytes' in head)) {
      // The marker's count is fixed now: output dropped later starts a gap of its own.
      this.gap = null;
      this.tailBytes = 0;
      stream = head.stream;
      bytes = Buffer.from(gapLine(head.dropped));
    } else {
      stream = head.stream;
      bytes = head.bytes.subarray(0, utf8Boundary(head.bytes, this.limits.maxChunkBytes));
    }
    try {
      const { appendStepLog } = await this.gateway.request(AppendStepLog, { stepId: this.stepId, offset: this.offset, stream, text: bytes.toString('utf8') }, 'resend');
      this.offset = appendStepLog?.size ?? this.offset + bytes.length;
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'BAD_USER_INPUT' && typeof error.extensions.expectedOffset === 'number') {
        // Our offset is behind what the gateway stored (an earlier append's answer was lost): resume from its size.
        this.offset = error.extensions.expectedOffset;
        return;
      }
      this.stop(error instanceof GatewayError ? `${error.code ?? 'error'}: ${error.message}` : String(error));
      if (error instanceof GatewayError && error.code === 'INVALID_TRANSITION') this.onStepEnded();
      return;
    }
    if ('bytes' in head) {
      head.bytes = head.bytes.subarray(bytes.length);
      this.queuedBytes -= bytes.length;
      if (head.bytes.length === 0) this.queue.shift();
    } else this.queue.shift();
  }

  private stop(why: string): void {
    if (this.stopped) return;
    this.stopped = why;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const unsent = this.queuedBytes;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.gap = null;
    if (unsent > 0 || !this.ended) this.say(`step ${this.stepId}: log appends stopped (${why})${unsent > 0 ? `; ${unsent} bytes not sent` : ''}`);
    if (!this.inFlight) this.notifyDrained();
  }

  private notifyDrained(): void {
    if (this.queuedBytes > 0 && !this.stopped) return;
    for (const resolve of this.drainedListeners.splice(0)) resolve();
  }
}

/**
 * The largest cut at or below `at` that does not split a UTF-8 character
 * (`up`: the smallest at or above it, for dropping at least `at` bytes).
 */
export function utf8Boundary(bytes: Buffer, at: number, up = false): number {
  let cut = Math.min(at, bytes.length);
  const continuation = (i: number) => i < bytes.length && (bytes[i]! & 0xc0) === 0x80;
  if (up) while (continuation(cut)) cut += 1;
  else while (cut > 0 && continuation(cut)) cut -= 1;
  return cut;
}

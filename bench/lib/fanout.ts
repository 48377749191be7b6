/**
 * The graphql-ws fan-out load shared by the fan-out benchmarks
 * (bench/suites/3-fanout.ts, bench/suites/8-scale-out.ts): N subscriber
 * sockets written by hand on raw `ws` (graphql-transport-ws, one
 * subscription "1" each, a `next` message's event number read from its
 * bytes, not parsed), a keep-alive HTTP publisher, and the per-phase
 * tally of deliveries (latency, lost, duplicated, out of order).
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { percentile } from './stats.js';

export type StreamName = 'workerHeartbeats' | 'runEvents';

/** A phase whose deliveries stop coming for this long is over: what is missing is lost. */
export const IDLE_MS = 5_000;

/** Event numbers: probes below 1,000, the fixed-rate phase from 1,000, saturation from 10,000 (heartbeat progress = n / 1000 <= 100). */
export const PROBE_END = 1_000;
export const RATE_BASE = 1_000;
export const SATURATION_BASE = 10_000;

/** What a subscriber socket needs of a server. */
export interface SubscribeTarget {
  name: string;
  wsUrl: string;
  connectionParams: Record<string, unknown>;
  subscription(stream: StreamName): { query: string; variables?: Record<string, unknown> };
}

export const seqMessage = (seq: number) => `s${seq}`;

// ---------------------------------------------------------------- publisher

/** POSTs on keep-alive sockets; resolves with undefined or a failure's description. */
export function publisher(maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const post = (target: { url: string; headers: Record<string, string>; body: string }) =>
    new Promise<string | undefined>((resolve) => {
      const url = new URL(target.url);
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...target.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve(res.statusCode !== 200 || body.includes('"errors"') ? `HTTP ${res.statusCode}: ${body.slice(0, 300)}` : undefined);
          });
        },
      );
      req.on('error', (error) => resolve(String(error)));
      req.end(target.body);
    });
  return { post, close: () => agent.destroy() };
}

// ---------------------------------------------------------------- subscribers

/** One measured phase: events base .. base + count - 1, to every one of n subscribers. */
export class Phase {
  readonly sentAt: Float64Array;
  readonly seen: Uint8Array;
  readonly latencies: Float64Array;
  /** Each delivery's subscriber, in the order of `latencies` (for percentileOf). */
  readonly receivers: Int32Array;
  readonly lastSeq: Int32Array;
  delivered = 0;
  duplicates = 0;
  outOfOrder = 0;
  firstSend = Infinity;
  lastReceipt = 0;

  constructor(
    readonly base: number,
    readonly count: number,
    readonly n: number,
  ) {
    this.sentAt = new Float64Array(count).fill(NaN);
    this.seen = new Uint8Array(n * count);
    this.latencies = new Float64Array(n * count);
    this.receivers = new Int32Array(n * count);
    this.lastSeq = new Int32Array(n).fill(-1);
  }

  get expected(): number {
    return this.n * this.count;
  }

  sent(seq: number): void {
    const now = performance.now();
    this.sentAt[seq - this.base] = now;
    if (now < this.firstSend) this.firstSend = now;
  }

  receive(subscriber: number, seq: number, at: number): void {
    const k = seq - this.base;
    const slot = subscriber * this.count + k;
    if (this.seen[slot]) {
      this.duplicates += 1;
      return;
    }
    this.seen[slot] = 1;
    if (seq < this.lastSeq[subscriber]!) this.outOfOrder += 1;
    this.lastSeq[subscriber] = seq;
    this.latencies[this.delivered] = at - this.sentAt[k]!;
    this.receivers[this.delivered] = subscriber;
    this.delivered += 1;
    this.lastReceipt = at;
  }

  percentile(p: number): number {
    return percentile(Array.from(this.latencies.subarray(0, this.delivered)), p);
  }

  /** The percentile over the deliveries to the subscribers `which` selects. */
  percentileOf(p: number, which: (subscriber: number) => boolean): number {
    const values: number[] = [];
    for (let i = 0; i < this.delivered; i++) if (which(this.receivers[i]!)) values.push(this.latencies[i]!);
    return percentile(values, p);
  }

  /** Deliveries missing for the subscribers `which` selects. */
  missingOf(which: (subscriber: number) => boolean): number {
    let missing = 0;
    for (let subscriber = 0; subscriber < this.n; subscriber++) {
      if (!which(subscriber)) continue;
      for (let k = 0; k < this.count; k++) if (!this.seen[subscriber * this.count + k]) missing += 1;
    }
    return missing;
  }
}

const NEXT_PREFIX = Buffer.from('{"id":"1","type":"next","payload":');
const PROGRESS = Buffer.from('"progress":');
const MESSAGE = Buffer.from('"message":"s');

/** The event number in a `next` message, read from its bytes (no JSON.parse): -1 when absent. */
export function eventNumber(data: Buffer, stream: StreamName): number {
  if (stream === 'workerHeartbeats') {
    const at = data.indexOf(PROGRESS);
    if (at < 0) return -1;
    let end = at + PROGRESS.length;
    while (end < data.length && ((data[end]! >= 48 && data[end]! <= 57) || data[end] === 46)) end += 1;
    return Math.round(Number(data.toString('latin1', at + PROGRESS.length, end)) * 1000);
  }
  const at = data.indexOf(MESSAGE);
  if (at < 0) return -1;
  let seq = 0;
  for (let i = at + MESSAGE.length; i < data.length && data[i]! >= 48 && data[i]! <= 57; i++) seq = seq * 10 + data[i]! - 48;
  return seq;
}

/** N sockets, one subscription each, feeding whichever phase is current. */
export class Fleet {
  readonly sockets: WebSocket[] = [];
  readonly probed: Uint8Array;
  probedCount = 0;
  phase: Phase | null = null;
  stray = 0;
  retries = 0;
  firstMessageBytes = 0;
  readonly problems: string[] = [];

  constructor(
    readonly n: number,
    readonly stream: StreamName,
  ) {
    this.probed = new Uint8Array(n);
  }

  problem(what: string): void {
    if (this.problems.length < 5) this.problems.push(what);
  }

  /** Connects the N subscribers, 50 handshakes at a time; `urlOf` picks a subscriber's server (target.wsUrl unless given). */
  async open(target: SubscribeTarget, urlOf: (index: number) => string = () => target.wsUrl): Promise<void> {
    const { query, variables } = target.subscription(this.stream);
    const subscribe = JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } });
    for (let i = 0; i < this.n; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, this.n - i) }, (_, j) => this.connectRetrying(target, urlOf(i + j), i + j, subscribe)));
    }
  }

  /** A handshake that fails (e.g. 4408: the server, starved on a shared core, timed out waiting for connection_init) is tried again twice. */
  private async connectRetrying(target: SubscribeTarget, url: string, index: number, subscribe: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect(target, url, index, subscribe);
      } catch (error) {
        if (attempt === 3) throw error;
        this.retries += 1;
        await sleep(200);
      }
    }
  }

  private connect(target: SubscribeTarget, url: string, index: number, subscribe: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
      this.sockets[index] = socket;
      let acknowledged = false;
      const timer = setTimeout(() => reject(new Error(`${target.name}: no connection_ack within 15 s`)), 15_000);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: target.connectionParams })));
      socket.on('error', (error) => (clearTimeout(timer), reject(error)));
      socket.on('close', (code, reason) => {
        clearTimeout(timer);
        if (!acknowledged) reject(new Error(`${target.name}: closed before connection_ack: ${code} ${reason.toString()}`));
        else if (this.phase !== null || code !== 1000) this.problem(`${target.name} subscriber ${index}: socket closed ${code} ${reason.toString()}`);
      });
      socket.on('message', (data: Buffer) => {
        const at = performance.now();
        if (data.length > NEXT_PREFIX.length && data.compare(NEXT_PREFIX, 0, NEXT_PREFIX.length, 0, NEXT_PREFIX.length) === 0) {
          const seq = eventNumber(data, this.stream);
          if (seq < 0) return this.problem(`${target.name}: a next message without an event number: ${data.toString().slice(0, 300)}`);
          this.firstMessageBytes ||= data.length;
          if (seq < PROBE_END) {
            if (!this.probed[index]) (this.probed[index] = 1), (this.probedCount += 1);
            return;
          }
          const phase = this.phase;
          if (phase && seq >= phase.base && seq < phase.base + phase.count) phase.receive(index, seq, at);
          else this.stray += 1;
          return;
        }
        const message = JSON.parse(data.toString()) as { type: string; payload?: unknown };
        if (message.type === 'connection_ack') {
          acknowledged = true;
          clearTimeout(timer);
          socket.send(subscribe);
          resolve();
        } else if (message.type === 'ping') socket.send('{"type":"pong"}');
        else if (message.type !== 'pong') this.problem(`${target.name} subscriber ${index}: ${data.toString().slice(0, 300)}`);
      });
    });
  }

  close(): Promise<void> {
    return Promise.all(
      this.sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            const timer = setTimeout(() => (socket.terminate(), resolve()), 5_000);
            socket.once('close', () => (clearTimeout(timer), resolve()));
            socket.close(1000);
          }),
      ),
    ).then(() => undefined);
  }
}

/** Resolves once the phase has every delivery, or none came for IDLE_MS. */
export async function settle(phase: Phase): Promise<void> {
  let last = phase.delivered;
  let since = performance.now();
  while (phase.delivered + phase.duplicates < phase.expected) {
    await sleep(20);
    if (phase.delivered !== last) (last = phase.delivered), (since = performance.now());
    else if (performance.now() - since > IDLE_MS) return;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));


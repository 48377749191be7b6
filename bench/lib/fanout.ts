/**
 * The graphql-ws fan-out load shared by the fan-out benchmarks
 * (bench/suites/3-fanout.ts, bench/suites/8-scale-out.ts): N subscriber
 * sockets written by hand on raw `ws` (graphql-transport-ws, one
 * subscription "1" each, a `next` message's event number read from its
 * bytes, not parsed), a keep-alive HTTP publisher, the per-phase tally of
 * deliveries (latency, lost, duplicated, out of order), the measurement
 * (probe, fixed rate, saturation) and the gateway's side of it.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';
import type { ServerProcess } from './processes.js';
import { percentile, round } from './stats.js';

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

/** An HTTP POST of the publisher. */
export interface Post {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export const seqMessage = (seq: number) => `s${seq}`;

// ---------------------------------------------------------------- publisher

/** POSTs on keep-alive sockets; resolves with undefined or a failure's description. */
export function publisher(maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const post = (target: Post) =>
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
            if (!this.probed[index]) {
              this.probed[index] = 1;
              this.probedCount += 1;
            }
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
    if (phase.delivered !== last) {
      last = phase.delivered;
      since = performance.now();
    } else if (performance.now() - since > IDLE_MS) return;
  }
}

// ---------------------------------------------------------------- measurement

/** The servers under load: where subscriber i connects, how an event is published, which processes do the work. */
export interface FanoutTarget extends SubscribeTarget {
  /** Subscriber i's graphql-ws URL, when not every subscriber's is wsUrl. */
  wsUrlOf?(index: number): string;
  /** The HTTP request that publishes event number `seq` on `stream`. */
  publish(stream: StreamName, seq: number): Post;
  /** The processes whose CPU time is the server's. */
  servers: ServerProcess[];
}

export interface PhaseSettings {
  /** The fixed rate (events per second) and how long it runs. */
  rate: number;
  rateSeconds: number;
  /** Deliveries per saturation phase (events = this / N, at least 20). */
  saturationDeliveries: number;
}

export const SATURATION_CONCURRENCY = 4;

export interface FanoutMeasurement {
  p50: number;
  p99: number;
  max: number;
  rate: number;
  clientCpu: number;
  serverCpu: number;
  /** Server CPU time per delivery at saturation: what a delivery costs, whatever share of the core the server got. */
  serverUsPerDelivery: number;
  /** The server's CPU share over the fixed-rate phase (until its last delivery). */
  rateServerCpu: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  stray: number;
  messageBytes: number;
  problems: string[];
  /** The phases, for figures over some of the subscribers. */
  fixed: Phase;
  saturated: Phase;
}

const cpuOf = (servers: ServerProcess[]) => servers.reduce((sum, s) => sum + s.cpuSeconds(), 0);

/**
 * N subscribers of `stream` on `target`: probed until all are attached, then
 * the fixed-rate phase (latency) and the saturation phase (deliveries per second).
 */
export async function measureFanout(target: FanoutTarget, stream: StreamName, n: number, settings: PhaseSettings): Promise<FanoutMeasurement> {
  const fleet = new Fleet(n, stream);
  const problems: string[] = [];
  // A publisher per phase: a keep-alive socket idle past the server's keep-alive timeout (5 s) may be
  // closed just as it is reused ("socket hang up"), and an event that may or may not be published spoils the count.
  const pub = publisher(1);
  const saturator = publisher(SATURATION_CONCURRENCY);
  try {
    await fleet.open(target, target.wsUrlOf);
    // Probe until every subscriber is attached on the server.
    const probeStart = performance.now();
    for (let seq = 1; fleet.probedCount < n; seq++) {
      if (seq >= PROBE_END || performance.now() - probeStart > 60_000) throw new Error(`${target.name}: only ${fleet.probedCount} of ${n} subscribers attached`);
      const failure = await pub.post(target.publish(stream, seq));
      if (failure) throw new Error(`${target.name}: publishing failed: ${failure}`);
      await sleep(50);
    }
    await sleep(200);

    // Fixed rate, on a schedule, from one publisher socket (so in order).
    const count = Math.round(settings.rate * settings.rateSeconds);
    const fixed = new Phase(RATE_BASE, count, n);
    fleet.phase = fixed;
    const ordered = publisher(1);
    const sends: Promise<string | undefined>[] = [];
    const rateServer = cpuOf(target.servers);
    const t0 = performance.now();
    for (let k = 0; k < count; k++) {
      await sleep(t0 + (k * 1000) / settings.rate - performance.now());
      // Timed from the scheduled send: a publisher stalled behind a slow mutation counts against the latency.
      fixed.sent(RATE_BASE + k);
      sends.push(ordered.post(target.publish(stream, RATE_BASE + k)));
    }
    for (const failure of await Promise.all(sends)) if (failure) problems.push(`${target.name} ${settings.rate}/s: ${failure}`);
    await settle(fixed);
    const rateServerCpu = (cpuOf(target.servers) - rateServer) / ((performance.now() - t0) / 1000);
    ordered.close();

    // Saturation: as fast as the server takes the events.
    const events = Math.max(20, Math.round(settings.saturationDeliveries / n));
    const saturated = new Phase(SATURATION_BASE, events, n);
    fleet.phase = saturated;
    const cpu = process.cpuUsage();
    const serverCpu = cpuOf(target.servers);
    let next = 0;
    await Promise.all(
      Array.from({ length: SATURATION_CONCURRENCY }, async () => {
        while (next < events) {
          const k = next++;
          saturated.sent(SATURATION_BASE + k);
          const failure = await saturator.post(target.publish(stream, SATURATION_BASE + k));
          if (failure) problems.push(`${target.name} saturation: ${failure}`);
        }
      }),
    );
    await settle(saturated);
    const seconds = (saturated.lastReceipt - saturated.firstSend) / 1000;
    const used = process.cpuUsage(cpu);
    const serverUsed = cpuOf(target.servers) - serverCpu;
    fleet.phase = null;

    return {
      p50: fixed.percentile(50),
      p99: fixed.percentile(99),
      max: fixed.percentile(100),
      rate: saturated.delivered / seconds,
      clientCpu: (used.user + used.system) / 1e6 / seconds,
      serverCpu: serverUsed / seconds,
      serverUsPerDelivery: (serverUsed * 1e6) / saturated.delivered,
      rateServerCpu,
      lost: fixed.expected - fixed.delivered + (saturated.expected - saturated.delivered),
      duplicated: fixed.duplicates + saturated.duplicates,
      outOfOrder: fixed.outOfOrder,
      stray: fleet.stray,
      messageBytes: fleet.firstMessageBytes,
      problems: [...problems.slice(0, 5), ...fleet.problems, ...(fleet.retries > 0 ? [`${target.name} ${stream} N=${n}: ${fleet.retries} handshake(s) retried`] : [])],
      fixed,
      saturated,
    };
  } finally {
    pub.close();
    saturator.close();
    await fleet.close();
  }
}

/** Per-round values by key, and the problems seen, over a suite's measurements. */
export class Tally {
  private readonly series = new Map<string, number[]>();
  readonly problems: string[] = [];

  add(key: string, value: number): void {
    this.series.set(key, [...(this.series.get(key) ?? []), value]);
  }

  of(key: string): number[] {
    return this.series.get(key) ?? [];
  }

  /** The figures both suites report under `key` (p50, p99, max, rate, cost, rateServer), and the measurement's problems (20 at the most). */
  record(key: string, roundIndex: number, m: FanoutMeasurement): void {
    this.add(`${key}.p50`, m.p50);
    this.add(`${key}.p99`, m.p99);
    this.add(`${key}.max`, m.max);
    this.add(`${key}.rate`, m.rate);
    this.add(`${key}.cost`, m.serverUsPerDelivery);
    this.add(`${key}.rateServer`, m.rateServerCpu);
    if (m.lost || m.duplicated || m.outOfOrder) this.problems.push(`${key} round ${roundIndex + 1}: ${m.lost} lost, ${m.duplicated} duplicated, ${m.outOfOrder} out of order`);
    for (const p of m.problems) if (this.problems.length < 20) this.problems.push(p);
  }
}

export const STREAM_LABEL: Record<StreamName, string> = { workerHeartbeats: 'workerHeartbeats', runEvents: 'runEvents(runId:)' };

/** In quick mode, each goal says that it was measured at N, not at the goal's size. */
export const quickGoals = <G extends { text: string }>(quick: boolean, goals: G[], n: number): G[] =>
  quick ? goals.map((g) => ({ ...g, text: `${g.text} (quick mode: N=${n}, not the goal's size)` })) : goals;

/** The note on the load generator's CPU share: near a full core, the client bounds the saturation figures. */
export const clientCpuNote = (maxClient: number, bounded: string) =>
  `client CPU (share of the load core) reached ${round(maxClient)} in a saturation phase` + (maxClient > 0.85 ? `: the client is near a full core there, so that figure is bounded by ${bounded}` : '');

// ---------------------------------------------------------------- the gateway

const AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
const REGISTER = 'mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 3600 } }) { worker { id } } }';
const BEAT = 'mutation($id: ID!, $p: Float) { heartbeat(input: { workerId: $id, progress: $p }) { worker { id } } }';
const NOTE = 'mutation($runId: ID!, $m: String!) { addRunNote(input: { runId: $runId, message: $m }) { event { id } } }';

/** A bench server's graphql-ws URL. */
export const socketUrl = (server: ServerProcess) => (server.info.url as string).replace(/^http/, 'ws');

/** One query or mutation as the bench's admin, over HTTP; its data, or a thrown error naming what failed. */
export async function gatewayCall<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`${query.slice(0, 40)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The worker whose heartbeats and the run whose notes the gateway load publishes. */
export interface GatewaySubjects {
  workerId: string;
  runId: string;
}

/** Registers an executor and creates a run in `projectId` on the gateway at `url`. */
export async function createSubjects(url: string, projectId: string): Promise<GatewaySubjects> {
  const workerId = (await gatewayCall<{ registerWorker: { worker: { id: string } } }>(url, REGISTER)).registerWorker.worker.id;
  const createRun = `mutation { createRun(input: { projectId: "${projectId}", phaseId: "fanout" }) { run { id } } }`;
  const runId = (await gatewayCall<{ createRun: { run: { id: string } } }>(url, createRun)).createRun.run.id;
  return { workerId, runId };
}

/**
 * The gateway under load: every subscriber of a stream sends the same
 * operation; events are published by heartbeat (progress = seq / 1000) and
 * addRunNote (message s<seq>) mutations to `publishUrl`.
 */
export function gatewayTarget(options: { name: string; wsUrlOf(index: number): string; publishUrl: string; subjects: GatewaySubjects; servers: ServerProcess[] }): FanoutTarget {
  const { name, wsUrlOf, publishUrl, subjects, servers } = options;
  return {
    name,
    wsUrl: wsUrlOf(0),
    wsUrlOf,
    connectionParams: AUTH,
    servers,
    subscription: (stream) =>
      stream === 'workerHeartbeats'
        ? { query: 'subscription($types: [WorkerType!]) { workerHeartbeats(types: $types) { worker { id type state } at progress } }', variables: { types: ['EXECUTOR'] } }
        : { query: 'subscription($runId: ID) { runEvents(runId: $runId) { id kind ts cursor payload } }', variables: { runId: subjects.runId } },
    publish: (stream, seq) => ({
      url: publishUrl,
      headers: AUTH,
      body:
        stream === 'workerHeartbeats'
          ? JSON.stringify({ query: BEAT, variables: { id: subjects.workerId, p: seq / 1000 } })
          : JSON.stringify({ query: NOTE, variables: { runId: subjects.runId, m: seqMessage(seq) } }),
    }),
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Memory (issue 9, benchmark 6): the gateway's resident memory per idle
 * subscription, at N = 1,000 and 5,000 subscriptions (quick: 100 and 500).
 *
 * Subscriptions are a mix, half runEvents (live, no replay) and half
 * workerHeartbeats, over N/100 graphql-ws connections (100 per connection),
 * in two sets of N each:
 *   distinct   every subscription its own: runEvents on its own run (one of
 *              N/2 seeded runs), workerHeartbeats(workerId:) of its own worker
 *              id. The worst case: one source stream and context each.
 *   identical  runEvents on one of 10 runs, workerHeartbeats(types: [EXECUTOR]):
 *              11 distinct operations, which the gateway may share.
 *
 * For each N and round, a fresh gateway process (bench/servers/gateway-gc.ts:
 * the gateway of gateway.ts plus a stdin command that forces a full GC and
 * reports process.memoryUsage()):
 *   0. warm-up: one connection opens a few subscriptions of each kind and
 *      closes, so that lazily loaded code and first-use caches are in place;
 *   1. GC, measure (before);
 *   2. open the N/100 connections (connection_init acknowledged): GC, measure;
 *   3. open the N distinct subscriptions; wait until the server counts N open
 *      streams (/metrics uet_open_subscriptions): GC, measure;
 *   4. open the N identical ones; wait until each has received one probe event
 *      (a note on each of the 10 runs, one heartbeat): the only sure sign that
 *      all are registered when they share streams; GC, measure;
 *   5. open 200 more connections without subscriptions: GC, measure (the
 *      cost of a connection, from more of them than N/100 for a steadier figure).
 * Per subscription: the RSS (and V8 heap) growth of a step divided by N; the
 * goal's figure is (3) - (1), distinct subscriptions with their connections.
 */
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { monotonicFactory } from 'ulid';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { startServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport, type Figure, type Goal } from '../lib/report.js';
import { round, spread } from '../lib/stats.js';
import { closeAll, connectMany, type OperationHandlers, type WsConnection } from '../lib/ws-client.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { encodeGlobalId } from '../../src/schema/builder.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
const PER_CONNECTION = 100;
/** Runs the identical runEvents subscriptions spread over. */
const SHARED_RUNS = 10;
const GOAL_BYTES = 50 * 1024;
const WAIT_MS = 120_000;
/** Connections opened last, without subscriptions, to measure what one costs. */
const EXTRA_CONNECTIONS = 200;
const REGISTER = 'mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 3600 } }) { worker { id } } }';
const NOTE = 'mutation($run: ID!) { addRunNote(input: { runId: $run, message: "probe" }) { event { cursor } } }';
const HEARTBEAT = 'mutation($id: ID!) { heartbeat(input: { workerId: $id, progress: 1 }) { worker { id } } }';
const RUN_EVENTS = 'subscription($run: ID!) { runEvents(runId: $run) { cursor kind ts payload } }';
const WORKER_BEATS = 'subscription($worker: ID!) { workerHeartbeats(workerId: $worker) { worker { id state } at progress } }';
const EXECUTOR_BEATS = 'subscription { workerHeartbeats(types: [EXECUTOR]) { worker { id state } at progress } }';

const LEVELS: Record<BenchContext['mode'], number[]> = { quick: [100, 500], full: [1000, 5000] };

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

function sql(db: sqlite3.Database, statement: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(statement, params, (error) => (error ? reject(error) : resolve())));
}

/** The schema by the migrations, then `count` runs by raw SQL (one transaction); returns their global ids. */
async function seedRuns(path: string, count: number): Promise<string[]> {
  const orm = await openDatabase({ sqlitePath: path });
  await migrateDatabase(orm);
  await orm.close();
  const ulid = monotonicFactory();
  const db = new sqlite3.Database(path);
  const ids: string[] = [];
  try {
    await sql(db, 'PRAGMA journal_mode = WAL');
    await sql(db, 'BEGIN');
    const now = Date.now() - 60_000;
    for (let i = 0; i < count; i++) {
      const id = ulid(now);
      await sql(db, 'insert into `run` (`id`, `project_id`, `phase_id`, `state`, `created_at`, `started_at`, `origin`, `metadata`) values (?, ?, ?, ?, ?, ?, ?, ?)', [
        id,
        `bench-memory-${i % 10}`,
        'phase-1',
        'running',
        now,
        now,
        '{"trigger_type":"manual"}',
        '{}',
      ]);
      ids.push(encodeGlobalId('Run', id));
    }
    await sql(db, 'COMMIT');
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
  return ids;
}

/**
 * fetch, once more on a network error: a keep-alive socket the server closed
 * for idleness (5 s, while a GC or a wait kept us away) can fail the request
 * that reuses it with ECONNRESET.
 */
async function fetchAgain(url: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetchAgain(url, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: any; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) throw new Error(`${query.slice(0, 40)}...: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** Open subscription streams as the server counts them (engine.openStreams(), through /metrics). */
async function openStreams(metricsUrl: string): Promise<number> {
  const text = await (await fetchAgain(metricsUrl)).text();
  const match = /^uet_open_subscriptions (\d+)/m.exec(text);
  if (!match) throw new Error('no uet_open_subscriptions in /metrics');
  return Number(match[1]);
}

async function until(what: string, test: () => Promise<boolean> | boolean, failures: string[]): Promise<void> {
  const began = performance.now();
  for (;;) {
    if (failures.length > 0) throw new Error(`a subscription failed (${failures.length} in all): ${failures[0]}`);
    if (await test()) return;
    if (performance.now() - began > WAIT_MS) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Per-subscription handlers that record failures and count the subscriptions that have received an event. */
function watcher(failures: string[]) {
  let reached = 0;
  const handlers = (): OperationHandlers => {
    let got = false;
    return {
      next: (payload) => {
        if (payload.errors?.length) failures.push(payload.errors.map((e) => e.message).join('; '));
        else if (!got) {
          got = true;
          reached += 1;
        }
      },
      error: (errors) => failures.push(errors.map((e) => e.message).join('; ')),
      complete: () => failures.push('a subscription completed'),
    };
  };
  return { handlers, reached: () => reached };
}

const connectionOf = (connections: WsConnection[], i: number) => connections[Math.floor(i / PER_CONNECTION) % connections.length]!;

/** n subscriptions, each its own operation: runEvents on run i/2 (after the shared ones), workerHeartbeats of worker id i. */
function subscribeDistinct(connections: WsConnection[], n: number, runIds: string[], handlers: () => OperationHandlers, tag: string): void {
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) connectionOf(connections, i).subscribe(RUN_EVENTS, { run: runIds[SHARED_RUNS + i / 2] }, handlers());
    else connectionOf(connections, i).subscribe(WORKER_BEATS, { worker: encodeGlobalId('Worker', `bench-${tag}-${i}`) }, handlers());
  }
}

/** n subscriptions over 11 distinct operations: runEvents on one of the first runs, every EXECUTOR's heartbeats. */
function subscribeIdentical(connections: WsConnection[], n: number, runIds: string[], handlers: () => OperationHandlers): void {
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) connectionOf(connections, i).subscribe(RUN_EVENTS, { run: runIds[(i / 2) % SHARED_RUNS] }, handlers());
    else connectionOf(connections, i).subscribe(EXECUTOR_BEATS, undefined, handlers());
  }
}

/** One event for every identical subscription: a note on each shared run, a heartbeat of the probe worker. */
async function probe(url: string, runIds: string[], workerId: string): Promise<void> {
  for (let k = 0; k < SHARED_RUNS; k++) await post(url, NOTE, { run: runIds[k] });
  await post(url, HEARTBEAT, { id: workerId });
}

interface Sample {
  before: Memory;
  connected: Memory;
  distinct: Memory;
  identical: Memory;
  /** With EXTRA_CONNECTIONS more connections. */
  extra: Memory;
  connections: number;
}

interface Shared {
  db: string;
  runIds: string[];
  workerId: string | null;
}

async function measureLevel(ctx: BenchContext, shared: Shared, n: number, round: number): Promise<Sample> {
  const gateway = await startServerProcess('gateway-gc.ts', { BENCH_DB: shared.db });
  const open: WsConnection[] = [];
  try {
    const url = gateway.info.url as string;
    const wsUrl = url.replace(/^http/, 'ws');
    const metricsUrl = url.replace(/\/graphql$/, '/metrics');
    shared.workerId ??= (await post(url, REGISTER)).registerWorker.worker.id as string;
    const workerId = shared.workerId;
    const gc = (): Promise<Memory> => gateway.ask({ cmd: 'gc' });

    // Warm-up: every code path of both kinds once, then closed.
    {
      const [warm] = await connectMany(wsUrl, 1, AUTH);
      const failures: string[] = [];
      const distinct = watcher(failures);
      const identical = watcher(failures);
      subscribeDistinct([warm!], 20, shared.runIds, distinct.handlers, `warm-${round}`);
      subscribeIdentical([warm!], 20, shared.runIds, identical.handlers);
      await until('the warm-up subscriptions', async () => (await openStreams(metricsUrl)) >= 20 + SHARED_RUNS + 1, failures);
      await until('the warm-up probe', async () => identical.reached() >= 20 || (await probe(url, shared.runIds, workerId), await sleep(200), false), failures);
      failures.length = 0;
      await warm!.close();
      await until('the warm-up subscriptions to end', async () => (await openStreams(metricsUrl)) === 0, []);
    }

    const before = await gc();
    const connectionCount = Math.max(1, Math.ceil(n / PER_CONNECTION));
    open.push(...(await connectMany(wsUrl, connectionCount, AUTH)));
    const connected = await gc();

    const failures: string[] = [];
    const distinctWatch = watcher(failures);
    subscribeDistinct(open, n, shared.runIds, distinctWatch.handlers, `r${round}`);
    await until(`${n} open streams`, async () => (await openStreams(metricsUrl)) >= n, failures);
    const distinct = await gc();

    const identicalWatch = watcher(failures);
    subscribeIdentical(open, n, shared.runIds, identicalWatch.handlers);
    // Registered once each has received the probe; a stream that starts after a probe misses it, so probe again until all have one.
    await until(`${n} identical subscriptions to receive a probe`, async () => identicalWatch.reached() >= n || (await probe(url, shared.runIds, workerId), await sleep(200), false), failures);
    const identical = await gc();
    // The cost of a connection alone: EXTRA_CONNECTIONS more, with no subscription (more of them than N/100, for a steadier figure).
    open.push(...(await connectMany(wsUrl, EXTRA_CONNECTIONS, AUTH)));
    const extra = await gc();
    if (failures.length > 0) throw new Error(`a subscription failed: ${failures[0]}`);
    if (distinctWatch.reached() > 0) throw new Error(`${distinctWatch.reached()} distinct subscriptions received events: they were not idle`);
    ctx.log(
      `N = ${n} on ${connectionCount} connections: RSS ${mib(before.rss)} -> ${mib(connected.rss)} -> ${mib(distinct.rss)} -> ${mib(identical.rss)} MiB, ` +
        `heap ${mib(before.heapUsed)} -> ${mib(connected.heapUsed)} -> ${mib(distinct.heapUsed)} -> ${mib(identical.heapUsed)} MiB ` +
        '(before, connections, + N distinct, + N identical)',
    );
    return { before, connected, distinct, identical, extra, connections: connectionCount };
  } finally {
    await closeAll(open);
    await gateway.stop();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
const kib = (bytes: number) => bytes / 1024;

export default {
  name: 'memory',
  title: 'Memory: gateway RSS per idle subscription',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const levels = LEVELS[ctx.mode];
    const db = join(ctx.dir, 'memory.sqlite');
    const shared: Shared = { db, runIds: await seedRuns(db, SHARED_RUNS + Math.max(...levels) / 2 + 10), workerId: null };
    const samples = new Map<number, Sample[]>(levels.map((n) => [n, []]));
    for (let r = 0; r < ctx.rounds; r++) {
      for (const n of levels) samples.get(n)!.push(await measureLevel(ctx, shared, n, r));
    }

    const figures: Figure[] = [];
    const goals: Goal[] = [];
    for (const n of levels) {
      const list = samples.get(n)!;
      const per = (from: keyof Sample, to: keyof Sample, field: keyof Memory, count: (s: Sample) => number) => list.map((s) => kib((s[to] as Memory)[field] - (s[from] as Memory)[field]) / count(s));
      const perSub = per('before', 'distinct', 'rss', () => n);
      const heapPerSub = per('before', 'distinct', 'heapUsed', () => n);
      figures.push(
        figure(
          `N = ${n}: RSS before (after GC)`,
          'MiB',
          list.map((s) => mib(s.before.rss)),
        ),
        figure(
          `N = ${n}: RSS with 2N subscriptions (after GC)`,
          'MiB',
          list.map((s) => mib(s.identical.rss)),
        ),
        figure(`N = ${n}: RSS per distinct subscription, connections included`, 'KiB', perSub),
        figure(`N = ${n}: V8 heap per distinct subscription, connections included`, 'KiB', heapPerSub),
        figure(
          `N = ${n}: RSS per distinct subscription, without connections`,
          'KiB',
          per('connected', 'distinct', 'rss', () => n),
        ),
        figure(
          `N = ${n}: V8 heap per distinct subscription, without connections`,
          'KiB',
          per('connected', 'distinct', 'heapUsed', () => n),
        ),
        figure(
          `N = ${n}: RSS per identical subscription`,
          'KiB',
          per('distinct', 'identical', 'rss', () => n),
        ),
        figure(
          `N = ${n}: V8 heap per identical subscription`,
          'KiB',
          per('distinct', 'identical', 'heapUsed', () => n),
        ),
        figure(
          `N = ${n}: RSS per idle connection (${EXTRA_CONNECTIONS} more)`,
          'KiB',
          per('identical', 'extra', 'rss', () => EXTRA_CONNECTIONS),
        ),
        figure(
          `N = ${n}: V8 heap per idle connection`,
          'KiB',
          per('identical', 'extra', 'heapUsed', () => EXTRA_CONNECTIONS),
        ),
      );
      const median = spread(perSub).median;
      goals.push({
        text: `RSS per idle subscription < 50 KB at ${n.toLocaleString('en-US')} subscriptions`,
        met: median * 1024 < GOAL_BYTES,
        measured:
          `${round(median)} KiB RSS per distinct subscription, connections included (median; min ${round(Math.min(...perSub))}, ` +
          `max ${round(Math.max(...perSub))}); V8 heap alone ${round(spread(heapPerSub).median)} KiB`,
      });
    }
    return {
      name: 'memory',
      title: this.title,
      rounds: ctx.rounds,
      figures,
      goals,
      notes: [
        `a fresh gateway process per N and round; N subscriptions over N/${PER_CONNECTION} graphql-ws connections (${PER_CONNECTION} each), half runEvents ` +
          '(live), half workerHeartbeats; "distinct": each its own operation (its own run, its own worker id), idle (nothing is published to them); ' +
          `"identical": then N more on the same connections over 11 operations (runEvents on ${SHARED_RUNS} runs, workerHeartbeats(types: [EXECUTOR])), ` +
          'each having received one probe event (a note, a heartbeat) to prove it registered',
        `per idle connection: ${EXTRA_CONNECTIONS} connections opened last, with no subscription; ` +
          'each measurement after a forced full GC in the server (gateway-gc.ts); RSS and heap from process.memoryUsage(); the distinct set is ' +
          'registered once /metrics uet_open_subscriptions reaches N',
        'RSS keeps pages V8 committed and no longer uses after a GC, so at small N the RSS growth can be below the heap growth (new objects ' +
          'fill slack left by start-up and the warm-up); the heap growth is the steadier figure, the RSS growth at the larger N the truer one',
        '50 KB read as 50 KiB (51,200 bytes)',
      ],
    };
  },
} satisfies Benchmark;

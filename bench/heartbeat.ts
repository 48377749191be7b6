/**
 * Worker heartbeat hot path, through a real gateway (buildApp on port 0 over
 * a SQLite file), all in one process run.
 *
 *   npm run bench:heartbeat [-- --count 4000 --concurrency 20 --workers 200 --subscribers 1000 --beats 50]
 *
 * Compares, in the same run:
 *   1. a bare graphql-yoga server (trivial schema, `mutation { ping(n: 1) }`)
 *      over HTTP with C concurrent callers, and over graphql-ws with one
 *      socket per simulated worker: the floor any GraphQL mutation pays;
 *   2. the gateway's `heartbeat` mutation over HTTP, C concurrent callers,
 *      workers round-robin, with the SQL statements it causes (heartbeats
 *      are kept in memory and flushed once a second, so about 0 per beat);
 *   3. the same over graphql-ws, one connection per worker, each worker's
 *      heartbeats sequential on its own socket;
 *   4. heartbeat-to-subscriber latency: S workerHeartbeats subscriptions over
 *      graphql-ws, N spaced heartbeats, latency from the mutation being sent
 *      to each subscriber receiving it.
 * Clients and servers share the process (and its event loop), so absolute
 * figures include the clients' cost and drift with the machine; the ratios
 * against the bare-yoga baseline are the point.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionArgs } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import WebSocket, { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config.js';
import { migrateDatabase, openDatabase } from '../src/engine/db/orm.js';
import { createEngine, type Engine } from '../src/engine/index.js';
import { createLogger } from '../src/logger.js';
import { buildApp, type App } from '../src/server/app.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '4000' },
    seconds: { type: 'string' },
    concurrency: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '400' },
    workers: { type: 'string', default: '200' },
    subscribers: { type: 'string', default: '1000' },
    'sub-connections': { type: 'string', default: '10' },
    beats: { type: 'string', default: '50' },
    interval: { type: 'string', default: '20' },
  },
});
const COUNT = Number(values.count);
/** Optional bound on each measured phase: no new request starts after this. */
const SECONDS = values.seconds === undefined ? null : Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const WARMUP = Number(values.warmup);
const WORKERS = Number(values.workers);
const SUBSCRIBERS = Number(values.subscribers);
const SUB_CONNECTIONS = Number(values['sub-connections']);
const BEATS = Number(values.beats);
const INTERVAL_MS = Number(values.interval);
/** How long phase 4 waits for the last deliveries before it calls them lost. */
const DELIVERY_TIMEOUT_MS = 30_000;

const ADMIN_SECRET = 'bench-admin-secret-0123456789';
const PING = 'mutation { ping(n: 1) }';
const REGISTER = 'mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 600 } }) { worker { id } } }';
const HEARTBEAT = 'mutation($id: ID!) { heartbeat(input: { workerId: $id, progress: 50 }) { worker { id lastHeartbeat } } }';
const BEAT_WITH_PROGRESS = 'mutation($id: ID!, $p: Float) { heartbeat(input: { workerId: $id, progress: $p }) { worker { id } } }';
const WATCH = 'subscription($types: [WorkerType!]) { workerHeartbeats(types: $types) { worker { id type } at progress } }';

interface GraphQLResult {
  data?: any;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

/** Problems the servers or the API reported; printed at the end, and they fail the run. */
const problems: string[] = [];
const problem = (what: string) => {
  if (problems.length < 50) problems.push(what);
  else if (problems.length === 50) problems.push('(more left out)');
};

// ---------------------------------------------------------------- clients

function httpCaller(url: string, token: string | null) {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  return async (query: string, variables?: Record<string, unknown>): Promise<GraphQLResult> => {
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return (await res.json()) as GraphQLResult;
  };
}

/** A graphql-ws client, connected (connection_init acknowledged) before it is returned. */
async function wsClient(url: string, token: string | null): Promise<Client> {
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    onNonLazyError: (error) => problem(`graphql-ws connection failed: ${describe(error)}`),
  });
  await new Promise<void>((resolve, reject) => {
    const offConnected = client.on('connected', () => (offConnected(), offClosed(), resolve()));
    const offClosed = client.on('closed', (event) => (offConnected(), offClosed(), reject(new Error(`socket closed: ${describe(event)}`))));
  });
  return client;
}

/** One operation (a mutation here) over graphql-ws: resolves with its single result on complete. */
function wsOnce(client: Client, query: string, variables?: Record<string, unknown>): Promise<GraphQLResult> {
  return new Promise((resolve, reject) => {
    let result: GraphQLResult = {};
    client.subscribe(
      { query, variables },
      { next: (value) => (result = value as GraphQLResult), error: (error) => reject(new Error(describe(error))), complete: () => resolve(result) },
    );
  });
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (Array.isArray(value)) return value.map(describe).join('; ');
  if (value && typeof value === 'object' && 'code' in value && 'reason' in value) {
    return `close ${(value as { code: number }).code} ${(value as { reason: string }).reason}`;
  }
  return JSON.stringify(value);
}

// ---------------------------------------------------------------- load

interface Throughput {
  label: string;
  requests: number;
  errors: number;
  ms: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * `lanes` callers run at once; each takes the next request number from a
 * shared counter until `total` have started (or the time bound passes) and
 * times it. Lane i's calls are sequential.
 */
async function drive(
  label: string,
  lanes: number,
  total: number,
  call: (lane: number, n: number) => Promise<GraphQLResult>,
  deadlineMs: number | null,
): Promise<Throughput> {
  const latencies: number[] = [];
  let started = 0;
  let errors = 0;
  const t0 = performance.now();
  const deadline = deadlineMs === null ? Infinity : t0 + deadlineMs;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (started < total && performance.now() < deadline) {
        const n = started++;
        const s = performance.now();
        try {
          const result = await call(lane, n);
          if (result.errors?.length || !result.data) {
            errors += 1;
            problem(`${label}: ${describe(result.errors ?? 'no data')}`);
          }
        } catch (error) {
          errors += 1;
          problem(`${label}: ${describe(error)}`);
        }
        latencies.push(performance.now() - s);
      }
    }),
  );
  const ms = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return { label, requests: latencies.length, errors, ms, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Unmeasured rounds first (JIT, sockets), then the measured one. */
async function measure(
  label: string,
  lanes: number,
  call: (lane: number, n: number) => Promise<GraphQLResult>,
): Promise<Throughput> {
  if (WARMUP > 0) await drive(`${label} (warm-up)`, lanes, WARMUP, call, null);
  return drive(label, lanes, COUNT, call, SECONDS === null ? null : SECONDS * 1000);
}

// ---------------------------------------------------------------- servers

interface Baseline {
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** Bare graphql-yoga on node:http, also speaking graphql-ws the way graphql-yoga's example does. */
async function startBaseline(): Promise<Baseline> {
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { ok: Boolean } type Mutation { ping(n: Int): Int }',
      resolvers: { Query: { ok: () => true }, Mutation: { ping: (_: unknown, { n }: { n: number | null }) => n } },
    }),
    logging: false,
    landingPage: false,
    graphiql: false,
  });
  const server: Server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  type Enveloped = ReturnType<typeof yoga.getEnveloped>;
  useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: params.operationName,
          document: enveloped.parse(params.query),
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        const errors = enveloped.validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}`,
    wsUrl: `ws://127.0.0.1:${port}${yoga.graphqlEndpoint}`,
    async stop() {
      for (const socket of wss.clients) socket.close(1001);
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

interface Gateway {
  url: string;
  wsUrl: string;
  engine: Engine;
  app: App;
  /** SQL statements issued so far. */
  statements(): number;
  /** Statements so far by their first word (begin, update, commit, select...). */
  statementKinds(): Map<string, number>;
  stop(): Promise<void>;
}

/** The real gateway on port 0 over a SQLite file, rate limits off. */
async function startGateway(): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'uet-gateway-bench-'));
  const orm = await openDatabase({ sqlitePath: join(dir, 'gateway.sqlite') });
  await migrateDatabase(orm);
  let count = 0;
  const kinds = new Map<string, number>();
  orm.em.getKnex().on('query', (query: { sql?: string }) => {
    count += 1;
    const kind = /^\s*(\w+)/.exec(query.sql ?? '')?.[1]?.toLowerCase() ?? '?';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  });
  const logger = createLogger('warn', (line) => {
    problem(`gateway log: ${line.trim()}`);
    process.stderr.write(line);
  });
  const engine = createEngine({ orm, adminSecret: ADMIN_SECRET, onError: (error) => problem(`engine error: ${describe(error)}`) });
  const defaults = loadConfig({});
  const app = buildApp({
    engine,
    logger,
    limits: { ...defaults.limits, mutationsPerMinute: 0, heartbeatsPerMinute: 0, wsMaxSubscriptions: 0 },
    introspection: true,
    jobs: defaults.jobs,
  });
  const base = await app.start(0, '127.0.0.1');
  return {
    url: `${base}/graphql`,
    wsUrl: `${base.replace('http', 'ws')}/graphql`,
    engine,
    app,
    statements: () => count,
    statementKinds: () => new Map(kinds),
    async stop() {
      await app.stop();
      await orm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- phases

async function registerWorkers(gateway: Gateway, n: number): Promise<string[]> {
  const gql = httpCaller(gateway.url, ADMIN_SECRET);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await gql(REGISTER);
    if (res.errors || !res.data?.registerWorker?.worker?.id) throw new Error(`registerWorker failed: ${describe(res.errors)}`);
    ids.push(res.data.registerWorker.worker.id);
  }
  return ids;
}

async function connectAll(url: string, n: number, token: string | null): Promise<Client[]> {
  const clients: Client[] = [];
  // A few at a time: hundreds of simultaneous upgrades only measure the accept queue.
  for (let i = 0; i < n; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => wsClient(url, token)))));
  }
  return clients;
}

interface Fanout {
  subscribers: number;
  beats: number;
  delivered: number;
  expected: number;
  unmatched: number;
  subscriptionErrors: number;
  ms: number;
  /** Mean time between two sends as achieved (the event loop is shared, so it can exceed INTERVAL_MS). */
  spacing: number;
  p50: number;
  p99: number;
  max: number;
}

/** S subscriptions over graphql-ws, N spaced heartbeats; latency per delivery from the moment its mutation was sent. */
async function heartbeatFanout(gateway: Gateway, workerId: string): Promise<Fanout> {
  const clients = await connectAll(gateway.wsUrl, SUB_CONNECTIONS, ADMIN_SECRET);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let unmatched = 0;
  let subscriptionErrors = 0;
  const expected = SUBSCRIBERS * BEATS;
  let onAll = () => {};
  const allDelivered = new Promise<void>((resolve) => (onAll = resolve));
  const stops: (() => void)[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    stops.push(
      clients[i % clients.length].subscribe(
        { query: WATCH, variables: { types: ['EXECUTOR'] } },
        {
          next: (value) => {
            const received = performance.now();
            const result = value as GraphQLResult;
            const sent = sentAt.get(result.data?.workerHeartbeats?.progress);
            if (result.errors || sent === undefined || result.data?.workerHeartbeats?.worker?.id !== workerId) {
              unmatched += 1;
              problem(`subscription delivered something unexpected: ${JSON.stringify(result).slice(0, 300)}`);
              return;
            }
            latencies.push(received - sent);
            if (latencies.length === expected) onAll();
          },
          error: (error) => {
            subscriptionErrors += 1;
            problem(`workerHeartbeats subscription failed: ${describe(error)}`);
          },
          complete: () => {},
        },
      ),
    );
  }
  // Registered on the server once the engine holds a stream for each.
  const waitFrom = performance.now();
  while (gateway.engine.openStreams() < SUBSCRIBERS) {
    if (performance.now() - waitFrom > DELIVERY_TIMEOUT_MS) {
      throw new Error(`only ${gateway.engine.openStreams()} of ${SUBSCRIBERS} subscriptions registered`);
    }
    await sleep(10);
  }

  const gql = httpCaller(gateway.url, ADMIN_SECRET);
  const sends: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < BEATS; i++) {
    // Open loop on a fixed schedule: a slow beat does not delay the next one's send time.
    await sleep(t0 + i * INTERVAL_MS - performance.now());
    const progress = (i * 100) / BEATS;
    sentAt.set(progress, performance.now());
    sends.push(
      gql(BEAT_WITH_PROGRESS, { id: workerId, p: progress }).then(
        (res) => void (res.errors && problem(`fan-out heartbeat failed: ${describe(res.errors)}`)),
        (error) => problem(`fan-out heartbeat failed: ${describe(error)}`),
      ),
    );
  }
  const sendSpan = performance.now() - t0;
  await Promise.all(sends);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allDelivered, new Promise<void>((resolve) => (timer = setTimeout(resolve, DELIVERY_TIMEOUT_MS)))]);
  clearTimeout(timer);
  const ms = performance.now() - t0;
  for (const stop of stops) stop();
  await Promise.all(clients.map((c) => c.dispose()));
  latencies.sort((a, b) => a - b);
  return {
    subscribers: SUBSCRIBERS,
    beats: BEATS,
    delivered: latencies.length,
    expected,
    unmatched,
    subscriptionErrors,
    ms,
    spacing: BEATS > 1 ? sendSpan / (BEATS - 1) : 0,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? NaN,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

// ---------------------------------------------------------------- run

const started = performance.now();
console.log(`$ ${['npx tsx', ...process.argv.slice(1).map((a, i) => (i === 0 ? 'bench/heartbeat.ts' : a))].join(' ')}`);
console.log(
  `count ${COUNT}${SECONDS === null ? '' : ` (or ${SECONDS} s)`} per phase after ${WARMUP} warm-up, HTTP concurrency ${CONCURRENCY}, ` +
    `workers ${WORKERS} (one graphql-ws connection each), subscribers ${SUBSCRIBERS} on ${SUB_CONNECTIONS} connections, ` +
    `${BEATS} beats every ${INTERVAL_MS} ms; node ${process.version}`,
);
console.log('');

const baseline = await startBaseline();
const ping = httpCaller(baseline.url, null);
const baseHttp = await measure('baseline ping, HTTP', CONCURRENCY, () => ping(PING));
const pingClients = await connectAll(baseline.wsUrl, WORKERS, null);
const baseWs = await measure('baseline ping, graphql-ws', WORKERS, (lane) => wsOnce(pingClients[lane], PING));
await Promise.all(pingClients.map((c) => c.dispose()));
await baseline.stop();

const gateway = await startGateway();
const workerIds = await registerWorkers(gateway, WORKERS);
const gql = httpCaller(gateway.url, ADMIN_SECRET);
if (WARMUP > 0) await drive('heartbeat, HTTP (warm-up)', CONCURRENCY, WARMUP, (_, n) => gql(HEARTBEAT, { id: workerIds[n % WORKERS] }), null);
// Flushed now, so that the phase counts only what its own beats cost.
await gateway.engine.liveWorkers.flush();
const sqlBefore = gateway.statements();
const kindsBefore = gateway.statementKinds();
const hbHttp = await drive(
  'gateway heartbeat, HTTP',
  CONCURRENCY,
  COUNT,
  (_, n) => gql(HEARTBEAT, { id: workerIds[n % WORKERS] }),
  SECONDS === null ? null : SECONDS * 1000,
);
const sqlDuring = gateway.statements() - sqlBefore;
const flushedRows = await gateway.engine.liveWorkers.flush();
const sqlWithFlush = gateway.statements() - sqlBefore;
const sqlKinds = [...gateway.statementKinds()]
  .map(([kind, n]) => [kind, n - (kindsBefore.get(kind) ?? 0)] as const)
  .filter(([, n]) => n > 0)
  .map(([kind, n]) => `${kind} ${n}`)
  .join(', ');

const workerClients = await connectAll(gateway.wsUrl, WORKERS, ADMIN_SECRET);
const hbWs = await measure('gateway heartbeat, graphql-ws', WORKERS, (lane) => wsOnce(workerClients[lane], HEARTBEAT, { id: workerIds[lane] }));
await Promise.all(workerClients.map((c) => c.dispose()));

const fanout = await heartbeatFanout(gateway, workerIds[0]);
await gateway.stop();

// ---------------------------------------------------------------- report

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-').padStart(8);
const row = (r: Throughput, versus: string) =>
  `${r.label.padEnd(31)} ${String(r.requests).padStart(6)} ${String(r.errors).padStart(6)} ${r.ms.toFixed(0).padStart(8)} ` +
  `${((r.requests / r.ms) * 1000).toFixed(0).padStart(9)} ${ms(r.p50)} ${ms(r.p99)}  ${versus}`;
const rate = (r: Throughput) => r.requests / r.ms;
const ratio = (r: Throughput, base: Throughput) => `${(rate(r) / rate(base)).toFixed(2)}x the rate of ${base.label}`;

console.log(`${'mutations'.padEnd(31)} ${'done'.padStart(6)} ${'errors'.padStart(6)} ${'wall ms'.padStart(8)} ${'per s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
console.log(row(baseHttp, `(${CONCURRENCY} concurrent callers)`));
console.log(row(baseWs, `(${WORKERS} sockets, sequential each); ${ratio(baseWs, baseHttp)}`));
console.log(row(hbHttp, ratio(hbHttp, baseHttp)));
console.log(row(hbWs, `${ratio(hbWs, baseHttp)}, ${ratio(hbWs, baseWs)}`));
console.log('');
console.log(
  `SQL during the HTTP heartbeat phase: ${sqlDuring} statements for ${hbHttp.requests} heartbeats ` +
    `(${(sqlDuring / Math.max(1, hbHttp.requests)).toFixed(4)} per heartbeat; the once-a-second flush and the 5 s reaper pass included); ` +
    `with the flush of the ${flushedRows} workers still pending: ${sqlWithFlush} (${(sqlWithFlush / Math.max(1, hbHttp.requests)).toFixed(4)} per heartbeat: ${sqlKinds || 'none'})`,
);
console.log('');
console.log(
  `heartbeat -> subscriber (graphql-ws): ${fanout.subscribers} subscribers x ${fanout.beats} beats: ` +
    `delivered ${fanout.delivered} of ${fanout.expected}${fanout.delivered === fanout.expected ? '' : '  <-- LOST DELIVERIES'}, ` +
    `unexpected ${fanout.unmatched}, subscription errors ${fanout.subscriptionErrors}`,
);
console.log(
  `  latency from send: p50 ${fanout.p50.toFixed(2)} ms, p99 ${fanout.p99.toFixed(2)} ms, max ${fanout.max.toFixed(2)} ms; ` +
    `${((fanout.delivered / fanout.ms) * 1000).toFixed(0)} deliveries/s over ${fanout.ms.toFixed(0)} ms; ` +
    `beats actually sent every ${fanout.spacing.toFixed(1)} ms (asked ${INTERVAL_MS})`,
);
console.log('');
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
if (problems.length > 0) {
  console.log(`\n${problems.length} problem(s):`);
  for (const p of problems) console.log(`  ${p}`);
  process.exitCode = 1;
}

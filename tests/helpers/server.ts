import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { LIMIT_ENV, loadConfig, type Limits } from '../../src/config.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { buildApp, type App, type AppOptions } from '../../src/server/app.js';
import type { JobIntervals } from '../../src/config.js';
import type { Clock } from '../../src/engine/core/clock.js';
import { createPostgresDatabase, TEST_POSTGRES_URL, type TestDatabase } from './database.js';
import { createRedisBus } from '../../src/engine/core/redis-bus.js';
import { RedisRateLimitStore } from '../../src/engine/auth/redis-rate-limit-store.js';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
}

/** The admin secret every test server accepts (as UET_ADMIN_TOKEN would set it). */
export const ADMIN_SECRET = 'test-admin-secret-0123456789';

export interface TestServerOptions {
  limits?: Partial<Limits>;
  introspection?: boolean;
  /** The HTTP edge: GraphiQL, CORS allow-list and the /metrics token (as UET_GRAPHIQL, UET_CORS_ORIGINS, UET_METRICS_TOKEN set them). */
  edge?: Pick<AppOptions, 'graphiql' | 'console' | 'consoleDir' | 'corsOrigins' | 'metricsToken'>;
  persistedOperationsFile?: string;
  jobs?: Partial<JobIntervals>;
  /** The engine's clock (a ManualClock lets a test move time instead of sleeping). */
  clock?: Clock;
  /** SQLite's busy timeout (how long a write waits for another process's lock). */
  busyTimeoutMs?: number;
  /** A PostgreSQL database shared with other servers (the caller drops it), instead of a database of its own. */
  database?: TestDatabase;
  /** Events and rate limits through this Redis (as REDIS_URL and UET_REDIS_PREFIX would set them). */
  redis?: { url: string; prefix: string };
}

export interface RequestOptions {
  /** The bearer token; the admin secret unless given, none when null. */
  token?: string | null;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  /** The SQLite file it serves (unused when the tests run on PostgreSQL: see database.ts). */
  sqlitePath: string;
  wsUrl: string;
  engine: Engine;
  app: App;
  /** Lines the server logged (errors included), for assertions. */
  logs: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<GraphQLResponse<T>>;
  /** Like gql, but returns the data and fails on any error. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, options?: RequestOptions): Promise<T>;
  /** A graphql-ws client authenticated with `token` (the admin secret unless given, none when null). */
  wsClient(options?: { retryAttempts?: number; token?: string | null }): Client;
  stop(): Promise<void>;
}

/**
 * A real gateway on port 0 over a real SQLite file in a temporary directory,
 * or over a new PostgreSQL database when UET_TEST_POSTGRES_URL is set.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'uet-gateway-test-'));
  const sqlitePath = join(dir, 'gateway.sqlite');
  const postgres: TestDatabase | null = options.database ? null : TEST_POSTGRES_URL ? await createPostgresDatabase(TEST_POSTGRES_URL) : null;
  const database = options.database ?? postgres;
  const orm = await openDatabase(database?.options ?? { sqlitePath, busyTimeoutMs: options.busyTimeoutMs });
  await migrateDatabase(orm);
  const logs: string[] = [];
  const logger = createLogger('info', (line) => logs.push(line));
  const onError = (error: unknown) => logs.push(String(error));
  const redis = options.redis ? createRedisBus({ ...options.redis, onError }) : null;
  if (redis && !(await redis.ready(5000))) throw new Error(`Redis at ${options.redis!.url} did not answer`);
  const engine = createEngine({
    orm,
    clock: options.clock,
    adminSecret: ADMIN_SECRET,
    onError,
    patchLimits: { ...loadConfig({}).limits, ...options.limits },
    bus: redis?.bus,
    rateLimitStore: redis ? new RedisRateLimitStore(redis.commands, options.redis!.prefix, onError) : undefined,
    workerCostPerTask: options.limits?.workerCostPerTask ?? LIMIT_ENV.workerCostPerTask[1],
    stepLogMaxBytes: options.limits?.stepLogMaxBytes ?? LIMIT_ENV.stepLogMaxBytes[1],
  });
  const defaults = loadConfig({});
  const app = buildApp({
    engine,
    logger,
    limits: { ...defaults.limits, ...options.limits },
    introspection: options.introspection ?? true,
    ...options.edge,
    persistedOperationsFile: options.persistedOperationsFile,
    jobs: { ...defaults.jobs, ...options.jobs },
  });
  const base = await app.start(0, '127.0.0.1');
  const url = `${base}/graphql`;
  const wsUrl = url.replace('http', 'ws');
  const clients: Client[] = [];
  const server: TestServer = {
    url,
    sqlitePath,
    wsUrl,
    engine,
    app,
    logs,
    async gql(query, variables, { token = ADMIN_SECRET, headers = {} } = {}) {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GraphQLResponse;
    },
    async ok(query, variables, options) {
      const res = await server.gql(query, variables, options);
      if (res.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(res.errors)}`);
      return res.data;
    },
    wsClient({ retryAttempts = 0, token = ADMIN_SECRET } = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts,
        lazy: true,
        connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      await redis?.close();
      await orm.close();
      await postgres?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** The `extensions.code` of each error of a response. */
export const codes = (res: GraphQLResponse) => (res.errors ?? []).map((e) => e.extensions?.code);

/** Collects a subscription's results over graphql-ws; `next(n)` waits until n have arrived. */
export function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): { results: GraphQLResponse<T>[]; done: Promise<void>; next(count: number, timeoutMs?: number): Promise<void>; stop(): void } {
  const results: GraphQLResponse<T>[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let stop = () => {};
  const done = new Promise<void>((resolve, reject) => {
    stop = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          results.push(value as GraphQLResponse<T>);
          for (const w of waiters.filter((w) => results.length >= w.count)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  // Callers may look at `done` only later; don't let an early close count as unhandled.
  done.catch(() => {});
  return {
    results,
    done,
    stop: () => stop(),
    next(count, timeoutMs = 10_000) {
      if (results.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`got ${results.length} of ${count} results`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

export const RUN_FIELDS = `id projectId phaseId workstreamId executionRequestId state stateReason createdAt startedAt endedAt exitCode errorMessage origin metadata counters { stepAttempts patchesCreated patchesApplied errors }`;

/** Creates a run through the API and returns its id. */
export async function createRun(server: TestServer, input: Record<string, unknown> = {}): Promise<string> {
  const res = await server.gql(`mutation($input: CreateRunInput!) { createRun(input: $input) { run { id } } }`, {
    input: { projectId: 'proj-1', phaseId: 'phase-1', ...input },
  });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.createRun.run.id;
}

/** Sends connection_init with this payload on a raw graphql-transport-ws socket; resolves with how the server closed it and what came before. */
export function connectionInit(wsUrl: string, payload: Record<string, unknown>): Promise<{ code: number; reason: string; messages: unknown[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const messages: unknown[] = [];
    const timer = setTimeout(() => (socket.terminate(), reject(new Error('socket was not closed'))), 5_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.on('error', (error) => (clearTimeout(timer), reject(error)));
    socket.on('close', (code, reason) => (clearTimeout(timer), resolve({ code, reason: String(reason), messages })));
  });
}

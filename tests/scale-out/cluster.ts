import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { knex } from '@mikro-orm/knex';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createPostgresDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestServer, subscribe, type GraphQLResponse, type TestServer, type TestServerOptions } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

/**
 * Several gateways in this process, on their own ports, sharing one
 * PostgreSQL database and one Redis (issue 11: scale-out). The suites need
 * both services: without them they skip with the reason, except in CI
 * (process.env.CI), where they fail instead.
 */
export const POSTGRES_URL = process.env.UET_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.UET_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);

/** Why PostgreSQL at `url` cannot be used, or null when it answers. */
export async function postgresProblem(url: string): Promise<string | null> {
  const db = knex({ client: 'pg', connection: { connectionString: url, connectionTimeoutMillis: 2000 }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 2500 });
  try {
    await within(db.raw('select 1'), 3000, 'select 1');
    return null;
  } catch (error) {
    return `PostgreSQL at ${url.replace(/\/\/[^@]*@/, '//***@')} is unreachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await db.destroy().catch(() => {});
  }
}

/** Why Redis at `url` cannot be used, or null when it answers PING. */
export async function redisProblem(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await within(redis.connect(), 2000, 'connect');
    await within(redis.ping(), 1000, 'PING');
    return null;
  } catch (error) {
    return `Redis at ${url} is unreachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    redis.disconnect();
  }
}

/** Why `redis-server` cannot be started here, or null. */
export function redisServerProblem(): string | null {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 3000 });
  return probe.error || probe.status !== 0 ? `the redis-server binary cannot be run (${probe.error?.message ?? probe.stderr})` : null;
}

/**
 * `describe`, or when `problem` is set: a skipped describe and a warning
 * saying why; in CI a failing test instead (.ci/run provides both services).
 */
export function describeWithServices(name: string, problem: string | null, body: () => void): void {
  if (problem === null) {
    describe(name, body);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it('has the services it needs (required in CI)', () => {
        throw new Error(`${name}: ${problem}`);
      });
    });
    return;
  }
  console.warn(`[scale-out] skipping "${name}": ${problem}`);
  describe.skip(name, body);
}

/** A channel prefix of its own, so that concurrent runs and files never hear each other. */
export const uniquePrefix = (label: string) => `uet-test-${label}-${randomBytes(4).toString('hex')}:`;

export interface Cluster {
  database: TestDatabase;
  prefix: string;
  redisUrl: string;
  servers: TestServer[];
  /** Another instance on the same database and Redis (stopped with the cluster). */
  add(options?: TestServerOptions): Promise<TestServer>;
  stop(): Promise<void>;
}

/** `count` gateways over one fresh PostgreSQL database and one Redis prefix. */
export async function startCluster(count: number, options: TestServerOptions & { redisUrl: string; prefix: string }): Promise<Cluster> {
  const { redisUrl, prefix, ...serverOptions } = options;
  const database = await createPostgresDatabase(POSTGRES_URL);
  const servers: TestServer[] = [];
  const cluster: Cluster = {
    database,
    prefix,
    redisUrl,
    servers: [],
    async add(extra = {}) {
      const server = await startTestServer({ ...serverOptions, ...extra, database, redis: { url: redisUrl, prefix } });
      servers.push(server);
      return server;
    },
    async stop() {
      await Promise.allSettled(servers.map((s) => s.stop()));
      await database.drop();
    },
  };
  try {
    for (let i = 0; i < count; i++) cluster.servers.push(await cluster.add());
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

export const startRun = (server: TestServer, id: string) => server.ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });

export const note = (server: TestServer, runId: string, message: string) =>
  server.ok(`mutation($r: ID!, $m: String!) { addRunNote(input: {runId: $r, message: $m}) { event { id } } }`, { r: runId, m: message });

export interface StoredEvent {
  id: string;
  kind: string;
  cursor: string;
  payload: any;
}

/** Every stored event of a run after `after` (from the start when null), read page by page on `server`. */
export async function storedLog(server: TestServer, runId: string, after: string | null = null): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (let cursor = after; ;) {
    const page = (
      await server.ok(`query($r: ID!, $after: String) { runEvents(runId: $r, after: $after, first: 100) { edges { node { id kind cursor payload } } pageInfo { hasNextPage endCursor } } }`, {
        r: runId,
        after: cursor,
      })
    ).runEvents;
    events.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) return events;
    cursor = page.pageInfo.endCursor;
  }
}

/** A new API token (OPERATE, READ) named `name`, created on `server`: its secret and its id. */
export async function createToken(server: TestServer, name: string): Promise<{ token: string; id: string }> {
  const { token, apiToken } = (await server.ok(`mutation($n: String!) { createApiToken(input: {name: $n, scopes: [OPERATE, READ]}) { token apiToken { id } } }`, { n: name })).createApiToken;
  return { token, id: apiToken.id };
}

export const revokeToken = (server: TestServer, id: string) => server.ok(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }`, { id });

export type Subscription = ReturnType<typeof subscribe<any>>;

/** A subscription on `server` (with `token` when given), once the server has its stream open. */
export async function openStream(server: TestServer, query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Subscription> {
  const before = server.engine.openStreams();
  const sub = subscribe(server.wsClient(token === undefined ? undefined : { token }), query, variables);
  await until(() => server.engine.openStreams() > before, 'the stream to open');
  return sub;
}

const RUN_NOTES = `subscription($r: ID) { runEvents(runId: $r) { payload } }`;

/** A runEvents subscription with `token` on `server`, open and past a first note ('before') written on `writer`. */
export async function tokenSubscription(server: TestServer, token: string, runId: string, writer: TestServer): Promise<Subscription> {
  const sub = await openStream(server, RUN_NOTES, { r: runId }, token);
  await note(writer, runId, 'before');
  await sub.next(1);
  return sub;
}

/** Once `token` is revoked: a note ('after') on `writer` does not reach `sub`, and a new subscription with it on `server` is refused with 4403. */
export async function expectShutOut(server: TestServer, token: string, runId: string, writer: TestServer, sub: Subscription): Promise<void> {
  await note(writer, runId, 'after');
  await sleep(100);
  expect(sub.results.map((r) => r.data?.runEvents.payload.message)).toEqual(['before']);
  const again = subscribe(server.wsClient({ token }), RUN_NOTES, { r: runId });
  expect(await outcome(again.done)).toMatchObject({ code: 4403 });
}

/** Polls an async check until it holds, or fails with the last value seen. */
export async function eventually<T>(check: () => Promise<T>, holds: (value: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(value)})`);
    await sleep(20);
  }
}

/** How many connections (instances) are subscribed to `channel` in Redis. */
export async function redisSubscribers(redisUrl: string, channel: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    const reply = (await redis.call('pubsub', 'numsub', channel)) as [string, number];
    return Number(reply[1]);
  } finally {
    redis.disconnect();
  }
}

/** The error codes a subscription ended with: those of an `error` message, or of a last `next` with errors. */
export function endCodes(failure: unknown, results: GraphQLResponse[]): unknown[] {
  if (Array.isArray(failure)) return failure.map((e) => e?.extensions?.code);
  const last = results.at(-1);
  return (last?.errors ?? []).map((e) => e.extensions?.code);
}

/** Settles to the reason `done` rejected with, or to 'complete'. */
export const outcome = (done: Promise<void>): Promise<unknown> =>
  done.then(
    () => 'complete',
    (reason: unknown) => reason,
  );

/** Log lines of `servers` with this message, parsed. */
export function logged(servers: TestServer[], message: string): Record<string, any>[] {
  return servers.flatMap((s) =>
    s.logs
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, any>;
        } catch {
          return null;
        }
      })
      .filter((entry): entry is Record<string, any> => entry?.message === message),
  );
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server (no persistence) on `port`, that a test may kill and start again. */
export class RedisProcess {
  private child: ChildProcess | null = null;

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    this.child = child;
    const deadline = Date.now() + 5000;
    while ((await redisProblem(this.url)) !== null) {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer`);
      await sleep(50);
    }
  }

  /** Kills it (SIGKILL: a crash, not a shutdown) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

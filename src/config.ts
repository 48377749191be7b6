import { resolve } from 'node:path';
import { DEFAULT_PATCH_LIMITS } from './engine/patches/patch-service.js';
import { DEFAULT_STEP_LOG_MAX_BYTES } from './engine/runs/step-logs.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Every environment variable the gateway reads, parsed and checked in one place. */
export interface Config {
  port: number;
  host: string;
  /** SQLite file path, or ':memory:' (used when postgresUrl is null). */
  sqlitePath: string;
  /** DATABASE_URL when it is a postgres:// URL: PostgreSQL instead of SQLite. */
  postgresUrl: string | null;
  /** PostgreSQL connections per instance (UET_DB_POOL_SIZE). */
  dbPoolSize: number;
  /** REDIS_URL: events and rate limits shared between instances through Redis. */
  redisUrl: string | null;
  /** Prefix of the gateway's Redis channels and keys (UET_REDIS_PREFIX), for several gateways on one Redis. */
  redisPrefix: string;
  /** How long a write waits for another process's lock (UET_SQLITE_BUSY_TIMEOUT_MS). */
  busyTimeoutMs: number;
  logLevel: LogLevel;
  /** LOG_FORMAT: `auto` (readable when stdout is a terminal, JSON otherwise), `json` or `pretty`. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** A secret that works as an admin token, for automation (UET_ADMIN_TOKEN). */
  adminToken: string | null;
  /** Schema queries (and "Did you mean" hints) for callers with a valid token; false: for no one (UET_INTROSPECTION). */
  introspection: boolean;
  /** GraphiQL on GET /graphql from a browser (UET_GRAPHIQL). */
  graphiql: boolean;
  /** The web console at `/` (UET_CONSOLE). */
  console: boolean;
  /** Origins (exact, e.g. https://ops.example.com) whose pages may call the API from a browser (UET_CORS_ORIGINS); none: same-origin only. */
  corsOrigins: string[];
  /** When set, GET /metrics needs `Authorization: Bearer <this>` (UET_METRICS_TOKEN). */
  metricsToken: string | null;
  limits: Limits;
  /** Path of a JSON allow-list of operations; when set, nothing else runs. */
  persistedOperationsFile: string | null;
  jobs: JobIntervals;
}

export interface JobIntervals {
  /** How often buffered heartbeats are written (UET_HEARTBEAT_FLUSH_MS): the most a crash can lose. */
  heartbeatFlushMs: number;
  /**
   * How often the stale-worker reaper, the gate timeouts and the routing retry run (UET_REAPER_INTERVAL_MS); 0 turns them off.
   * The routing retry also stores and announces (toolCircuitChanged) the breakers whose recovery timeout has passed.
   */
  reaperIntervalMs: number;
  /**
   * How often this instance reads the tokens revoked lately by any process (UET_REVOCATION_POLL_MS); 0 turns it off.
   * Runs on every instance (no lease): each must close its own sockets and streams.
   */
  revocationPollMs: number;
}

/** Abuse limits, each overridable by an environment variable (SECURITY.md#limits). */
export interface Limits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  /** Query cost (src/server/cost.ts): 1 per field, times the size of each list around it. */
  maxCost: number;
  /** How long one query or mutation may execute before it is stopped (EXECUTION_TIMEOUT). */
  executionTimeoutMs: number;
  /** Bytes of one query or mutation response (RESPONSE_TOO_LARGE). */
  maxResponseBytes: number;
  /** Bytes of one subscription event (RESPONSE_TOO_LARGE in its place). */
  maxEventBytes: number;
  /** Mutations per token per minute; heartbeats and step log appends have their own, higher budgets. */
  mutationsPerMinute: number;
  heartbeatsPerMinute: number;
  logAppendsPerMinute: number;
  maxBodyBytes: number;
  wsMaxSubscriptions: number;
  wsMaxMessageBytes: number;
  wsInitTimeoutMs: number;
  wsKeepAliveMs: number;
  /** Nesting of a request's variables and extensions (JSON arrays and objects). */
  maxJsonDepth: number;
  /** How long a /metrics scrape reuses the task counts (a GROUP BY) of the one before. */
  metricsCacheMs: number;
  /** Open graphql-ws connections per token on one instance. */
  wsMaxConnectionsPerToken: number;
  /** Live subscriptions per token on one instance, graphql-ws and SSE together. */
  maxSubscriptionsPerToken: number;
  /** Files one patch may touch (createPatch). */
  maxPatchFiles: number;
  /** Bytes of one patch's diff text (createPatch). */
  maxDiffBytes: number;
  /** Costs a WORKER-only token may record through one task, in whole currency units, all currencies summed (0: no bound). */
  workerCostPerTask: number;
  /** Bytes of each step's log stored: its head (a quarter) and its newest tail; the middle is cut (0: every byte). */
  stepLogMaxBytes: number;
}

export const LIMIT_ENV: Record<keyof Limits, [name: string, fallback: number]> = {
  maxDepth: ['UET_MAX_DEPTH', 12],
  maxAliases: ['UET_MAX_ALIASES', 15],
  maxTokens: ['UET_MAX_TOKENS', 2000],
  maxDirectives: ['UET_MAX_DIRECTIVES', 10],
  // About the number of values an answer holds: the largest dashboard pages cost ~16,000 (SECURITY.md#how-the-main-defences-work).
  maxCost: ['UET_MAX_COST', 25_000],
  // The costliest query the cost limit lets through answers in well under a second on SQLite; 10 s is for a loaded database.
  executionTimeoutMs: ['UET_EXECUTION_TIMEOUT_MS', 10_000],
  // A page of 100 events with 50 KB payloads each, and headroom; larger answers are paged.
  maxResponseBytes: ['UET_MAX_RESPONSE_BYTES', 8_388_608],
  // A run event is a few KB; 1 MiB (as UET_WS_MAX_MESSAGE_BYTES inbound) keeps one event from filling a slow socket's 2 MiB buffer.
  maxEventBytes: ['UET_MAX_EVENT_BYTES', 1_048_576],
  mutationsPerMinute: ['UET_RATE_LIMIT_MUTATIONS', 600],
  heartbeatsPerMinute: ['UET_RATE_LIMIT_HEARTBEATS', 6000],
  // A worker streams each running tool's output in ~100-200 ms batches: a fleet sharing one token runs many tools at once.
  logAppendsPerMinute: ['UET_RATE_LIMIT_LOG_APPENDS', 12_000],
  maxBodyBytes: ['UET_MAX_BODY_BYTES', 1_048_576],
  wsMaxSubscriptions: ['UET_WS_MAX_SUBSCRIPTIONS', 100],
  wsMaxMessageBytes: ['UET_WS_MAX_MESSAGE_BYTES', 1_048_576],
  wsInitTimeoutMs: ['UET_WS_INIT_TIMEOUT_MS', 3000],
  wsKeepAliveMs: ['UET_WS_KEEPALIVE_MS', 12_000],
  // The deepest legitimate input (a metadata or contract document) is a dozen levels; 10,000 overflow JSON.stringify.
  maxJsonDepth: ['UET_MAX_JSON_DEPTH', 64],
  // Prometheus scrapes every 15 s or more: a scrape flood costs no queries, a real scrape is at most 5 s stale.
  metricsCacheMs: ['UET_METRICS_CACHE_MS', 5000],
  // A worker fleet sharing one token (a socket per worker) plus its dashboards.
  wsMaxConnectionsPerToken: ['UET_WS_MAX_CONNECTIONS_PER_TOKEN', 200],
  // 200 sockets with a few subscriptions each; ~50 KB apiece, so ~50 MB at most per token.
  maxSubscriptionsPerToken: ['UET_MAX_SUBSCRIPTIONS_PER_TOKEN', 1000],
  // Why these sizes: DEFAULT_PATCH_LIMITS.
  maxPatchFiles: ['UET_MAX_PATCH_FILES', DEFAULT_PATCH_LIMITS.maxPatchFiles],
  maxDiffBytes: ['UET_MAX_DIFF_BYTES', DEFAULT_PATCH_LIMITS.maxDiffBytes],
  // One task attempt of a coding agent spends cents to a few dollars of model calls; 100 leaves ample room,
  // yet a leaked worker token cannot spend more than 100 per task it holds (nor HALT a budget larger than that).
  workerCostPerTask: ['UET_WORKER_COST_PER_TASK', 100],
  // Enough for a long build's output; past it the middle goes (the head shows how it started, the tail how it ended).
  stepLogMaxBytes: ['UET_STEP_LOG_MAX_BYTES', DEFAULT_STEP_LOG_MAX_BYTES],
};

function parseLimits(env: NodeJS.ProcessEnv): Limits {
  const limits = {} as Limits;
  for (const [key, [name, fallback]] of Object.entries(LIMIT_ENV) as [keyof Limits, [string, number]][]) {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(`${name} must be a whole number >= 0, got "${raw}"`);
    limits[key] = value;
  }
  return limits;
}

function parseMs(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || (value !== 0 && value < min) || value < 0) {
    throw new ConfigError(`${name} must be 0 or a whole number of milliseconds >= ${min}, got "${raw}"`);
  }
  return value;
}

function parsePositive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${name} must be a whole number >= 1, got "${raw}"`);
  return value;
}

function parseBoolean(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Comma-separated exact origins (scheme://host[:port]); no wildcard, so no origin is ever reflected. */
function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL | null = null;
    try {
      parsed = new URL(origin);
    } catch {
      // Not a URL: refused below.
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin || origin.includes('*')) {
      throw new ConfigError(`UET_CORS_ORIGINS must list exact origins like https://ops.example.com (no path, no wildcard), got "${origin}"`);
    }
    return origin;
  });
}

/** A shared secret: unset, or long enough not to be guessed. */
function parseSecret(name: string, raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters`);
  return raw;
}

export const DEFAULT_SQLITE_PATH = 'data/uet-gateway.sqlite';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const LOG_FORMATS: readonly Config['logFormat'][] = ['auto', 'json', 'pretty'];

export class ConfigError extends Error {}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 4000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be 0..65535, got "${raw}"`);
  return port;
}

/**
 * DATABASE_URL: `sqlite:<path>` (relative paths from the working directory),
 * `sqlite::memory:`, or `postgres://` / `postgresql://` for PostgreSQL.
 */
function parseDatabaseUrl(raw: string | undefined): { sqlitePath: string; postgresUrl: string | null } {
  if (raw === undefined || raw === '') return { sqlitePath: resolve(DEFAULT_SQLITE_PATH), postgresUrl: null };
  if (/^postgres(ql)?:\/\/./.test(raw)) return { sqlitePath: resolve(DEFAULT_SQLITE_PATH), postgresUrl: raw };
  const path = /^sqlite:(?:\/\/)?(.+)$/.exec(raw)?.[1];
  if (path === undefined) throw new ConfigError(`DATABASE_URL must look like sqlite:<path> or postgres://..., got "${redactUrl(raw)}"`);
  return { sqlitePath: path === ':memory:' ? ':memory:' : resolve(path), postgresUrl: null };
}

function parseRedisUrl(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!/^rediss?:\/\/./.test(raw)) throw new ConfigError(`REDIS_URL must look like redis://host:port, got "${redactUrl(raw)}"`);
  return raw;
}

/** A URL without its password, for messages and logs. */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z0-9+.-]+:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase() as LogLevel;
  if (env.UET_ADMIN_TOKEN !== undefined && env.UET_ADMIN_TOKEN !== '' && env.UET_ADMIN_TOKEN.length < 16) {
    throw new ConfigError('UET_ADMIN_TOKEN must be at least 16 characters');
  }
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = (env.LOG_FORMAT || 'auto').toLowerCase() as Config['logFormat'];
  if (!LOG_FORMATS.includes(logFormat)) throw new ConfigError(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}`);
  return {
    port: parsePort(env.PORT),
    host: env.HOST || '127.0.0.1',
    ...parseDatabaseUrl(env.DATABASE_URL),
    dbPoolSize: parsePositive('UET_DB_POOL_SIZE', env.UET_DB_POOL_SIZE, 10),
    redisUrl: parseRedisUrl(env.REDIS_URL),
    redisPrefix: env.UET_REDIS_PREFIX || 'uet:',
    busyTimeoutMs: parseMs('UET_SQLITE_BUSY_TIMEOUT_MS', env.UET_SQLITE_BUSY_TIMEOUT_MS, 5000, 10),
    logLevel,
    logFormat,
    adminToken: env.UET_ADMIN_TOKEN || null,
    introspection: parseBoolean('UET_INTROSPECTION', env.UET_INTROSPECTION, true),
    graphiql: parseBoolean('UET_GRAPHIQL', env.UET_GRAPHIQL, true),
    console: parseBoolean('UET_CONSOLE', env.UET_CONSOLE, true),
    corsOrigins: parseOrigins(env.UET_CORS_ORIGINS),
    metricsToken: parseSecret('UET_METRICS_TOKEN', env.UET_METRICS_TOKEN),
    limits: parseLimits(env),
    persistedOperationsFile: env.UET_PERSISTED_OPERATIONS ? resolve(env.UET_PERSISTED_OPERATIONS) : null,
    jobs: {
      heartbeatFlushMs: parseMs('UET_HEARTBEAT_FLUSH_MS', env.UET_HEARTBEAT_FLUSH_MS, 1000, 10),
      reaperIntervalMs: parseMs('UET_REAPER_INTERVAL_MS', env.UET_REAPER_INTERVAL_MS, 5000, 100),
      revocationPollMs: parseMs('UET_REVOCATION_POLL_MS', env.UET_REVOCATION_POLL_MS, 1000, 100),
    },
  };
}

/** What openDatabase needs from the config (src/engine/database.ts DatabaseOptions). */
export function databaseOptions(config: Config) {
  return {
    sqlitePath: config.sqlitePath,
    postgresUrl: config.postgresUrl,
    poolSize: config.dbPoolSize,
    busyTimeoutMs: config.busyTimeoutMs,
  };
}

/** The database in words for logs and CLI output (no password). */
export function describeDatabase(config: Config): string {
  return config.postgresUrl ? redactUrl(config.postgresUrl) : config.sqlitePath;
}

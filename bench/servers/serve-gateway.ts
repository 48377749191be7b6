/**
 * What the gateway bench servers (gateway.ts, gateway-shared.ts) share: the
 * configuration from the environment with the bench's admin token, and the
 * real app (buildApp) configured like production except that rate limits
 * and per-token caps are off (the load is one token).
 */
import { loadConfig } from '../../src/config.js';
import type { Orm } from '../../src/engine/db/orm.js';
import { createEngine, type EngineOptions } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { buildApp } from '../../src/server/app.js';
import { BENCH_ADMIN_TOKEN } from './token.js';

export const config = loadConfig({ ...process.env, UET_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, LOG_LEVEL: 'warn' });
export const logger = createLogger('warn', (line) => process.stderr.write(`${line}\n`));

interface ServeOptions extends Pick<EngineOptions, 'bus' | 'rateLimitStore'> {
  orm: Orm;
  /** Reported beside the url when listening. */
  info?: Record<string, unknown>;
  /** Closes the connections (database, Redis) once the app has stopped. */
  close(): Promise<void>;
}

/** Serves the app over an engine on `orm`; prints {"url": ..., ...info} when listening; stops on SIGTERM. */
export async function serveGateway({ orm, bus, rateLimitStore, info, close }: ServeOptions): Promise<void> {
  const engine = createEngine({ orm, adminSecret: BENCH_ADMIN_TOKEN, onError: (error) => console.error(error), bus, rateLimitStore });
  const app = buildApp({
    engine,
    logger,
    limits: {
      ...config.limits,
      mutationsPerMinute: 0,
      heartbeatsPerMinute: 0,
      logAppendsPerMinute: 0,
      wsMaxSubscriptions: 0,
      wsMaxConnectionsPerToken: 0,
      maxSubscriptionsPerToken: 0,
    },
    introspection: true,
    jobs: config.jobs,
  });
  const base = await app.start(0, '127.0.0.1');
  console.log(JSON.stringify({ url: `${base}/graphql`, ...info }));

  process.once('SIGTERM', () => {
    app
      .stop()
      .then(close)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}

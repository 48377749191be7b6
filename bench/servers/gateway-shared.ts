/**
 * One gateway instance of several sharing a database and a Redis, as a
 * benchmark server process (bench/suites/8-scale-out.ts): configured like
 * production from the environment, as src/main.ts does it (DATABASE_URL,
 * UET_DB_POOL_SIZE, REDIS_URL, UET_REDIS_PREFIX; migrations run at start),
 * except that rate limits are off (the load is one token) and the admin
 * token is the bench's. Exits when REDIS_URL is set and Redis does not
 * answer within 5 s (a benchmark of the bus without the bus measures
 * nothing). Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { databaseOptions, loadConfig } from '../../src/config.js';
import { RedisRateLimitStore } from '../../src/engine/auth/redis-rate-limit-store.js';
import { createRedisBus } from '../../src/engine/core/redis-bus.js';
import { migrateDatabase, openDatabase } from '../../src/engine/db/orm.js';
import { createEngine } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { buildApp } from '../../src/server/app.js';
import { BENCH_ADMIN_TOKEN } from './token.js';

const config = loadConfig({ ...process.env, UET_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, LOG_LEVEL: 'warn' });
const logger = createLogger('warn', (line) => process.stderr.write(`${line}\n`));
const orm = await openDatabase(databaseOptions(config));
await migrateDatabase(orm);
const redis = config.redisUrl
  ? createRedisBus({ url: config.redisUrl, prefix: config.redisPrefix, onError: (error) => logger.warn('redis', { error }) })
  : null;
if (redis && !(await redis.ready(5000))) {
  console.error(`gateway-shared: Redis at ${config.redisUrl} did not answer within 5 s`);
  process.exit(1);
}
const engine = createEngine({
  orm,
  adminSecret: BENCH_ADMIN_TOKEN,
  onError: (error) => console.error(error),
  bus: redis?.bus,
  rateLimitStore: redis ? new RedisRateLimitStore(redis.commands, config.redisPrefix, (error) => logger.warn('redis', { error })) : undefined,
});
const app = buildApp({
  engine,
  logger,
  limits: { ...config.limits, mutationsPerMinute: 0, heartbeatsPerMinute: 0, wsMaxSubscriptions: 0 },
  introspection: true,
  jobs: config.jobs,
});
const base = await app.start(0, '127.0.0.1');
console.log(JSON.stringify({ url: `${base}/graphql`, database: config.postgresUrl ? 'postgresql' : 'sqlite', redis: redis !== null }));

process.once('SIGTERM', () => {
  app
    .stop()
    .then(() => redis?.close())
    .then(() => orm.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
});

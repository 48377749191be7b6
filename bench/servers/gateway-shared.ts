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
import { databaseOptions } from '../../src/config.js';
import { RedisRateLimitStore } from '../../src/engine/auth/redis-rate-limit-store.js';
import { createRedisBus } from '../../src/engine/core/redis-bus.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { config, logger, serveGateway } from './serve-gateway.js';

const orm = await openDatabase(databaseOptions(config));
await migrateDatabase(orm);
const redis = config.redisUrl ? createRedisBus({ url: config.redisUrl, prefix: config.redisPrefix, onError: (error) => logger.warn('redis', { error }) }) : null;
if (redis && !(await redis.ready(5000))) {
  console.error(`gateway-shared: Redis at ${config.redisUrl} did not answer within 5 s`);
  process.exit(1);
}
await serveGateway({
  orm,
  bus: redis?.bus,
  rateLimitStore: redis ? new RedisRateLimitStore(redis.commands, config.redisPrefix, (error) => logger.warn('redis', { error })) : undefined,
  info: { database: config.postgresUrl ? 'postgresql' : 'sqlite', redis: redis !== null },
  close: async () => {
    await redis?.close();
    await orm.close();
  },
});

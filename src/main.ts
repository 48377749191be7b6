import { ConfigError, databaseOptions, describeDatabase, loadConfig, redactUrl } from './config.js';
import { createLogger } from './logger.js';
import { migrateDatabase } from './engine/db/orm.js';
import { openDatabase } from './engine/database.js';
import { createEngine, type Engine } from './engine/index.js';
import { RedisRateLimitStore } from './engine/auth/redis-rate-limit-store.js';
import { createRedisBus } from './engine/core/redis-bus.js';
import { buildApp } from './server/app.js';

/** Start: config, database and migrations, engine, server, signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const orm = await openDatabase({
    ...databaseOptions(config),
    debug: config.logLevel === 'debug',
    logger: (message) => logger.debug(message),
  });
  const applied = await migrateDatabase(orm);
  logger.info('database ready', { database: describeDatabase(config), migrationsApplied: applied });

  // With REDIS_URL, instances share events and rate limits; the database stays the only state.
  const redis = config.redisUrl ? createRedisBus({ url: config.redisUrl, prefix: config.redisPrefix, onError: (error) => logger.warn('redis', { error }) }) : null;
  if (redis) {
    const connected = await redis.ready(5000);
    if (connected) logger.info('event bus ready', { redis: redactUrl(config.redisUrl!), prefix: config.redisPrefix });
    else logger.warn('redis unreachable: serving HTTP; subscriptions are refused until it is back', { redis: redactUrl(config.redisUrl!) });
  }
  const engine = createEngine({
    orm,
    adminSecret: config.adminToken,
    patchLimits: config.limits,
    onError: (error) => logger.error('background failure', { error }),
    bus: redis?.bus,
    rateLimitStore: redis ? new RedisRateLimitStore(redis.commands, config.redisPrefix, (error) => logger.warn('redis', { error })) : undefined,
    workerCostPerTask: config.limits.workerCostPerTask,
  });
  await announceBootstrapToken(engine, config.adminToken !== null);
  const app = buildApp({
    engine,
    logger,
    limits: config.limits,
    introspection: config.introspection,
    graphiql: config.graphiql,
    corsOrigins: config.corsOrigins,
    metricsToken: config.metricsToken,
    persistedOperationsFile: config.persistedOperationsFile,
    jobs: config.jobs,
  });
  const url = await app.start(config.port, config.host);
  logger.info(`uet-gateway listening on ${url}/graphql`, { url: `${url}/graphql` });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    await app.stop();
    await redis?.close();
    await orm.close();
    logger.info('stopped');
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          process.exit(1);
        },
      );
    });
  }
  // A request never takes the process down; anything that escapes is logged.
  process.on('unhandledRejection', (error) => logger.error('unhandled rejection', { error }));
}

/**
 * Secure by default, usable at once: on the first start of an empty
 * database (and no UET_ADMIN_TOKEN), an admin token is created and its
 * secret printed this once, with the header to paste into GraphiQL.
 */
async function announceBootstrapToken(engine: Engine, hasEnvAdmin: boolean): Promise<void> {
  if (hasEnvAdmin || (await engine.tokens.any())) return;
  const { secret } = await engine.tokens.create({ name: 'bootstrap-admin', scopes: ['admin'] });
  process.stdout.write(
    [
      '',
      'First start: created an admin token. It is shown only now; keep it somewhere safe.',
      `  ${secret}`,
      'In GraphiQL, open Headers and paste:',
      `  {"Authorization": "Bearer ${secret}"}`,
      'Create narrower tokens with createApiToken or `npm run token -- create --name NAME --scopes read`.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : error);
  process.exit(1);
});

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, DEFAULT_SQLITE_PATH, databaseOptions, describeDatabase, loadConfig, redactUrl, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { migrateDatabase } from './engine/db/orm.js';
import { openDatabase } from './engine/database.js';
import { createEngine, type Engine } from './engine/index.js';
import { buildApp } from './server/app.js';

/** A start that cannot go on for a reason the operator fixes in the environment: one line, exit 1, no stack. */
class StartupError extends Error {}

/** Start: config, database and migrations, engine, server, signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  // A terminal gets readable lines and the bootstrap secret; anything else (a container, systemd, a pipe) JSON lines and a file.
  const terminal = config.logFormat !== 'json' && process.stdout.isTTY === true;
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && terminal);
  const logger = createLogger(config.logLevel, undefined, pretty ? 'pretty' : 'json');
  const orm = await openDatabase({
    ...databaseOptions(config),
    debug: config.logLevel === 'debug',
    logger: (message) => logger.debug(message),
  });
  const applied = await migrateDatabase(orm);
  (pretty ? logger.debug : logger.info)('database ready', { database: describeDatabase(config), migrationsApplied: applied });

  const shared = await connectRedis(config, logger);
  const engine = createEngine({
    orm,
    adminSecret: config.adminToken,
    patchLimits: config.limits,
    onError: (error) => logger.error('background failure', { error }),
    bus: shared?.redis.bus,
    rateLimitStore: shared?.rateLimitStore,
    workerCostPerTask: config.limits.workerCostPerTask,
    stepLogMaxBytes: config.limits.stepLogMaxBytes,
  });
  const app = buildApp({
    engine,
    logger,
    limits: config.limits,
    introspection: config.introspection,
    graphiql: config.graphiql,
    console: config.console,
    corsOrigins: config.corsOrigins,
    metricsToken: config.metricsToken,
    persistedOperationsFile: config.persistedOperationsFile,
    jobs: config.jobs,
  });
  // Before listening: a signal that comes as soon as the URL is logged must find the handlers.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    await app.stop();
    await shared?.redis.close();
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
  const origin = await app.start(config.port, config.host).catch((error: unknown) => Promise.reject(explainListenFailure(error, config)));
  const url = `${origin}/graphql`;
  const database = describeDatabase(config);
  const bus = config.redisUrl ? `${redactUrl(config.redisUrl)} (prefix ${config.redisPrefix})` : 'in-process';
  // The page a person opens first, the console at /, then the endpoint (and GraphiQL) at /graphql.
  const pages = config.console ? `${origin}/ (console) and ${url}` : url;
  if (pretty) process.stdout.write(`uet-gateway listening on ${pages} (database: ${database}, bus: ${bus})\n`);
  else logger.info(`uet-gateway listening on ${url}`, { url, database, bus });
  // After listening: a start that fails (a taken port) must not spend the one-time secret.
  await announceBootstrapToken(engine, config, terminal, logger);

  // A request never takes the process down; anything that escapes is logged.
  process.on('unhandledRejection', (error) => logger.error('unhandled rejection', { error }));
}

/** With REDIS_URL, instances share events and rate limits; the database stays the only state. Its client (ioredis) is loaded only then. */
async function connectRedis(config: Config, logger: Logger) {
  if (!config.redisUrl) return null;
  const [{ createRedisBus }, { RedisRateLimitStore }] = await Promise.all([import('./engine/core/redis-bus.js'), import('./engine/auth/redis-rate-limit-store.js')]);
  const redis = createRedisBus({ url: config.redisUrl, prefix: config.redisPrefix, onError: (error) => logger.warn('redis', { error }) });
  const connected = await redis.ready(5000);
  if (connected) logger.debug('event bus ready', { redis: redactUrl(config.redisUrl), prefix: config.redisPrefix });
  else logger.warn('redis unreachable: serving HTTP; subscriptions are refused until it is back', { redis: redactUrl(config.redisUrl) });
  return { redis, rateLimitStore: new RedisRateLimitStore(redis.commands, config.redisPrefix, (error) => logger.warn('redis', { error })) };
}

/** The listen errors an operator causes (PORT, HOST) as one line that says what to set; anything else as it is. */
function explainListenFailure(error: unknown, { port, host }: Config): unknown {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new StartupError(`port ${port} is in use on ${host}; set PORT to a free port`);
    case 'EACCES':
      return new StartupError(`port ${port} needs privileges this process lacks; set PORT to 1024 or above`);
    case 'EADDRNOTAVAIL':
      return new StartupError(`HOST ${host} is not an address of this machine; set HOST (127.0.0.1, 0.0.0.0, or one of its addresses)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new StartupError(`HOST "${host}" does not resolve to an address; set HOST (127.0.0.1, 0.0.0.0, or one of its addresses)`);
    default:
      return error;
  }
}

/** Where the bootstrap secret goes when no terminal shows it: beside the SQLite file, or in ./data on PostgreSQL. */
function bootstrapTokenFile(config: Config): string {
  // On PostgreSQL, sqlitePath is the default file's path.
  return join(dirname(config.sqlitePath === ':memory:' ? resolve(DEFAULT_SQLITE_PATH) : config.sqlitePath), 'bootstrap-admin-token');
}

/**
 * Secure by default, usable at once: on the first start of an empty
 * database (and no UET_ADMIN_TOKEN), an admin token is created. Its secret
 * is shown this once on a terminal; otherwise (output that a container
 * runtime or journald keeps) it goes to a file only this user can read,
 * and the log says where.
 */
async function announceBootstrapToken(engine: Engine, config: Config, terminal: boolean, logger: Logger): Promise<void> {
  if (config.adminToken !== null || (await engine.tokens.any())) return;
  const { secret } = await engine.tokens.create({ name: 'bootstrap-admin', scopes: ['admin'] });
  const lost = 'Lost it? With the same DATABASE_URL, `npm run token -- create --name admin --scopes admin` mints another.';
  if (!terminal) {
    const file = bootstrapTokenFile(config);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // A fresh file ('wx' never follows a planted symlink), readable by this user only.
    rmSync(file, { force: true });
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    logger.warn('first start: created an admin token; its secret is in the file (mode 0600): store it and delete the file', { file, hint: lost });
    return;
  }
  process.stdout.write(
    [
      '',
      'First start: created an admin token. It is shown only now; keep it somewhere safe.',
      `  ${secret}`,
      'In GraphiQL, open Headers and paste:',
      `  {"Authorization": "Bearer ${secret}"}`,
      'Create narrower tokens with createApiToken or `npm run token -- create --name NAME --scopes read`.',
      lost,
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(`configuration error: ${error.message}`);
  else if (error instanceof StartupError) console.error(`error: ${error.message}`);
  else console.error(error);
  process.exit(1);
});

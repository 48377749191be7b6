import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { migrateDatabase, openDatabase } from './engine/db/orm.js';
import { createEngine } from './engine/index.js';
import { buildApp } from './server/app.js';

/** Start: config, database and migrations, engine, server, signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const orm = await openDatabase({
    sqlitePath: config.sqlitePath,
    debug: config.logLevel === 'debug',
    logger: (message) => logger.debug(message),
  });
  const applied = await migrateDatabase(orm);
  logger.info('database ready', { sqlitePath: config.sqlitePath, migrationsApplied: applied });

  const engine = createEngine({ orm, onError: (error) => logger.error('background failure', { error }) });
  const app = buildApp({ engine, logger });
  const url = await app.start(config.port, config.host);
  logger.info(`uet-gateway listening on ${url}/graphql`, { url: `${url}/graphql` });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    await app.stop();
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

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : error);
  process.exit(1);
});

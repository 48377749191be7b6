/**
 * The gateway as a benchmark server process: the real app (buildApp) over the
 * SQLite file BENCH_DB (migrated on start), configured like production from
 * the environment, except that rate limits are off (the load is one token).
 * Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { loadConfig } from '../../src/config.js';
import { migrateDatabase, openDatabase } from '../../src/engine/db/orm.js';
import { createEngine } from '../../src/engine/index.js';
import { createLogger } from '../../src/logger.js';
import { buildApp } from '../../src/server/app.js';
import { BENCH_ADMIN_TOKEN } from './token.js';


const config = loadConfig({ ...process.env, UET_ADMIN_TOKEN: BENCH_ADMIN_TOKEN, LOG_LEVEL: 'warn' });
const orm = await openDatabase({ sqlitePath: process.env.BENCH_DB ?? ':memory:' });
await migrateDatabase(orm);
const engine = createEngine({ orm, adminSecret: BENCH_ADMIN_TOKEN, onError: (error) => console.error(error) });
const app = buildApp({
  engine,
  logger: createLogger('warn', (line) => process.stderr.write(`${line}\n`)),
  limits: { ...config.limits, mutationsPerMinute: 0, heartbeatsPerMinute: 0, wsMaxSubscriptions: 0 },
  introspection: true,
  jobs: config.jobs,
});
const base = await app.start(0, '127.0.0.1');
console.log(JSON.stringify({ url: `${base}/graphql` }));

process.once('SIGTERM', () => {
  app.stop().then(
    () => orm.close().then(() => process.exit(0)),
    () => process.exit(1),
  );
});

/**
 * The gateway as a benchmark server process: the real app (buildApp) over the
 * SQLite file BENCH_DB (migrated on start), configured like production from
 * the environment, except that rate limits are off (the load is one token).
 * Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { serveGateway } from './serve-gateway.js';

const orm = await openDatabase({ sqlitePath: process.env.BENCH_DB ?? ':memory:' });
await migrateDatabase(orm);
await serveGateway({ orm, close: () => orm.close() });

import { ManualClock } from '../../src/engine/core/clock.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { createPostgresDatabase, TEST_POSTGRES_URL } from './database.js';

/**
 * An engine on a migrated database: the SQLite file or ':memory:' given, or
 * else the run's test database (':memory:', or a new PostgreSQL database
 * when UET_TEST_POSTGRES_URL is set), with a manual clock standing at
 * `start` (the engine's start too).
 */
export async function createTestEngine(sqlitePath?: string, start: Date | string = '2026-11-24T12:00:00.000Z'): Promise<Engine & { clock: ManualClock; dispose(): Promise<void> }> {
  const postgres = TEST_POSTGRES_URL && sqlitePath === undefined ? await createPostgresDatabase(TEST_POSTGRES_URL) : null;
  const orm = await openDatabase(postgres?.options ?? { sqlitePath: sqlitePath ?? ':memory:' });
  await migrateDatabase(orm);
  const clock = new ManualClock(start);
  const engine = createEngine({ orm, clock });
  return Object.assign(engine, {
    clock,
    async dispose() {
      engine.close();
      await orm.close();
      await postgres?.drop();
    },
  });
}

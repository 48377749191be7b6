import { ManualClock } from '../../src/engine/core/clock.js';
import { migrateDatabase, openDatabase } from '../../src/engine/db/orm.js';
import { createEngine, type Engine } from '../../src/engine/index.js';

/** An engine on a fresh migrated SQLite database (':memory:' unless a path is given). */
export async function createTestEngine(sqlitePath = ':memory:'): Promise<Engine & { clock: ManualClock; dispose(): Promise<void> }> {
  const orm = await openDatabase({ sqlitePath });
  await migrateDatabase(orm);
  const clock = new ManualClock('2026-11-24T12:00:00.000Z');
  const engine = createEngine({ orm, clock });
  return Object.assign(engine, {
    clock,
    async dispose() {
      engine.close();
      await orm.close();
    },
  });
}

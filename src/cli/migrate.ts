import { databaseOptions, loadConfig } from '../config.js';
import { migrateDatabase } from '../engine/db/orm.js';
import { openDatabase } from '../engine/database.js';

/** `uet-gateway migrate` (or `npm run migrate`): applies pending migrations to the configured database. */
export async function migrateCommand(): Promise<number> {
  const config = loadConfig();
  const orm = await openDatabase(databaseOptions(config));
  try {
    const applied = await migrateDatabase(orm);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await orm.close();
  }
}

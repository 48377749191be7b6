import { ConfigError, loadConfig } from '../config.js';
import { migrateDatabase, openDatabase } from '../engine/db/orm.js';

/** `npm run migrate`: applies pending migrations to the configured database. */
async function migrate(): Promise<void> {
  const config = loadConfig();
  const orm = await openDatabase({ sqlitePath: config.sqlitePath });
  try {
    const applied = await migrateDatabase(orm);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await orm.close();
  }
}

migrate().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `configuration error: ${error.message}` : error);
  process.exit(1);
});

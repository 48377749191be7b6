import { loadConfig } from '../config.js';
import { migrateDatabase } from '../engine/db/orm.js';
import { parseCommandArgs } from './args.js';
import { openCommandDatabase } from './database.js';

export const MIGRATE_USAGE = `usage: uet-gateway migrate
  applies pending migrations to the database DATABASE_URL names (creating a SQLite file if there is none) and exits;
  the server also applies them when it starts`;

/** `uet-gateway migrate` (or `npm run migrate`): applies pending migrations to the configured database. */
export async function migrateCommand(argv: string[]): Promise<number> {
  parseCommandArgs(argv, MIGRATE_USAGE, { options: {} });
  const orm = await openCommandDatabase(loadConfig(), { create: true, migrate: false });
  try {
    const applied = await migrateDatabase(orm);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await orm.close();
  }
}

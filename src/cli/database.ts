import { existsSync } from 'node:fs';
import { ConfigError, databaseOptions, describeDatabase, type Config } from '../config.js';
import { migrateDatabase, type Orm } from '../engine/db/orm.js';
import { openDatabase } from '../engine/database.js';

/**
 * The database a command works on, migrated, after saying on stderr which one
 * it is (stdout stays for the command's answer: a token secret, a list).
 * `create: false` is for commands that only make sense on an existing
 * database (token, seed, backup): run from the wrong folder they would
 * otherwise create and fill an empty SQLite file there. `migrate: false` is
 * for commands that must see it as it is: a backup taken before an upgrade,
 * or migrate itself, which reports what it applied.
 */
export async function openCommandDatabase(config: Config, { create, migrate = true }: { create: boolean; migrate?: boolean }): Promise<Orm> {
  const where = describeDatabase(config);
  if (!create && !config.postgresUrl && config.sqlitePath !== ':memory:' && !existsSync(config.sqlitePath)) {
    throw new ConfigError(`no database at ${where}: start the gateway once (npm start) or run \`uet-gateway migrate\` to create it, or set DATABASE_URL to the one you mean`);
  }
  console.error(`database: ${where}`);
  const orm = await openDatabase(databaseOptions(config)).catch((error: unknown) => {
    // A path it may not create or a server that is not there: the operator's to fix, in one line.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^(E[A-Z]+|SQLITE_CANTOPEN)$/.test(code)) throw new ConfigError(`cannot open the database at ${where}: ${(error as Error).message}`);
    throw error;
  });
  if (!migrate) return orm;
  try {
    await migrateDatabase(orm);
  } catch (error) {
    await orm.close();
    throw error;
  }
  return orm;
}

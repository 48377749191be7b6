import { closeSync, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeDatabase, loadConfig } from '../config.js';
import { CommandError, parseCommandArgs, UsageError } from './args.js';
import { openCommandDatabase } from './database.js';

export const BACKUP_USAGE = `usage: uet-gateway backup FILE
  writes a consistent copy of the SQLite database DATABASE_URL names to FILE (a new file, mode 0600), also while the gateway runs;
  the copy is as the database is (no migration applied). On PostgreSQL use pg_dump (docs/operations.md#backups)`;

/**
 * `uet-gateway backup FILE`: an online copy of the SQLite database with
 * `VACUUM INTO`, which reads one snapshot beside the running writer (WAL
 * mode), so the copy holds every committed write, unlike `cp` of the file
 * without its -wal.
 */
export async function backupCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs(argv, BACKUP_USAGE, { options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing FILE to write the copy to' : `one FILE, got ${positionals.length}`, BACKUP_USAGE);
  const given = positionals[0]!;
  const target = resolve(given);
  const config = loadConfig();
  if (config.postgresUrl) throw new CommandError('backup copies a SQLite database; on PostgreSQL use pg_dump --format=custom (docs/operations.md#backups)');
  if (config.sqlitePath === ':memory:') throw new CommandError('DATABASE_URL names an in-memory database: there is nothing to back up');
  const orm = await openCommandDatabase(config, { create: false, migrate: false });
  try {
    createEmptyPrivateFile(target, given);
    try {
      // VACUUM INTO writes into an empty file and keeps its mode.
      await orm.em.getConnection().execute('VACUUM INTO ?', [target]);
      syncFile(target);
    } catch (error) {
      rmSync(target, { force: true });
      throw error;
    }
  } finally {
    await orm.close();
  }
  console.log(`backed up ${describeDatabase(config)} to ${target} (${statSync(target).size} bytes)`);
  return 0;
}

/** FILE, new and readable by its owner only (a copy holds every token hash and run); never overwrites. */
function createEmptyPrivateFile(path: string, given: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CommandError(`${given} already exists: backup never overwrites a file; choose a new name`);
    if (code === 'ENOENT') throw new CommandError(`cannot create ${given}: its folder does not exist`);
    throw new CommandError(`cannot create ${given}: ${(error as Error).message}`);
  }
}

/** VACUUM INTO does not sync its output; a backup should be on disk when the command says it is done. */
function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import { SqliteDriver } from '@mikro-orm/sqlite';
import { migrationsList, postgresMigrationsList } from '../../migrations/index.js';
import { authEntities } from './auth/entities.js';
import { budgetEntities } from './budgets/entities.js';
import { costEntities } from './costs/entities.js';
import type { Orm } from './db/orm.js';
import { installNulSafeEscape } from './db/nul-safe-sql.js';
import { gateEntities } from './gates/entities.js';
import { patchEntities } from './patches/entities.js';
import { routingEntities } from './routing/entities.js';
import { runEntities } from './runs/entities.js';
import { workerEntities } from './workers/entities.js';
import { workstreamEntities } from './workstreams/entities.js';

export interface DatabaseOptions {
  /** A SQLite file path, or ':memory:' (the embedded default). */
  sqlitePath?: string;
  /** A postgres:// URL: PostgreSQL instead of SQLite. */
  postgresUrl?: string | null;
  /** PostgreSQL connections per instance (UET_DB_POOL_SIZE; default 10). */
  poolSize?: number;
  /** How long a write waits for another connection's lock before SQLITE_BUSY (UET_SQLITE_BUSY_TIMEOUT_MS; default 5000). */
  busyTimeoutMs?: number;
  /** Log every SQL statement (LOG_LEVEL=debug). */
  debug?: boolean;
  logger?: (message: string) => void;
}

type SqliteHandle = { exec(sql: string, done: (err: Error | null) => void): void };

// WAL lets readers run beside the writer; the busy timeout makes a second
// process wait for the lock instead of failing at once (a write that still
// finds it locked is retried once, then refused as UNAVAILABLE: write-scope.ts).
const connectionPragmas = (busyTimeoutMs: number) => ['PRAGMA journal_mode = WAL', 'PRAGMA foreign_keys = ON', `PRAGMA busy_timeout = ${busyTimeoutMs}`, 'PRAGMA synchronous = NORMAL'].join(';');

// Every module's entities, in the module order (docs/architecture.md).
const allEntities = [...authEntities, ...budgetEntities, ...runEntities, ...routingEntities, ...workstreamEntities, ...workerEntities, ...costEntities, ...gateEntities, ...patchEntities];
const migrationSettings = { transactional: true, allOrNothing: true, snapshot: false, silent: true };

function sqliteConfig(options: DatabaseOptions): Options<AbstractSqlDriver> {
  return {
    driver: SqliteDriver,
    dbName: options.sqlitePath ?? ':memory:',
    migrations: { migrationsList, ...migrationSettings },
    // One connection: SQLite serializes writers anyway, and a ':memory:'
    // database lives only as long as its connection.
    pool: {
      min: 1,
      max: 1,
      idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      afterCreate: (conn: SqliteHandle, done: (err: Error | null, conn: SqliteHandle) => void) =>
        conn.exec(connectionPragmas(Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))), (err) => done(err, conn)),
    },
  };
}

/** Without its driver, which openDatabase loads (postgresDriver). */
function postgresConfig(url: string, options: DatabaseOptions): Options<AbstractSqlDriver> {
  return {
    clientUrl: url,
    migrations: { migrationsList: postgresMigrationsList, ...migrationSettings },
    pool: { min: 0, max: Math.max(2, options.poolSize ?? 10) },
  };
}

export function ormConfig(options: DatabaseOptions): Options<AbstractSqlDriver> {
  return {
    ...(options.postgresUrl ? postgresConfig(options.postgresUrl, options) : sqliteConfig(options)),
    entities: allEntities,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    extensions: [Migrator],
    forceUtcTimezone: true,
    debug: options.debug ?? false,
    logger: options.logger,
  };
}

/**
 * A new SQLite database is private to the user the gateway runs as: its folder is created 0700 and the file 0600
 * before SQLite opens it (SQLite gives the -wal and -shm files the database file's mode). An existing file and
 * folder keep the modes their operator chose.
 */
function createPrivateSqliteFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // 'a' creates the file if it is missing and leaves an existing one as it is; an empty file is an empty database.
  closeSync(openSync(path, 'a', 0o600));
}

/** PostgreSQL's driver (with node-pg and its knex dialect) is loaded only when used: a gateway on SQLite does not carry it (about 10 MB and 0.1 s at start). */
async function postgresDriver(): Promise<Options<AbstractSqlDriver>['driver']> {
  return (await import('@mikro-orm/postgresql')).PostgreSqlDriver;
}

export async function openDatabase(options: DatabaseOptions): Promise<Orm> {
  if (!options.postgresUrl && options.sqlitePath && options.sqlitePath !== ':memory:') createPrivateSqliteFile(options.sqlitePath);
  const config = ormConfig(options);
  if (options.postgresUrl) config.driver = await postgresDriver();
  const orm = await MikroORM.init<AbstractSqlDriver>(config);
  installNulSafeEscape(orm);
  return orm;
}

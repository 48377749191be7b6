import { LockMode, MikroORM, type Options } from '@mikro-orm/core';
import type { AbstractSqlDriver, EntityManager } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { SqliteDriver, SqlitePlatform } from '@mikro-orm/sqlite';
import { migrationsList, postgresMigrationsList } from '../../../migrations/index.js';
import { entities } from './entities.js';
import { installNulSafeEscape } from './nul-safe-sql.js';
import { costEntities } from './cost-entities.js';
import { gateEntities } from './gate-entities.js';
import { patchEntities } from './patch-entities.js';
import { routingEntities } from './routing-entities.js';

export type Orm = MikroORM<AbstractSqlDriver>;

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
const connectionPragmas = (busyTimeoutMs: number) =>
  ['PRAGMA journal_mode = WAL', 'PRAGMA foreign_keys = ON', `PRAGMA busy_timeout = ${busyTimeoutMs}`, 'PRAGMA synchronous = NORMAL'].join(';');

const allEntities = [...entities, ...patchEntities, ...gateEntities, ...costEntities, ...routingEntities];
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

function postgresConfig(url: string, options: DatabaseOptions): Options<AbstractSqlDriver> {
  return {
    driver: PostgreSqlDriver,
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

export async function openDatabase(options: DatabaseOptions): Promise<Orm> {
  const orm = await MikroORM.init<AbstractSqlDriver>(ormConfig(options));
  installNulSafeEscape(orm);
  return orm;
}

/** The advisory lock (space, key) that instances starting together on one PostgreSQL database take turns on. */
const MIGRATION_LOCK = [0x756574, 0] as const;

/**
 * Applies every pending migration; returns the names it applied. On
 * PostgreSQL, instances starting at once migrate one after another (an
 * advisory lock held on a connection of its own), so the later ones find
 * nothing pending.
 */
export async function migrateDatabase(orm: Orm): Promise<string[]> {
  const up = async () => (await orm.getMigrator().up()).map((m) => m.name);
  if (isSqlite(orm.em)) return up();
  return orm.em.getKnex().transaction(async (lock) => {
    await lock.raw('select pg_advisory_xact_lock(?, ?)', [...MIGRATION_LOCK]);
    return up();
  });
}

export const isSqlite = (em: EntityManager): boolean => em.getPlatform() instanceof SqlitePlatform;

/**
 * The lock for taking the next row of a queue: FOR UPDATE SKIP LOCKED where
 * the database has it, so concurrent claimers pass each other's rows;
 * SQLite has one writer at a time and no row locks, so a plain write lock
 * (which its dialect leaves out) serves.
 */
export function queueLockMode(em: EntityManager): LockMode {
  return isSqlite(em) ? LockMode.PESSIMISTIC_WRITE : LockMode.PESSIMISTIC_PARTIAL_WRITE;
}

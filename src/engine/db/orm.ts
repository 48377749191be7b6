import { LockMode, type MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, EntityManager } from '@mikro-orm/knex';
import { SqlitePlatform } from '@mikro-orm/sqlite';

export type Orm = MikroORM<AbstractSqlDriver>;

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

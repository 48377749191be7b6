import { createHash } from 'node:crypto';
import { isSqlite, type Orm } from '../db/orm.js';

/** The first half of every lease's advisory-lock key: "uet" in ASCII, so that other applications' locks don't collide. */
const LEASE_SPACE = 0x756574;

const leaseKey = (name: string) => createHash('sha1').update(name).digest().readInt32BE(0);

/**
 * Runs one pass of a background job (the reaper, gate timeouts, the
 * routing retry) on at most one instance at a time. On PostgreSQL the pass
 * holds a transaction-scoped advisory lock on a connection of its own for
 * its whole length: an instance that finds the lock taken skips its turn
 * (returns null), and a crashed holder's lock goes with its connection.
 * Each item is still changed in its own transaction that checks again under
 * a row lock, so even overlapping passes would change each thing once.
 * SQLite is one process's file: the pass just runs.
 */
export async function withJobLease<T>(orm: Orm, name: string, pass: () => Promise<T>): Promise<T | null> {
  if (isSqlite(orm.em)) return pass();
  return orm.em.getKnex().transaction(async (lease) => {
    const { rows } = (await lease.raw('select pg_try_advisory_xact_lock(?, ?) as leased', [LEASE_SPACE, leaseKey(name)])) as {
      rows: { leased: boolean }[];
    };
    return rows[0]?.leased ? pass() : null;
  });
}

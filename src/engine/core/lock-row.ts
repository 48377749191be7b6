import { LockMode, type EntitySchema, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import { notFound } from './errors.js';

/**
 * Loads a row by id for a write, or fails with NOT_FOUND. On PostgreSQL the
 * row lock serializes the writers of one row (a run's step sequence and
 * counters, a worker's slots); SQLite has one writer at a time anyway and its
 * dialect leaves the FOR UPDATE out.
 */
export async function lockRow<T extends { id: string }>(em: EntityManager, schema: EntitySchema<T>, id: string): Promise<T> {
  const row = await em.findOne(schema, { id } as FilterQuery<T>, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!row) throw notFound(schema.meta.className, id);
  return row as T;
}

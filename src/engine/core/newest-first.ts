import type { EntityManager } from '@mikro-orm/knex';
import type { EntitySchema, FilterQuery } from '@mikro-orm/core';
import { badInput } from '../core/errors.js';
import { isUlid } from '../core/ids.js';
import { findRows, queryRows, rowExists, rowMapper, type RowFilter } from '../db/plain-rows.js';
import { assemblePage, decodeCursor, encodeCursor, parsePageArgs, type Page, type PageArgs } from '../core/pagination.js';

/**
 * A keyset page of rows with ULID ids, newest first (ids sort by creation
 * time), walked forwards (first/after) or backwards (last/before); the
 * cursor is the id under `kind`. Rows are plain objects (plain-rows.ts), not
 * managed entities: a page is read-only.
 *
 * `where` is a filter as em.find takes it, or, on hot paths, a RowFilter
 * that adds its conditions to a hand-built query (cheaper to build).
 */
export async function pageNewestFirst<T extends { id: string }>(em: EntityManager, entity: EntitySchema<T>, kind: string, where: FilterQuery<T> | RowFilter, args: PageArgs): Promise<Page<T>> {
  const request = parsePageArgs(args, (cursor, field) => {
    const id = decodeCursor(kind, cursor, field);
    if (!isUlid(id)) throw badInput(field, `is not a valid ${kind} cursor`);
    return id;
  });
  const forward = request.direction === 'forward';
  const cursor = request.cursor;
  const size = request.size;
  const read = typeof where === 'function' ? builtQueries(em, entity, where) : ormQueries(em, entity, where);
  const rows = await read.page(cursor === null ? null : forward ? ['<', cursor] : ['>', cursor], forward ? 'desc' : 'asc', size + 1);
  return assemblePage(
    request,
    rows,
    (row) => encodeCursor(kind, row.id),
    () => read.exists(forward ? ['>=', cursor!] : ['<=', cursor!]),
    () => read.count(),
  );
}

type IdBound = ['<' | '>' | '<=' | '>=', string];

interface PageQueries<T> {
  page(bound: IdBound | null, order: 'asc' | 'desc', limit: number): Promise<T[]>;
  exists(bound: IdBound): Promise<boolean>;
  count(): Promise<number>;
}

const OPERATORS = { '<': '$lt', '>': '$gt', '<=': '$lte', '>=': '$gte' } as const;

function ormQueries<T extends { id: string }>(em: EntityManager, entity: EntitySchema<T>, where: FilterQuery<T>): PageQueries<T> {
  const beyond = ([op, id]: IdBound) => ({ $and: [where, { id: { [OPERATORS[op]]: id } }] }) as FilterQuery<T>;
  return {
    page: (bound, order, limit) => findRows(em, entity, bound ? beyond(bound) : where, { orderBy: { id: order } as never, limit }),
    exists: (bound) => rowExists(em, entity, beyond(bound)),
    count: () => em.count(entity, where),
  };
}

function builtQueries<T extends { id: string }>(em: EntityManager, entity: EntitySchema<T>, where: RowFilter): PageQueries<T> {
  const mapper = rowMapper(em, entity);
  const id = mapper.column('id');
  const from = (bound: IdBound | null) => {
    const query = em.getKnex().from(mapper.table).where(where);
    return bound ? query.andWhere(id, bound[0], bound[1]) : query;
  };
  return {
    page: async (bound, order, limit) =>
      (
        await queryRows(
          em,
          from(bound)
            .select(mapper.columns as string[])
            .orderBy(id, order)
            .limit(limit),
        )
      ).map((row) => mapper.map(row)),
    exists: async (bound) => (await queryRows(em, from(bound).select(id).limit(1))).length > 0,
    count: async () => Number((await queryRows(em, from(null).count({ count: '*' })))[0]!.count),
  };
}

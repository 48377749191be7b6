import type { EntityManager } from '@mikro-orm/sqlite';
import type { EntitySchema, FilterQuery } from '@mikro-orm/core';
import { badInput } from '../core/errors.js';
import { isUlid } from '../core/ids.js';
import { assemblePage, decodeCursor, encodeCursor, parsePageArgs, type Page, type PageArgs } from '../core/pagination.js';

/**
 * A keyset page of rows with ULID ids, newest first (ids sort by creation
 * time), walked forwards (first/after) or backwards (last/before); the
 * cursor is the id under `kind`.
 */
export async function pageNewestFirst<T extends { id: string }>(
  em: EntityManager,
  entity: EntitySchema<T>,
  kind: string,
  where: FilterQuery<T>,
  args: PageArgs,
): Promise<Page<T>> {
  const request = parsePageArgs(args, (cursor, field) => {
    const id = decodeCursor(kind, cursor, field);
    if (!isUlid(id)) throw badInput(field, `is not a valid ${kind} cursor`);
    return id;
  });
  const forward = request.direction === 'forward';
  const cursor = request.cursor;
  const beyond = (ops: object) => ({ $and: [where, { id: ops }] }) as FilterQuery<T>;
  const rows = await em.find(entity, cursor ? beyond(forward ? { $lt: cursor } : { $gt: cursor }) : where, {
    orderBy: { id: forward ? 'desc' : 'asc' } as never,
    limit: request.size + 1,
  });
  return assemblePage(
    request,
    rows,
    (row) => encodeCursor(kind, row.id),
    async () => (await em.findOne(entity, beyond(forward ? { $gte: cursor! } : { $lte: cursor! }), { fields: ['id'] as never })) !== null,
    () => em.count(entity, where),
  );
}

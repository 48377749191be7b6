import { JsonType, type EntityName, type EntityProperty } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import type { DirectSql, SqlValue } from './direct-sql.js';
import { rowMapper, type RowMapper } from './plain-rows.js';

/**
 * One table's rows written and locked with direct statements (direct-sql.ts),
 * as plain objects of the entity's shape: the hot writes that need no unit of
 * work (a run's creation and start). Columns come from the ORM's metadata, so
 * a property added to the EntitySchema is written without touching this file;
 * only text, number, Date and json properties are supported (others fail when
 * the table is first built).
 */
export interface DirectTable<T> {
  /** The row with this id, locked for the write (FOR UPDATE on PostgreSQL), or null. */
  lock(sql: DirectSql, id: string): Promise<T | null>;
  insert(sql: DirectSql, row: T): Promise<void>;
  /** Writes the columns whose values differ between `before` and `row` (no statement when none does). */
  update(sql: DirectSql, before: T, row: T): Promise<void>;
}

type Kind = 'plain' | 'date' | 'json';

interface Column {
  property: string;
  column: string;
  kind: Kind;
}

const tablesByMetadata = new WeakMap<object, Map<string, DirectTable<unknown>>>();

/** The direct table of an entity (built on first use, then cached per ORM). */
export function directTable<T extends { id: string }>(em: EntityManager, entity: EntityName<T>): DirectTable<T> {
  const storage = em.getMetadata();
  let tables = tablesByMetadata.get(storage);
  if (!tables) {
    tables = new Map();
    tablesByMetadata.set(storage, tables);
  }
  const mapper = rowMapper(em, entity);
  let table = tables.get(mapper.entityName) as DirectTable<T> | undefined;
  if (!table) {
    table = buildDirectTable(mapper, storage.get<T>(mapper.entityName).props as EntityProperty<T>[]);
    tables.set(mapper.entityName, table as DirectTable<unknown>);
  }
  return table;
}

function kindOf<T>(prop: EntityProperty<T>, entityName: string): Kind {
  if (prop.customType instanceof JsonType) return 'json';
  if (prop.runtimeType === 'Date') return 'date';
  if (prop.runtimeType === 'string' || prop.runtimeType === 'number') return 'plain';
  throw new Error(`direct rows of ${entityName}: ${prop.name} is a ${prop.runtimeType} (not supported)`);
}

function buildDirectTable<T extends { id: string }>(mapper: RowMapper<T>, props: EntityProperty<T>[]): DirectTable<T> {
  const columns: Column[] = props.map((prop) => ({ property: prop.name, column: mapper.column(prop.name as keyof T & string), kind: kindOf(prop, mapper.entityName) }));
  const quoted = columns.map((c) => `"${c.column}"`).join(', ');
  const selectSql = `select ${quoted} from "${mapper.table}" where "${mapper.column('id' as keyof T & string)}" = ?`;
  const insertSql = `insert into "${mapper.table}" (${quoted}) values (${columns.map(() => '?').join(', ')})`;
  const value = (sql: DirectSql, row: T, column: Column): SqlValue => {
    const v = (row as Record<string, unknown>)[column.property];
    if (v === null || v === undefined) return null;
    if (column.kind === 'json') return sql.json(v);
    if (column.kind === 'date') return sql.date(v as Date);
    return v as SqlValue;
  };
  // What a column stores, to compare before and after (a Date by its time, json by its text).
  const stored = (row: T, column: Column): unknown => {
    const v = (row as Record<string, unknown>)[column.property];
    if (v === null || v === undefined) return null;
    if (column.kind === 'json') return JSON.stringify(v);
    if (column.kind === 'date') return (v as Date).getTime();
    return v;
  };
  return {
    async lock(sql, id) {
      const [row] = await sql.all(selectSql + sql.forUpdate, [id]);
      return row ? mapper.map(row) : null;
    },
    async insert(sql, row) {
      await sql.run(
        insertSql,
        columns.map((column) => value(sql, row, column)),
      );
    },
    async update(sql, before, row) {
      const changed = columns.filter((column) => stored(before, column) !== stored(row, column));
      if (changed.length === 0) return;
      const assignments = changed.map((c) => `"${c.column}" = ?`).join(', ');
      await sql.run(`update "${mapper.table}" set ${assignments} where "${mapper.column('id' as keyof T & string)}" = ?`, [...changed.map((column) => value(sql, row, column)), row.id]);
    },
  };
}

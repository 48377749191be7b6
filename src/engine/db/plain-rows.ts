import { BigIntType, JsonType, ReferenceKind, type EntityMetadata, type EntityName, type EntityProperty, type FilterQuery, type Platform, type QueryOrderMap } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/knex';
import type { Knex } from '@mikro-orm/knex';

/**
 * Read-only rows as plain objects of the entity's shape, without the ORM's
 * hydration (em.find builds a managed entity per row: identity map, change
 * tracking snapshot, relation getters), which dominated the CPU of list
 * queries. Writes stay on the ORM.
 *
 * One mapper per entity, built once from the ORM's metadata, so a column
 * added to an EntitySchema is read without touching this file. Each value is
 * normalized whatever the driver returns, so that SQLite and PostgreSQL rows
 * map alike:
 *   Date     epoch ms (SQLite), Date, or a timestamp string (node-pg via MikroORM) -> Date
 *   json     text (SQLite) or already parsed (PostgreSQL json/jsonb)              -> the parsed value
 *   bigint   number or string (PostgreSQL int8)                                   -> the property's runtime type
 *   boolean  0/1 (SQLite) or boolean                                               -> boolean
 * Another custom type goes through its own convertToJSValue, as the ORM would.
 */
export interface RowMapper<T> {
  readonly entityName: string;
  readonly table: string;
  /** Every column the entity maps, to select (plain names: qualify them yourself in a join). */
  readonly columns: readonly string[];
  /** The same, as property names (what QueryBuilder.select takes). */
  readonly properties: readonly string[];
  /** The column of a property (a mapToPk reference's: its foreign key). */
  column(property: keyof T & string): string;
  /** One database row (keyed by column name) as a plain object keyed by property name. */
  map(row: Record<string, unknown>): T;
}

/**
 * Conditions added to a knex query of one table (column names from
 * RowMapper.column). The ORM's QueryBuilder takes a filter object instead
 * but costs more CPU to build a query than the query takes to run (about
 * 0.3 ms for a page of runs, twice the hand-built query): hot read paths use
 * these.
 */
export type RowFilter = (query: Knex.QueryBuilder) => void;

type Convert = (value: unknown) => unknown;

interface Field {
  property: string;
  column: string;
  convert: Convert | null;
}

const mappersByMetadata = new WeakMap<object, Map<string, RowMapper<unknown>>>();

/** The plain-row mapper of an entity (built on first use, then cached per ORM). */
export function rowMapper<T extends object>(em: EntityManager, entity: EntityName<T>): RowMapper<T> {
  const storage = em.getMetadata();
  let mappers = mappersByMetadata.get(storage);
  if (!mappers) {
    mappers = new Map();
    mappersByMetadata.set(storage, mappers);
  }
  const meta = storage.get<T>(entity as never);
  let mapper = mappers.get(meta.className) as RowMapper<T> | undefined;
  if (!mapper) {
    mapper = buildRowMapper(meta, em.getPlatform(), (name) => storage.get(name));
    mappers.set(meta.className, mapper as RowMapper<unknown>);
  }
  return mapper;
}

/** Builds the mapper of one entity; exported for tests (rowMapper caches it). */
export function buildRowMapper<T>(meta: EntityMetadata<T>, platform: Platform, metadataOf: (entityName: string) => EntityMetadata<unknown>): RowMapper<T> {
  const fields: Field[] = [];
  for (const prop of meta.props as EntityProperty<T>[]) {
    if (prop.persist === false || prop.formula) {
      throw new Error(`plain rows of ${meta.className}: ${prop.name} is not a stored column (not supported)`);
    }
    const owningReference = (prop.kind === ReferenceKind.MANY_TO_ONE || (prop.kind === ReferenceKind.ONE_TO_ONE && prop.owner)) && prop.mapToPk;
    if (prop.kind !== ReferenceKind.SCALAR && !owningReference) {
      throw new Error(`plain rows of ${meta.className}: ${prop.name} is a ${prop.kind} relation; only scalars and mapToPk references are supported`);
    }
    if (prop.fieldNames.length !== 1) {
      throw new Error(`plain rows of ${meta.className}: ${prop.name} maps to ${prop.fieldNames.length} columns (not supported)`);
    }
    // A mapToPk reference holds the referenced primary key, converted as that key is.
    const valueProp = owningReference ? metadataOf(prop.type).getPrimaryProps()[0]! : prop;
    fields.push({ property: prop.name, column: prop.fieldNames[0]!, convert: converterFor(valueProp as EntityProperty<unknown>, platform) });
  }
  const columnOf = new Map(fields.map((f) => [f.property, f.column]));
  return {
    entityName: meta.className,
    table: meta.tableName,
    columns: fields.map((f) => f.column),
    properties: fields.map((f) => f.property),
    column(property) {
      const column = columnOf.get(property);
      if (column === undefined) throw new Error(`${meta.className} has no property ${property}`);
      return column;
    },
    map(row) {
      const out: Record<string, unknown> = {};
      for (const { property, column, convert } of fields) {
        const value = row[column];
        out[property] = value === null || value === undefined ? null : convert ? convert(value) : value;
      }
      return out as T;
    },
  };
}

function converterFor(prop: EntityProperty<unknown>, platform: Platform): Convert | null {
  const custom = prop.customType;
  if (custom instanceof JsonType) {
    // A string is JSON text, unless the driver parses this column itself (PostgreSQL json/jsonb: then a string is a JSON string value).
    const columnType = prop.columnTypes?.[0];
    const driverParses = platform.convertsJsonAutomatically() && ['json', 'jsonb', platform.getJsonDeclarationSQL()].includes(columnType!);
    return driverParses ? null : toJson;
  }
  if (custom instanceof BigIntType || prop.type === 'bigint') {
    switch (prop.runtimeType) {
      case 'number':
        return toNumber;
      case 'string':
        return toText;
      default:
        return toBigInt;
    }
  }
  if (prop.runtimeType === 'Date' && !platform.isNumericProperty(prop)) return dateConverter(platform.getTimezone());
  if (custom) return (value) => custom.convertToJSValue(value, platform);
  if (prop.runtimeType === 'boolean') return toBoolean;
  if (prop.runtimeType === 'number') return toNumber;
  return null;
}

function toJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

function toNumber(value: unknown): unknown {
  return typeof value === 'number' ? value : Number(value);
}

function toText(value: unknown): unknown {
  return typeof value === 'string' ? value : String(value);
}

function toBigInt(value: unknown): unknown {
  return typeof value === 'bigint' ? value : BigInt(value as string | number);
}

function toBoolean(value: unknown): unknown {
  return typeof value === 'boolean' ? value : Boolean(Number(value));
}

const EPOCH_MS = /^-?\d+$/;

/** Like the ORM's hydrator: a timestamp string without an offset is in the configured time zone ('Z' with forceUtcTimezone). */
function dateConverter(timezone: string | undefined): Convert {
  return (value) => {
    if (value instanceof Date) return value;
    if (typeof value === 'number') return new Date(value);
    const text = String(value);
    if (EPOCH_MS.test(text)) return new Date(Number(text));
    if (!timezone || timezone === 'local' || text.includes('+') || text.lastIndexOf('-') > 10 || text.endsWith('Z')) return new Date(text);
    return new Date(text + timezone);
  };
}

/** The rows with these primary keys (a single-column key), in no particular order. */
export async function rowsByIds<T extends object>(em: EntityManager, entity: EntityName<T>, ids: readonly (string | number)[]): Promise<T[]> {
  const mapper = rowMapper(em, entity);
  const pk = em.getMetadata().get<T>(mapper.entityName).primaryKeys;
  if (pk.length !== 1) throw new Error(`rowsByIds: ${mapper.entityName} has a composite primary key`);
  const query = em
    .getKnex()
    .select(mapper.columns as string[])
    .from(mapper.table)
    .whereIn(mapper.column(pk[0] as never), [...ids]);
  return (await queryRows(em, query)).map((row) => mapper.map(row));
}

export interface FindRowsOptions<T> {
  orderBy?: QueryOrderMap<T>;
  limit?: number;
}

/**
 * Rows matching `where` (a filter as em.find takes it: property names,
 * operators, values converted as the ORM does), as plain objects, through
 * the ORM's QueryBuilder: no hydration, but building the query still costs
 * more than a hand-built one (see RowFilter). Runs in the manager's
 * transaction when it has one.
 */
export async function findRows<T extends object>(em: EntityManager, entity: EntityName<T>, where: FilterQuery<T>, options: FindRowsOptions<T> = {}): Promise<T[]> {
  const mapper = rowMapper(em, entity);
  const qb = em
    .createQueryBuilder(entity)
    .select(mapper.properties as never)
    .where(where);
  if (options.orderBy) qb.orderBy(options.orderBy);
  if (options.limit !== undefined) qb.limit(options.limit);
  const rows = (await qb.execute('all', false)) as unknown as Record<string, unknown>[];
  return rows.map((row) => mapper.map(row));
}

/** Whether any row matches `where` (reads only the primary key of one row). */
export async function rowExists<T extends object>(em: EntityManager, entity: EntityName<T>, where: FilterQuery<T>): Promise<boolean> {
  const meta = em.getMetadata().get<T>(rowMapper(em, entity).entityName);
  const row = await em
    .createQueryBuilder(entity)
    .select(meta.primaryKeys as never)
    .where(where)
    .limit(1)
    .execute('get', false);
  return row != null;
}

/**
 * Rows of a query built by hand with em.getKnex() (keyed by column name; map
 * them with rowMapper), run through the ORM's connection: its query log,
 * error conversion and the manager's transaction, if any.
 */
export function queryRows(em: EntityManager, query: Knex.QueryBuilder): Promise<Record<string, unknown>[]> {
  return em.execute<Record<string, unknown>[]>(query, [], 'all');
}

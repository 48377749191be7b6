import type { EntityManager } from '@mikro-orm/knex';
import type { Knex } from '@mikro-orm/knex';
import { isSqlite } from '../db/orm.js';
import type { FilterQuery } from '@mikro-orm/core';
import { badInput } from '../core/errors.js';
import { ulidFloor } from '../core/ids.js';
import type { Page, PageArgs } from '../core/pagination.js';
import { CostRecordSchema, type CostRecord, type ResourceType } from './entities.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { rowsByIds } from '../db/plain-rows.js';
import { TOTAL_DESCENDING, digitSums, digitSumsAsText, joinDigitSums } from './exact-sum.js';

export interface CostFilter {
  runId?: string | null;
  projectId?: string | null;
  resourceType?: ResourceType | null;
  model?: string | null;
  /** Recorded at or after. */
  from?: Date | null;
  /** Recorded before. */
  to?: Date | null;
}

export type Bucket = 'hour' | 'day';
const BUCKET_MS: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };
export const MAX_TOP = 100;
/** The most buckets a series returns per currency: a week of hours, and a year of days, fit. */
export const MAX_SERIES_BUCKETS = 500;

/**
 * What spend groups by: a column of cost_record, or tool_id, the tool the
 * router chose for the attempt (execution request) a cost names.
 */
export type GroupKey = 'resource_type' | 'model' | 'project_id' | 'tool_id';
// A correlated subquery on the execution request's primary key, not a join: every filter and group stays on cost_record's own columns.
const TOOL_OF_ATTEMPT = '(select tool_id from execution_request where execution_request.id = cost_record.execution_request_id)';

/** A total in one currency: nano-units as an exact integer string (see money.ts). */
export interface Spend {
  totalNanos: string;
  count: number;
}

export interface CurrencySummary extends Spend {
  currency: string;
}

/**
 * Reads of cost records. Every total is summed by the database, per
 * currency, in digits that cannot overflow (exact-sum.ts), and read as text
 * so that no total passes through a float on its way out.
 */
export class CostQueries {
  constructor(private readonly fork: () => EntityManager) {}

  costsByIds(ids: readonly string[]): Promise<CostRecord[]> {
    return rowsByIds(this.fork(), CostRecordSchema, ids);
  }

  /** Newest first. */
  list(filter: CostFilter, args: PageArgs): Promise<Page<CostRecord>> {
    return pageNewestFirst(this.fork(), CostRecordSchema, 'CostRecord', costWhere(filter), args);
  }

  /** Total and count per currency. */
  async totals(filter: CostFilter): Promise<CurrencySummary[]> {
    const rows = await this.grouped(filter);
    return rows.map((row) => ({ currency: row.currency, ...spend(row) }));
  }

  /** Per currency, grouped by one key (null first). */
  async by(filter: CostFilter, key: GroupKey): Promise<(Spend & { currency: string; key: string | null })[]> {
    const rows = await this.grouped(filter, key);
    return rows.map((row) => ({ currency: row.currency, key: (row[key] as string | null) ?? null, ...spend(row) }));
  }

  /** The `top` runs or projects with the largest spend in each currency, largest first (ties by id). */
  async top(filter: CostFilter, column: 'run_id' | 'project_id', top: number): Promise<(Spend & { currency: string; key: string })[]> {
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) throw badInput('top', `must be from 1 to ${MAX_TOP}`);
    const knex = this.fork().getKnex();
    const grouped = this.scoped(knex, filter)
      .whereNotNull(column)
      .select('currency', knex.raw('?? as group_key', [column]))
      .select(knex.raw(digitSums('bigint')))
      .count({ count: '*' })
      .groupBy('currency', column);
    const ranked = knex
      .select('*')
      .select(knex.raw(`row_number() over (partition by currency order by ${TOTAL_DESCENDING}, group_key) as place`))
      .from(grouped.as('grouped'));
    const rows: Record<string, unknown>[] = await knex
      .select('currency', 'group_key', knex.raw(digitSumsAsText), 'count')
      .from(ranked.as('ranked'))
      .where('place', '<=', top)
      .orderBy([{ column: 'currency' }, { column: 'place' }]);
    return rows.map((row) => ({ currency: String(row.currency), key: String(row.group_key), ...spend(row) }));
  }

  /** Spend per hour or day (UTC) in each currency: its latest `last` buckets with spend, oldest first (empty buckets are left out). */
  async series(filter: CostFilter, bucket: Bucket, last: number): Promise<(Spend & { currency: string; start: Date })[]> {
    if (!Number.isInteger(last) || last < 1 || last > MAX_SERIES_BUCKETS) throw badInput('last', `must be from 1 to ${MAX_SERIES_BUCKETS}`, { max: MAX_SERIES_BUCKETS });
    const em = this.fork();
    const knex = em.getKnex();
    const size = BUCKET_MS[bucket];
    // A bucket is the time in epoch milliseconds rounded down to its size
    // (SQLite keeps dates as epoch milliseconds; PostgreSQL as timestamptz).
    const epochMs = isSqlite(em) ? 'recorded_at' : 'cast(floor(extract(epoch from recorded_at) * 1000) as bigint)';
    const start = knex.raw(`(${epochMs} - (${epochMs} % ?))`, [size]);
    const grouped = this.scoped(knex, filter)
      .select('currency', knex.raw(`${start.toQuery()} as bucket_start`))
      .select(knex.raw(digitSums('bigint')))
      .count({ count: '*' })
      .groupBy('currency', 'bucket_start');
    const ranked = knex.select('*').select(knex.raw('row_number() over (partition by currency order by bucket_start desc) as place')).from(grouped.as('grouped'));
    const rows: Record<string, unknown>[] = await knex
      .select('currency', 'bucket_start', knex.raw(digitSumsAsText), 'count')
      .from(ranked.as('ranked'))
      .where('place', '<=', last)
      .orderBy([{ column: 'currency' }, { column: 'bucket_start' }]);
    return rows.map((row) => ({ currency: String(row.currency), start: new Date(Number(row.bucket_start)), ...spend(row) }));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- knex's row type for a raw select; spend() and the callers read it
  private async grouped(filter: CostFilter, key?: GroupKey): Promise<Record<string, any>[]> {
    const knex = this.fork().getKnex();
    const query = this.scoped(knex, filter)
      .select('currency')
      .select(knex.raw(digitSums('text')))
      .count({ count: '*' });
    if (!key) return query.groupBy('currency').orderBy('currency');
    return (
      query
        .select(key === 'tool_id' ? knex.raw(`${TOOL_OF_ATTEMPT} as tool_id`) : key)
        .groupBy('currency', key)
        // The unnamed group (null) first on every database (PostgreSQL would put it last).
        .orderBy([{ column: 'currency' }, { column: key, order: 'asc', nulls: 'first' }])
    );
  }

  private scoped(knex: Knex, filter: CostFilter): Knex.QueryBuilder {
    const query = knex('cost_record');
    if (filter.runId != null) query.where('run_id', filter.runId);
    if (filter.projectId != null) query.where('project_id', filter.projectId);
    if (filter.resourceType != null) query.where('resource_type', filter.resourceType);
    if (filter.model != null) query.where('model', filter.model);
    const range = idRange(filter);
    if (range.$gte) query.where('id', '>=', range.$gte);
    if (range.$lt) query.where('id', '<', range.$lt);
    return query;
  }
}

function spend(row: Record<string, unknown>): Spend {
  return { totalNanos: joinDigitSums(row).toString(), count: Number(row.count) };
}

/** recorded_at is the id's time part: the time range is an id range on the same indexes as the filters. */
function idRange(filter: CostFilter): { $gte?: string; $lt?: string } {
  return {
    ...(filter.from ? { $gte: ulidFloor(filter.from.getTime()) } : {}),
    ...(filter.to ? { $lt: ulidFloor(filter.to.getTime()) } : {}),
  };
}

function costWhere(filter: CostFilter): FilterQuery<CostRecord> {
  const where: FilterQuery<CostRecord> & Record<string, unknown> = {};
  if (filter.runId != null) where.runId = filter.runId;
  if (filter.projectId != null) where.projectId = filter.projectId;
  if (filter.resourceType != null) where.resourceType = filter.resourceType;
  if (filter.model != null) where.model = filter.model;
  const range = idRange(filter);
  if (Object.keys(range).length > 0) where.id = range;
  return where;
}

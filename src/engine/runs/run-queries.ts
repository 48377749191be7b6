import type { EntityManager } from '@mikro-orm/knex';
import type { Knex } from '@mikro-orm/knex';
import type { WorkerActor } from '../auth/identity.js';
import { assertMaySeeRun } from '../auth/report-access.js';
import { notFound } from '../core/errors.js';
import { ulidFloor } from '../core/ids.js';
import { assemblePage, decodePositionCursor, encodeCursor, parsePageArgs, type Page, type PageArgs } from '../core/pagination.js';
import { RunEventSchema, RunSchema, StepAttemptSchema, type Run, type RunEvent, type RunEventKind, type RunState, type StepAttempt } from './entities.js';
import type { RunEventReader } from './event-log.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { queryRows, rowMapper, rowsByIds, type RowFilter, type RowMapper } from '../db/plain-rows.js';

export interface RunFilter {
  projectId?: string | null;
  phaseId?: string | null;
  workstreamId?: string | null;
  states?: RunState[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
}

export const RUN_CURSOR = 'Run';
export const STEP_CURSOR = 'StepAttempt';
export const EVENT_CURSOR = 'RunEvent';

export const eventCursor = (event: Pick<RunEvent, 'position'>) => encodeCursor(EVENT_CURSOR, event.position);

export function decodeEventCursor(cursor: string, field: string): number {
  return decodePositionCursor(EVENT_CURSOR, cursor, field);
}

export interface EventStats {
  count: number;
  /** Null when the run has no events. */
  firstPosition: number | null;
}

/** The first page of a per-run list, for many runs at once. */
export interface RunSlice<T> {
  rows: T[];
  hasMore: boolean;
}

/** Reads of runs, steps and events, shaped for pagination and batching. */
export class RunQueries {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly events: RunEventReader,
  ) {}

  // Reads return plain rows (db/plain-rows.ts), not managed entities: nothing here is written back.

  /** Whether `actor` may read the run (Query.run): a WORKER-only token only one its workers hold a task of now, else FORBIDDEN (assertMaySeeRun). */
  assertMayRead(actor: WorkerActor, runId: string): Promise<void> {
    return assertMaySeeRun(this.fork(), actor, runId, 'read');
  }

  runsByIds(ids: readonly string[]): Promise<Run[]> {
    return rowsByIds(this.fork(), RunSchema, ids);
  }

  stepsByIds(ids: readonly string[]): Promise<StepAttempt[]> {
    return rowsByIds(this.fork(), StepAttemptSchema, ids);
  }

  eventsByIds(ids: readonly string[]): Promise<RunEvent[]> {
    return rowsByIds(this.fork(), RunEventSchema, ids);
  }

  /** Newest first; keyset on the id, which sorts by creation time. */
  listRuns(filter: RunFilter, args: PageArgs): Promise<Page<Run>> {
    const em = this.fork();
    return pageNewestFirst(em, RunSchema, RUN_CURSOR, runWhere(filter, rowMapper(em, RunSchema)), args);
  }

  /**
   * Steps in sequence order for each run, all runs in one query. A run's
   * sequences run 1..stepAttempts without gaps (startStep takes the next one
   * under the write lock; steps are never deleted alone), so its next
   * limit + 1 steps are a range of sequences: no window function needed.
   */
  stepSlices(runIds: readonly string[], afterSequence: number, limit: number): Promise<Map<string, RunSlice<StepAttempt>>> {
    const em = this.fork();
    const steps = rowMapper(em, StepAttemptSchema);
    const sequence = steps.column('sequence');
    const query = em
      .getKnex()
      .select(steps.columns as string[])
      .from(steps.table)
      .whereIn(steps.column('runId'), [...runIds])
      .andWhere(sequence, '>', afterSequence)
      .andWhere(sequence, '<=', afterSequence + limit + 1)
      .orderBy([steps.column('runId'), sequence]);
    return this.slices(em, steps, query, runIds, limit);
  }

  /** Events in log order for each run, all runs in one query. */
  eventSlices(runIds: readonly string[], afterPosition: number, limit: number): Promise<Map<string, RunSlice<RunEvent>>> {
    const em = this.fork();
    const knex = em.getKnex();
    const events = rowMapper(em, RunEventSchema);
    const [runId, position] = [events.column('runId'), events.column('position')];
    // ROW_NUMBER per run keeps it one statement however many runs are asked for.
    const ranked = knex
      .select(events.columns as string[])
      .select(knex.raw(`row_number() over (partition by ?? order by ??) as rank_in_run`, [runId, position]))
      .from(events.table)
      .whereIn(runId, [...runIds])
      .andWhere(position, '>', afterPosition);
    const query = knex
      .select(events.columns as string[])
      .from(ranked.as('ranked'))
      .where('rank_in_run', '<=', limit + 1)
      .orderBy([runId, position]);
    return this.slices(em, events, query, runIds, limit);
  }

  /** How many events each run has and where its log starts, all runs in one query. */
  async eventStats(runIds: readonly string[]): Promise<Map<string, EventStats>> {
    const rows = await this.fork()
      .getKnex()
      .select('run_id')
      .count({ count: '*' })
      .min({ first: 'position' })
      .from('run_event')
      .whereIn('run_id', [...runIds])
      .groupBy('run_id');
    return new Map(rows.map((row) => [String(row.run_id), { count: Number(row.count), firstPosition: Number(row.first) }]));
  }

  /** The log in position order, optionally of one run and some kinds: forwards from `after`, or backwards from `before` (or the end). */
  async eventsPage(query: { runId?: string | null; kinds?: RunEventKind[] | null }, args: PageArgs): Promise<Page<RunEvent>> {
    const request = parsePageArgs(args, decodeEventCursor);
    if (query.runId && (await rowsByIds(this.fork(), RunSchema, [query.runId])).length === 0) {
      throw notFound('Run', query.runId);
    }
    const total = () => this.events.count({ ...query, after: 0 });
    if (request.direction === 'backward') {
      const before = request.cursor;
      const rows = await this.events.before({ ...query, before, limit: request.size + 1 });
      return assemblePage(request, rows, eventCursor, () => this.events.exists({ ...query, atOrAfter: before! }), total);
    }
    const after = request.cursor ?? 0;
    const rows = await this.events.after({ ...query, after, limit: request.size + 1 });
    return assemblePage(request, rows, eventCursor, () => this.events.exists({ ...query, atOrBefore: after }), total);
  }

  /** Splits rows ordered by run (at most limit + 1 of each) into per-run slices. */
  private async slices<T extends { runId: string }>(em: EntityManager, mapper: RowMapper<T>, query: Knex.QueryBuilder, runIds: readonly string[], limit: number): Promise<Map<string, RunSlice<T>>> {
    const result = new Map<string, RunSlice<T>>(runIds.map((id) => [id, { rows: [], hasMore: false }]));
    for (const row of await queryRows(em, query)) {
      const item = mapper.map(row);
      const slice = result.get(item.runId)!;
      if (slice.rows.length === limit) slice.hasMore = true;
      else slice.rows.push(item);
    }
    return result;
  }
}

function runWhere(filter: RunFilter, runs: RowMapper<Run>): RowFilter {
  return (query) => {
    if (filter.projectId != null) query.where(runs.column('projectId'), filter.projectId);
    if (filter.phaseId != null) query.where(runs.column('phaseId'), filter.phaseId);
    if (filter.workstreamId != null) query.where(runs.column('workstreamId'), filter.workstreamId);
    if (filter.states != null) query.whereIn(runs.column('state'), filter.states);
    // createdAt and the id's time part are the same millisecond, so the range
    // is an id range and rides the same indexes as the ordering.
    if (filter.createdAfter) query.where(runs.column('id'), '>=', ulidFloor(filter.createdAfter.getTime() + 1));
    if (filter.createdBefore) query.where(runs.column('id'), '<', ulidFloor(filter.createdBefore.getTime()));
  };
}

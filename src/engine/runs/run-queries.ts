import type { EntityManager } from '@mikro-orm/sqlite';
import type { FilterQuery } from '@mikro-orm/core';
import { badInput, notFound } from '../core/errors.js';
import { ulidFloor } from '../core/ids.js';
import {
  assemblePage,
  decodePositionCursor,
  encodeCursor,
  parsePageArgs,
  type Page,
  type PageArgs,
} from '../core/pagination.js';
import {
  RunEventSchema,
  RunSchema,
  StepAttemptSchema,
  type Run,
  type RunEvent,
  type RunEventKind,
  type RunState,
  type StepAttempt,
} from '../db/entities.js';
import type { RunEventReader } from './event-log.js';
import { pageNewestFirst } from '../db/newest-first.js';

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

  runsByIds(ids: readonly string[]): Promise<Run[]> {
    return this.fork().find(RunSchema, { id: { $in: [...ids] } });
  }

  stepsByIds(ids: readonly string[]): Promise<StepAttempt[]> {
    return this.fork().find(StepAttemptSchema, { id: { $in: [...ids] } });
  }

  eventsByIds(ids: readonly string[]): Promise<RunEvent[]> {
    return this.fork().find(RunEventSchema, { id: { $in: [...ids] } });
  }

  /** Newest first; keyset on the id, which sorts by creation time. */
  listRuns(filter: RunFilter, args: PageArgs): Promise<Page<Run>> {
    return pageNewestFirst(this.fork(), RunSchema, RUN_CURSOR, runWhere(filter), args);
  }

  /** Steps in sequence order for each run, all runs in one query. */
  stepSlices(runIds: readonly string[], afterSequence: number, limit: number): Promise<Map<string, RunSlice<StepAttempt>>> {
    return this.slices(StepAttemptSchema.meta.className, 'step_attempt', 'sequence', runIds, afterSequence, limit);
  }

  /** Events in log order for each run, all runs in one query. */
  eventSlices(runIds: readonly string[], afterPosition: number, limit: number): Promise<Map<string, RunSlice<RunEvent>>> {
    return this.slices(RunEventSchema.meta.className, 'run_event', 'position', runIds, afterPosition, limit);
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

  /** The log in position order, optionally of one run and some kinds. */
  async eventsPage(query: { runId?: string | null; kinds?: RunEventKind[] | null }, args: PageArgs): Promise<Page<RunEvent>> {
    if (args.last != null || args.before != null) throw badInput('last', 'the event log pages forwards only (first/after)');
    const request = parsePageArgs(args, decodeEventCursor);
    if (query.runId && !(await this.fork().findOne(RunSchema, { id: query.runId }, { fields: ['id'] }))) {
      throw notFound('Run', query.runId);
    }
    const after = request.cursor ?? 0;
    const rows = await this.events.after({ ...query, after, limit: request.size + 1 });
    return assemblePage(
      request,
      rows,
      eventCursor,
      () => this.events.exists({ ...query, atOrBefore: after }),
      () => this.events.count({ ...query, after: 0 }),
    );
  }

  private async slices<T>(
    entity: string,
    table: string,
    orderColumn: string,
    runIds: readonly string[],
    after: number,
    limit: number,
  ): Promise<Map<string, RunSlice<T>>> {
    const em = this.fork();
    // ROW_NUMBER per run keeps it one statement however many runs are asked for.
    const ranked = em
      .getKnex()
      .select('*')
      .select(em.getKnex().raw(`row_number() over (partition by run_id order by ${orderColumn}) as rank_in_run`))
      .from(table)
      .whereIn('run_id', [...runIds])
      .andWhere(orderColumn, '>', after);
    const rows: Record<string, unknown>[] = await em
      .getKnex()
      .select('*')
      .from(ranked.as('ranked'))
      .where('rank_in_run', '<=', limit + 1)
      .orderBy(['run_id', orderColumn]);
    const result = new Map<string, RunSlice<T>>(runIds.map((id) => [id, { rows: [], hasMore: false }]));
    for (const row of rows) {
      const slice = result.get(String(row.run_id))!;
      delete row.rank_in_run;
      if (slice.rows.length === limit) slice.hasMore = true;
      else slice.rows.push(em.map(entity, row) as T);
    }
    return result;
  }
}

function runWhere(filter: RunFilter): FilterQuery<Run> {
  const where: FilterQuery<Run> & Record<string, unknown> = {};
  if (filter.projectId != null) where.projectId = filter.projectId;
  if (filter.phaseId != null) where.phaseId = filter.phaseId;
  if (filter.workstreamId != null) where.workstreamId = filter.workstreamId;
  if (filter.states != null) where.state = { $in: filter.states };
  // createdAt and the id's time part are the same millisecond, so the range
  // is an id range and rides the same indexes as the ordering.
  const id: Record<string, string> = {};
  if (filter.createdAfter) id.$gte = ulidFloor(filter.createdAfter.getTime() + 1);
  if (filter.createdBefore) id.$lt = ulidFloor(filter.createdBefore.getTime());
  if (Object.keys(id).length > 0) where.id = id;
  return where;
}

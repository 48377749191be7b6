import type { EntityManager } from '@mikro-orm/knex';
import type { Knex } from '@mikro-orm/knex';
import type { WriteScope } from '../core/write-scope.js';
import { RunEventSchema, RunSchema, type RunEvent, type RunEventKind, type RunState } from './entities.js';
import { queryRows, rowMapper, rowsByIds, type RowMapper } from '../db/plain-rows.js';

/** What the bus carries for each appended event: enough to filter, never the payload. */
export interface RunEventNotice {
  position: number;
  runId: string;
  kind: RunEventKind;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'run.event': RunEventNotice;
  }
}

/** Kinds that denote an error or a failure; each one counts in the run's `errors` counter. */
export const ERROR_EVENT_KINDS: ReadonlySet<RunEventKind> = new Set(['tool_call_error', 'patch_apply_failed', 'error_pipeline_triggered', 'task_failed', 'gate_failed', 'gate_errored']);

const pendingEvents = new WeakMap<WriteScope, Omit<RunEvent, 'position'>[]>();

/**
 * Appends an event to a run's log inside the caller's write. Positions are
 * taken from the `log_sequence` row just before the commit: the update holds
 * the row's lock until the commit (SQLite's single writer, PostgreSQL's row
 * lock alike), so positions are gap-free and in commit order, and a reader
 * resuming after position P can never miss a later commit of a lower one.
 */
export function appendRunEvent(scope: WriteScope, event: { runId: string; kind: RunEventKind; payload?: Record<string, unknown>; stepId?: string | null }): string {
  let pending = pendingEvents.get(scope);
  if (!pending) {
    pending = [];
    pendingEvents.set(scope, pending);
    const events = pending;
    scope.beforeCommit('run-event-log', () => persistEvents(scope, events));
  }
  const id = scope.newId();
  pending.push({
    id,
    runId: event.runId,
    stepId: event.stepId ?? null,
    ts: scope.now,
    kind: event.kind,
    payload: event.payload ?? {},
  });
  return id;
}

/** Rows per INSERT: well under SQLite's limit of bound values in one statement. */
const EVENTS_PER_INSERT = 500;
const EVENT_COLUMNS = '("id", "position", "run_id", "step_id", "ts", "kind", "payload")';

async function persistEvents(scope: WriteScope, events: Omit<RunEvent, 'position'>[]): Promise<void> {
  // The rows the events name (a run or step created in this write) go first: the foreign keys are checked at once.
  await scope.flushEntities();
  const [row] = await scope.sql.all<{ value: number | string }>(`update "log_sequence" set "value" = "value" + ? where "name" = 'run_event' returning "value"`, [events.length]);
  let position = Number(row!.value) - events.length;
  for (let start = 0; start < events.length; start += EVENTS_PER_INSERT) {
    const chunk = events.slice(start, start + EVENTS_PER_INSERT);
    const values = [];
    for (const event of chunk) {
      position += 1;
      values.push(event.id, position, event.runId, event.stepId ?? null, scope.sql.date(event.ts), event.kind, scope.sql.json(event.payload));
      scope.announce('run.event', { position, runId: event.runId, kind: event.kind });
    }
    await scope.sql.run(`insert into "run_event" ${EVENT_COLUMNS} values ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`, values);
  }
}

export interface EventQuery {
  runId?: string | null;
  /** Only events of this project's runs. */
  projectId?: string | null;
  after: number;
  kinds?: readonly RunEventKind[] | null;
  limit: number;
}

/** Reads of the log, always in position order, as plain rows (db/plain-rows.ts). */
export class RunEventReader {
  constructor(private readonly fork: () => EntityManager) {}

  async after(query: EventQuery): Promise<RunEvent[]> {
    const em = this.fork();
    const events = rowMapper(em, RunEventSchema);
    const position = events.column('position');
    const rows = await queryRows(
      em,
      this.select(em, events, query)
        .select(events.columns as string[])
        .andWhere(position, '>', query.after)
        .orderBy(position, 'asc')
        .limit(query.limit),
    );
    return rows.map((row) => events.map(row));
  }

  /** The events before position `before` (the end of the log when null), newest first: a page walked backwards. */
  async before(query: Omit<EventQuery, 'after'> & { before: number | null }): Promise<RunEvent[]> {
    const em = this.fork();
    const events = rowMapper(em, RunEventSchema);
    const position = events.column('position');
    const select = this.select(em, events, query).select(events.columns as string[]);
    if (query.before !== null) select.andWhere(position, '<', query.before);
    const rows = await queryRows(em, select.orderBy(position, 'desc').limit(query.limit));
    return rows.map((row) => events.map(row));
  }

  async count(query: Omit<EventQuery, 'limit'>): Promise<number> {
    const em = this.fork();
    const events = rowMapper(em, RunEventSchema);
    const [row] = await queryRows(em, this.select(em, events, query).andWhere(events.column('position'), '>', query.after).count({ count: '*' }));
    return Number(row!.count);
  }

  /** Whether an event lies at or before `atOrBefore`, or at or after `atOrAfter`. */
  async exists(query: Omit<EventQuery, 'limit' | 'after'> & ({ atOrBefore: number } | { atOrAfter: number })): Promise<boolean> {
    const em = this.fork();
    const events = rowMapper(em, RunEventSchema);
    const [operator, position] = 'atOrBefore' in query ? ['<=', query.atOrBefore] : ['>=', query.atOrAfter];
    const rows = await queryRows(em, this.select(em, events, query).select(events.column('id')).andWhere(events.column('position'), operator, position).limit(1));
    return rows.length > 0;
  }

  async lastPosition(): Promise<number> {
    const row = await this.fork().execute<{ value: number }>(`select "value" from "log_sequence" where "name" = 'run_event'`, [], 'get');
    return Number(row?.value ?? 0);
  }

  /** The state of a run, null for an unknown one. */
  async runState(runId: string): Promise<RunState | null> {
    const em = this.fork();
    const runs = rowMapper(em, RunSchema);
    const [row] = await queryRows(em, em.getKnex().from(runs.table).select(runs.column('state')).where(runs.column('id'), runId));
    return (row?.[runs.column('state')] as RunState | undefined) ?? null;
  }

  /** The project of each of these runs that exists. */
  async projectsOf(runIds: readonly string[]): Promise<Map<string, string>> {
    const em = this.fork();
    const runs = rowMapper(em, RunSchema);
    const rows = await queryRows(
      em,
      em
        .getKnex()
        .from(runs.table)
        .select(runs.column('id'), runs.column('projectId'))
        .whereIn(runs.column('id'), [...runIds]),
    );
    return new Map(rows.map((row) => [String(row[runs.column('id')]), String(row[runs.column('projectId')])]));
  }

  async byId(id: string): Promise<RunEvent | null> {
    return (await rowsByIds(this.fork(), RunEventSchema, [id]))[0] ?? null;
  }

  /** The log, narrowed to one run and some kinds when asked. */
  private select(em: EntityManager, events: RowMapper<RunEvent>, query: Pick<EventQuery, 'runId' | 'projectId' | 'kinds'>): Knex.QueryBuilder {
    const knex = em.getKnex();
    const select = knex.from(events.table);
    if (query.runId) select.where(events.column('runId'), query.runId);
    if (query.projectId) {
      const runs = rowMapper(em, RunSchema);
      select.whereIn(events.column('runId'), knex.from(runs.table).select(runs.column('id')).where(runs.column('projectId'), query.projectId));
    }
    if (query.kinds?.length) select.whereIn(events.column('kind'), [...query.kinds]);
    return select;
  }
}

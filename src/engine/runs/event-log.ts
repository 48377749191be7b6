import type { EntityManager } from '@mikro-orm/sqlite';
import type { WriteScope } from '../core/write-scope.js';
import { RunEventSchema, type RunEvent, type RunEventKind } from '../db/entities.js';

export const RUN_EVENT_TOPIC = 'run.event';

/** What the bus carries for each appended event: enough to filter, never the payload. */
export interface RunEventNotice {
  position: number;
  runId: string;
  kind: RunEventKind;
}

/** Kinds that denote an error or a failure; each one counts in the run's `errors` counter. */
export const ERROR_EVENT_KINDS: ReadonlySet<RunEventKind> = new Set([
  'tool_call_error',
  'patch_apply_failed',
  'error_pipeline_triggered',
  'task_failed',
  'gate_failed',
  'gate_errored',
]);

const pendingEvents = new WeakMap<WriteScope, Omit<RunEvent, 'position'>[]>();

/**
 * Appends an event to a run's log inside the caller's write. Positions are
 * taken from the `log_sequence` row just before the commit: the update holds
 * the row's lock until the commit (SQLite's single writer, PostgreSQL's row
 * lock alike), so positions are gap-free and in commit order, and a reader
 * resuming after position P can never miss a later commit of a lower one.
 */
export function appendRunEvent(
  scope: WriteScope,
  event: { runId: string; kind: RunEventKind; payload?: Record<string, unknown>; stepId?: string | null },
): string {
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

async function persistEvents(scope: WriteScope, events: Omit<RunEvent, 'position'>[]): Promise<void> {
  const row = await scope.em.execute<{ value: number }>(
    "update `log_sequence` set `value` = `value` + ? where `name` = 'run_event' returning `value`",
    [events.length],
    'get',
  );
  let position = Number(row.value) - events.length;
  for (const event of events) {
    position += 1;
    scope.em.persist(scope.em.create(RunEventSchema, { ...event, position }));
    scope.announce(RUN_EVENT_TOPIC, { position, runId: event.runId, kind: event.kind } satisfies RunEventNotice);
  }
}

export interface EventQuery {
  runId?: string | null;
  after: number;
  kinds?: readonly RunEventKind[] | null;
  limit: number;
}

/** Reads of the log, always in position order. */
export class RunEventReader {
  constructor(private readonly fork: () => EntityManager) {}

  after(query: EventQuery): Promise<RunEvent[]> {
    return this.fork().find(RunEventSchema, this.where(query), {
      orderBy: { position: 'asc' },
      limit: query.limit,
    });
  }

  count(query: Omit<EventQuery, 'limit'>): Promise<number> {
    return this.fork().count(RunEventSchema, this.where(query));
  }

  async exists(query: Omit<EventQuery, 'limit' | 'after'> & { atOrBefore: number }): Promise<boolean> {
    const row = await this.fork().findOne(
      RunEventSchema,
      { ...this.where({ ...query, after: -1 }), position: { $lte: query.atOrBefore } },
      { fields: ['id'] },
    );
    return row !== null;
  }

  async lastPosition(): Promise<number> {
    const row = await this.fork().execute<{ value: number }>(
      "select `value` from `log_sequence` where `name` = 'run_event'",
      [],
      'get',
    );
    return Number(row?.value ?? 0);
  }

  byId(id: string): Promise<RunEvent | null> {
    return this.fork().findOne(RunEventSchema, { id });
  }

  private where(query: Omit<EventQuery, 'limit'>) {
    return {
      position: { $gt: query.after },
      ...(query.runId ? { runId: query.runId } : {}),
      ...(query.kinds?.length ? { kind: { $in: [...query.kinds] } } : {}),
    };
  }
}

import type { EntityManager } from '@mikro-orm/knex';
import type { WorkerActor } from '../auth/identity.js';
import { DomainError } from '../core/errors.js';

/**
 * The tasks of the run (first parameter) that a worker the token (second
 * parameter) registered holds now (RUNNING), oldest first. It reads task by
 * its (run_id, id) index and worker by its primary key. (No table aliases,
 * so that the index-plan test sees a scan of either table by name.)
 */
export const REPORT_ACCESS_SQL =
  'select task.id as id, task.execution_request_id as execution_request_id, task.attempts as attempts from task join worker on worker.id = task.worker_id ' +
  "where task.run_id = ? and worker.registered_by_token_id = ? and task.state = 'running' order by task.id";

/** A task a WORKER-only token reports through: one its worker holds now. */
export interface ReportingTask {
  id: string;
  executionRequestId: string | null;
  /** Its attempts that ended: the one reported through is attempt `attempts + 1`. */
  attempts: number;
  /** The report named its execution request, or the token's workers hold no other task of the run: it is surely the one. */
  sole: boolean;
}

export interface ReportTarget {
  /** The run the report is about (null: none, which a WORKER-only token may not report). */
  runId: string | null;
  /** The execution request the report names, if any: it must be that of the task reported through. */
  executionRequestId?: string | null;
  /** A gate: a WORKER-only token reports only on one that names its task's execution request. */
  ownAttemptOnly?: boolean;
  /** A step being completed: who started it; a WORKER-only token completes only the steps it started. */
  startedBy?: { tokenId: string | null };
  /** Names the report in messages ("a step", "a cost" ...). */
  what: string;
}

/**
 * A WORKER-only token reports (steps, patches, gate results, costs) only
 * through a task one of the workers it registered holds now: on that task's
 * run, and, when the report names an execution request, on that task's; a
 * step only if it started it, a gate only if the gate names that task's
 * execution request (a gate naming none is the run's, for operators).
 * Anything else is FORBIDDEN, a run that does not exist included (a worker
 * token learns nothing of runs it has no part in). Returns the task (the
 * oldest held one of the run when the report names no execution request);
 * null for callers whose scope covers the fleet (operate, admin:
 * `anyWorker`), who report on any run. Runs inside the caller's
 * transaction, before it writes anything: one indexed query.
 */
export async function assertMayReport(em: EntityManager, actor: WorkerActor, target: ReportTarget): Promise<ReportingTask | null> {
  if (actor.anyWorker) return null;
  const { runId, what } = target;
  const refuse: (why: string) => never = (why) => {
    // The scope that lifts every one of these rules is named, as FORBIDDEN for a missing scope does.
    throw new DomainError('FORBIDDEN', `token "${actor.tokenName}" may not report ${what}${runId === null ? '' : ` on run ${runId}`}: ${why} (the operate scope reports on any run)`, {
      entity: 'Run',
      id: runId,
    });
  };
  if (runId === null) refuse('a WORKER-only token reports only on the run of a task its workers hold, and this names no run');
  const held = await heldTasks(em, actor, runId);
  const [first] = held;
  if (!first) refuse('none of the workers it registered holds a task of that run now');
  if (target.startedBy && target.startedBy.tokenId !== actor.tokenId) refuse('a WORKER-only token completes only the steps it started');
  const named = target.executionRequestId ?? null;
  if (named === null) {
    if (target.ownAttemptOnly) refuse("it names no execution request, so it is the run's own, which only an operate token reports");
    return { ...first, sole: held.length === 1 };
  }
  const task = held.find((t) => t.executionRequestId === named);
  if (!task) refuse(`execution request ${named} is not that of a task its workers hold now`);
  return { ...task, sole: true };
}

/**
 * A WORKER-only token watches a run's state (runStateChanged) or reads the
 * run (Query.run) only while one of the workers it registered holds a task
 * of it, as it reports: the run it works for, so that it sees a cancel; no
 * other run (one that does not exist included), and no run left unnamed.
 * Checked as the subscription starts, or before the read. Callers with a
 * scope that covers the fleet (`anyWorker`: read, operate, admin) see any run.
 */
export async function assertMaySeeRun(em: EntityManager, actor: WorkerActor, runId: string | null, how: 'watch' | 'read'): Promise<void> {
  if (actor.anyWorker) return;
  const does = how === 'watch' ? 'watches' : 'reads';
  const refuse: (why: string) => never = (why) => {
    throw new DomainError('FORBIDDEN', `token "${actor.tokenName}" may not ${how} ${runId === null ? 'every run' : `run ${runId}`}: ${why} (the read scope ${does} any run)`, {
      entity: 'Run',
      id: runId,
    });
  };
  if (runId === null) refuse(`a WORKER-only token ${does} only a run a task its workers hold belongs to, and must name it (runId)`);
  if ((await heldTasks(em, actor, runId)).length === 0) refuse('none of the workers it registered holds a task of that run now');
}

/** The tasks of the run a worker the token registered holds now, oldest first (REPORT_ACCESS_SQL). */
async function heldTasks(em: EntityManager, actor: WorkerActor, runId: string): Promise<Omit<ReportingTask, 'sole'>[]> {
  if (actor.tokenId === null) return [];
  const rows = await em.execute<{ id: string; execution_request_id: string | null; attempts: number }[]>(REPORT_ACCESS_SQL, [runId, actor.tokenId], 'all');
  return rows.map((row) => ({ id: row.id, executionRequestId: row.execution_request_id, attempts: Number(row.attempts) }));
}

import type { EntityManager } from '@mikro-orm/knex';
import { LockMode } from '@mikro-orm/core';
import type { WorkerActor } from '../auth/identity.js';
import { DomainError, badInput } from '../core/errors.js';
import type { WriteScope } from '../core/write-scope.js';
import { RunSchema, TaskSchema, type RunEventKind, type Task } from '../runs/entities.js';
import type { Worker, WorkerState } from './entities.js';
import { assertNotHalted } from '../budgets/budget-guard.js';
import { recordForRun } from '../runs/record-for-run.js';
import { cancelAttemptSteps } from '../runs/run-service.js';
import { isEndedRun } from '../runs/machines.js';
import { describeExhausted, retryDelayMs } from '../routing/backoff.js';
import { toolAttemptEnded, toolLeased } from '../routing/routing-service.js';
import { openExecutionRequest } from '../workstreams/execution-requests.js';
import { afterAttempt, onLease } from '../workstreams/scheduling.js';
import type { LiveWorkers } from './live-workers.js';
import { taskMachine } from '../runs/machines.js';
import { workerMachine } from './machines.js';

/** The latest instant a Date can hold (+275760-09-13). */
const LAST_INSTANT_MS = 8.64e15;

/** The pieces every worker and task write shares; each runs inside the caller's transaction. */

/** A `worker` token acts only for the workers it registered. */
export function assertActsFor(actor: WorkerActor, worker: Worker): void {
  if (actor.anyWorker || (actor.tokenId !== null && actor.tokenId === worker.registeredByTokenId)) return;
  throw new DomainError('FORBIDDEN', `token "${actor.tokenName}" did not register worker ${worker.id} and may not act for it`, {
    entity: 'Worker',
    id: worker.id,
  });
}

/** Keeps the in-memory view of a written worker current once the write commits. */
export function remembered(scope: WriteScope, live: LiveWorkers, worker: Worker): Worker {
  scope.afterCommit(() => live.remember(worker));
  return worker;
}

export function moveWorker(scope: WriteScope, worker: Worker, to: WorkerState, reason: string): void {
  const from = worker.state;
  workerMachine.assert(from, to, worker.id);
  worker.state = to;
  announceWorkerState(scope, worker, from, reason);
}

export function announceWorkerState(scope: WriteScope, worker: Worker, from: WorkerState | null, reason: string): void {
  scope.announce('worker.state', {
    workerId: worker.id,
    type: worker.type,
    from,
    to: worker.state,
    reason,
    at: scope.now.toISOString(),
  });
}

/** Appends a task's run event (tasks of no run have no log). */
export async function recordTaskEvent(scope: WriteScope, task: Task, kind: RunEventKind, payload: Record<string, unknown>): Promise<void> {
  if (task.runId) await recordForRun(scope, task.runId, kind, { taskId: task.id, kind: task.kind, ...payload });
}

/** Leases a pending task to a worker that has room for it. */
export async function leaseTask(scope: WriteScope, worker: Worker, task: Task): Promise<void> {
  if (task.runId) {
    const run = await scope.em.findOne(RunSchema, { id: task.runId }, { fields: ['id', 'projectId', 'haltedByBudgetId'] });
    if (run) await assertNotHalted(scope.em, run);
  }
  taskMachine.assert(task.state, 'running', task.id);
  assertHasRoom(worker);
  assertCanRun(worker, task);
  // Takes a half-open tool's trial slot, in the task's name, until this attempt ends (NO_ROUTE if the tool takes no call now).
  if (task.toolId) await toolLeased(scope, task.toolId, task.id);
  task.state = 'running';
  task.workerId = worker.id;
  task.startedAt = scope.now;
  // A timeout past the last instant a Date can hold (timeoutSeconds: 1e300) is no limit at all, not an invalid date
  // (which failed every claim of the task with an internal error, for good).
  task.deadlineAt = task.timeoutSeconds != null ? new Date(Math.min(scope.now.getTime() + task.timeoutSeconds * 1000, LAST_INSTANT_MS)) : null;
  worker.activeTasks += 1;
  worker.currentTaskId = task.id;
  if (worker.state === 'idle') moveWorker(scope, worker, 'busy', `took task ${task.id}`);
  await onLease(scope, task);
  await openExecutionRequest(scope, task);
  await recordTaskEvent(scope, task, 'task_started', { workerId: worker.id, attempt: task.attempts + 1, toolId: task.toolId ?? undefined });
}

/** A task waits for a route, or is routed to a tool the worker does not run: it may not take it. */
function assertCanRun(worker: Worker, task: Task): void {
  if (task.routeError) throw new DomainError('NO_ROUTE', `Task ${task.id} has no tool yet: ${task.routeError}`, { entity: 'Task', id: task.id });
  if (task.toolId && worker.tools.length > 0 && !worker.tools.includes(task.toolId)) {
    throw badInput('workerId', `worker ${worker.id} runs ${worker.tools.join(', ')}, not ${task.toolId}, which task ${task.id} is routed to`);
  }
}

/** Idle or busy with a free slot: anything else is refused with the worker's state. */
export function assertHasRoom(worker: Worker): void {
  if (worker.state === 'busy' && worker.activeTasks >= worker.config.max_parallel_tasks) {
    workerMachine.forbid(worker.state, worker.id, ` with ${worker.activeTasks} of ${worker.config.max_parallel_tasks} tasks and cannot take another`, {
      attemptedState: 'BUSY',
      maxParallelTasks: worker.config.max_parallel_tasks,
    });
  }
  if (worker.state !== 'busy') workerMachine.assert(worker.state, 'busy', worker.id);
}

export type AttemptEnd =
  | { outcome: 'completed'; result: Record<string, unknown> | null; executionTimeSeconds: number }
  /**
   * The attempt failed (reported by its worker: `reported`; timed out, or its worker was lost): counted, and retried
   * while attempts remain (skipped if its run has ended).
   */
  | { outcome: 'failed'; error: string; executionTimeSeconds?: number | null; reported?: boolean }
  /** The worker was paused or shut down: the task goes back without counting an attempt (skipped if its run has ended). */
  | { outcome: 'interrupted'; error: string };

/**
 * Ends a running task's attempt and appends its event; a workstream then
 * schedules what follows. Frees nothing on the worker: see releaseSlot.
 * The steps that ran in the attempt and are still RUNNING end first,
 * CANCELED (a run the attempt's end finishes then finds none left).
 */
export async function endAttempt(scope: WriteScope, task: Task, end: AttemptEnd): Promise<void> {
  await cancelAttemptSteps(scope, task, whyStepsEnd(end));
  await settleAttempt(scope, task, end);
  await afterAttempt(scope, task);
}

/** The stateReason of a step its task's attempt took with it. */
function whyStepsEnd(end: AttemptEnd): string {
  if (end.outcome === 'completed') return 'the task was completed with the step still running';
  if (end.outcome === 'failed' && end.reported) return 'the task was reported failed with the step still running';
  return `the task's attempt ended: ${end.error}`;
}

async function settleAttempt(scope: WriteScope, task: Task, end: AttemptEnd): Promise<void> {
  const workerId = task.workerId;
  task.deadlineAt = null;
  if (task.toolId) {
    const outcome = end.outcome === 'completed' ? 'success' : end.outcome === 'failed' ? 'failure' : 'interrupted';
    const seconds = end.outcome === 'interrupted' ? null : (end.executionTimeSeconds ?? null);
    // However the attempt ends, a trial slot it held on the tool is given back (or decided).
    await toolAttemptEnded(scope, task.toolId, task.id, outcome, seconds);
  }
  if (end.outcome === 'completed') {
    taskMachine.assert(task.state, 'completed', task.id);
    task.attempts += 1;
    task.state = 'completed';
    task.endedAt = scope.now;
    task.result = end.result;
    task.executionTimeSeconds = end.executionTimeSeconds;
    await recordTaskEvent(scope, task, 'task_completed', { workerId, attempt: task.attempts });
    return;
  }
  if (end.outcome === 'failed') task.attempts += 1;
  task.error = end.error;
  if (end.outcome === 'failed' && end.executionTimeSeconds != null) task.executionTimeSeconds = end.executionTimeSeconds;
  // A failed attempt is retried after its strategy's delay (none: not at all) while attempts remain.
  const delay = end.outcome === 'failed' && task.retryStrategy ? retryDelayMs(task.retryStrategy, task.attempts) : 0;
  if (end.outcome === 'failed' && (task.attempts >= task.maxAttempts || delay === null)) {
    taskMachine.assert(task.state, 'failed', task.id);
    task.state = 'failed';
    task.endedAt = scope.now;
    await recordTaskEvent(scope, task, 'task_failed', { workerId, attempts: task.attempts, error: describeExhausted(task.attempts, end.error) });
    return;
  }
  const ended = await endedRun(scope, task);
  if (ended) {
    // Its run has ended and takes no new work: rather than wait in the queue, the task is skipped.
    const reason = `run ${ended}: not retried after ${end.error}`;
    taskMachine.assert(task.state, 'skipped', task.id);
    task.state = 'skipped';
    task.workerId = null;
    task.endedAt = scope.now;
    task.error = reason;
    await recordTaskEvent(scope, task, 'task_skipped', { workerId, attempts: task.attempts, counted: end.outcome === 'failed', reason });
    return;
  }
  taskMachine.assert(task.state, 'pending', task.id);
  task.state = 'pending';
  task.workerId = null;
  task.nextAttemptAt = delay ? new Date(scope.now.getTime() + delay) : null;
  await recordTaskEvent(scope, task, 'task_requeued', {
    workerId,
    attempts: task.attempts,
    counted: end.outcome === 'failed',
    error: end.error,
    ...(task.nextAttemptAt ? { nextAttemptAt: task.nextAttemptAt.toISOString() } : {}),
  });
}

/** The state of the task's run when that run has ended (succeeded, failed, canceled, quarantined); null otherwise, or without a run. */
async function endedRun(scope: WriteScope, task: Task): Promise<string | null> {
  if (!task.runId) return null;
  const run = await scope.em.findOne(RunSchema, { id: task.runId });
  return run && isEndedRun(run.state) ? run.state : null;
}

/** The worker no longer holds `task`: one slot frees, and with none left it is idle again. */
export async function releaseSlot(scope: WriteScope, worker: Worker, task: Task, reason: string): Promise<void> {
  worker.activeTasks = Math.max(0, worker.activeTasks - 1);
  if (worker.currentTaskId === task.id) {
    const other = worker.activeTasks > 0 ? await heldTasks(scope.em, worker.id, task.id) : [];
    worker.currentTaskId = other.at(-1)?.id ?? null;
  }
  if (worker.activeTasks === 0 && worker.state === 'busy') moveWorker(scope, worker, 'idle', reason);
}

/** Every task the worker holds, oldest lease first. */
export function heldTasks(em: EntityManager, workerId: string, except?: string): Promise<Task[]> {
  return em.find(TaskSchema, { workerId, state: 'running', ...(except ? { id: { $ne: except } } : {}) }, { orderBy: { startedAt: 'asc', id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** A worker that stops, crashes or pauses hands back everything it holds. */
export async function releaseAll(scope: WriteScope, worker: Worker, end: AttemptEnd & { outcome: 'failed' | 'interrupted' }): Promise<void> {
  for (const task of await heldTasks(scope.em, worker.id)) await endAttempt(scope, task, end);
  worker.activeTasks = 0;
  worker.currentTaskId = null;
}

import type { FilterQuery } from '@mikro-orm/core';
import type { WorkerActor } from '../auth/identity.js';
import { badInput, notFound } from '../core/errors.js';
import { ulidTime } from '../core/ids.js';
import { TEXT_LIMIT, jsonObject, optionalInt, optionalText, requireText } from '../core/validate.js';
import { lockRow } from '../core/lock-row.js';
import type { Transact } from '../core/write-scope.js';
import type { ContractRegistry } from '../contracts/registry.js';
import { RunSchema, TaskSchema, type Task } from '../runs/entities.js';
import { WorkerSchema, type Worker } from './entities.js';
import { queueLockMode } from '../db/orm.js';
import { assertNotHalted, haltedRunsWithPendingTasks } from '../budgets/budget-guard.js';
import { isEndedRun, runMachine, taskMachine } from '../runs/machines.js';
import { routeTask, toolAdmits } from '../routing/routing-service.js';
import { claimableWhere } from '../workstreams/scheduling.js';
import type { LiveWorkers } from './live-workers.js';
import { workerMachine } from './machines.js';
import { assertActsFor, assertHasRoom, endAttempt, heldTasks, leaseTask, recordTaskEvent, releaseSlot, remembered } from './worker-writes.js';

export const DEFAULT_MAX_ATTEMPTS = 3;
const MAX_ATTEMPTS_LIMIT = 100;
const MAX_KINDS = 50;
/** How many tasks routed to a tool that takes no call now one claim routes again before it just passes that tool's tasks over. */
const REROUTES_PER_CLAIM = 50;

export interface CreateTaskInput {
  kind: string;
  runId?: string | null;
  payload?: unknown;
  maxAttempts?: number | null;
  timeoutSeconds?: number | null;
}

export interface CompleteTaskInput {
  workerId: string;
  /** Needed only when the worker holds more than one task. */
  taskId?: string | null;
  success: boolean;
  executionTimeSeconds?: number | null;
  result?: unknown;
  error?: string | null;
}

export interface TaskAndWorker {
  task: Task;
  worker: Worker;
}

/** After routing again: the task has a route, to a tool this worker runs (or names none). */
function canTake(worker: Worker, task: Task): boolean {
  return !task.routeError && (!task.toolId || worker.tools.length === 0 || worker.tools.includes(task.toolId));
}

/** The most seconds one attempt may report having taken. */
const MAX_EXECUTION_SECONDS = 1e9;

/** The task queue: tasks wait until a worker claims (or is assigned) one, and each lease ends exactly once. */
export class TaskQueue {
  constructor(
    private readonly transact: Transact,
    private readonly live: LiveWorkers,
    private readonly contracts: ContractRegistry,
  ) {}

  async create(input: CreateTaskInput): Promise<Task> {
    const kind = requireText('kind', input.kind);
    const payload = jsonObject('payload', input.payload);
    // The worker reads payload.inputs as a workstream task's task_spec inputs: the same shape and bounds either way.
    if (Object.hasOwn(payload, 'inputs')) this.contracts.check('payload.inputs', 'task_spec', payload.inputs, '#/$defs/inputs');
    const maxAttempts = optionalInt('maxAttempts', input.maxAttempts) ?? DEFAULT_MAX_ATTEMPTS;
    if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) throw badInput('maxAttempts', `must be from 1 to ${MAX_ATTEMPTS_LIMIT}`);
    const timeoutSeconds = input.timeoutSeconds ?? null;
    if (timeoutSeconds !== null && !(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
      throw badInput('timeoutSeconds', 'must be more than 0');
    }
    return this.transact(async (scope) => {
      if (input.runId != null) {
        const run = await scope.em.findOne(RunSchema, { id: input.runId }, { fields: ['id', 'projectId', 'haltedByBudgetId', 'state'] });
        if (!run) throw notFound('Run', input.runId);
        await assertNotHalted(scope.em, run);
        // An ended run takes no new work: such a task would wait PENDING, claimable, for a run that is over.
        if (isEndedRun(run.state)) runMachine.forbid(run.state, run.id, ' and takes no new task');
      }
      const id = scope.newId();
      const task = scope.em.create(TaskSchema, {
        id,
        kind,
        runId: input.runId ?? null,
        state: 'pending',
        payload,
        attempts: 0,
        maxAttempts,
        timeoutSeconds,
        createdAt: new Date(ulidTime(id)),
        dependsOn: [],
        unmetDependencies: 0,
      });
      scope.em.persist(task);
      await recordTaskEvent(scope, task, 'task_created', { maxAttempts });
      return task;
    });
  }

  /**
   * Leases the oldest pending task (of the given kinds, of the given run) to
   * the worker, or returns null when none is ready. Tasks of runs a HALT
   * budget stopped are never leased and never stand in the way of others; a
   * claim for one such run is refused with BUDGET_EXCEEDED. The task is read and leased in one
   * transaction under the database's write lock (SQLite has one writer;
   * on PostgreSQL the row lock with SKIP LOCKED lets concurrent claims pass
   * each other), so however many workers claim at once, a task is leased
   * to one of them. `routedOnly`: tasks not routed to any tool (createTask's,
   * which name none) are not for this worker either (claimableWhere).
   */
  async claim(actor: WorkerActor, input: { workerId: string; kinds?: readonly string[] | null; runId?: string | null; routedOnly?: boolean | null }): Promise<TaskAndWorker | null> {
    const kinds = (input.kinds ?? []).map((kind, i) => requireText(`kinds[${i}]`, kind));
    if (kinds.length > MAX_KINDS) throw badInput('kinds', `may name at most ${MAX_KINDS} kinds`);
    const runId = input.runId ?? null;
    return this.transact(async (scope) => {
      const worker = await lockRow(scope.em, WorkerSchema, input.workerId);
      assertActsFor(actor, worker);
      assertHasRoom(worker);
      if (runId !== null) {
        const run = await scope.em.findOne(RunSchema, { id: runId }, { fields: ['id', 'projectId', 'haltedByBudgetId'] });
        if (!run) throw notFound('Run', runId);
        await assertNotHalted(scope.em, run);
      }
      const ready = await claimableWhere(scope.em, worker, scope.now, input.routedOnly ?? false);
      const halted = runId === null ? await haltedRunsWithPendingTasks(scope.em) : [];
      const where = {
        $and: [
          ready,
          { state: 'pending', ...(kinds.length > 0 ? { kind: { $in: kinds } } : {}), ...(runId !== null ? { runId } : {}) },
          ...(halted.length > 0 ? [{ $or: [{ runId: null }, { runId: { $nin: halted } }] }] : []),
        ],
      } as FilterQuery<Task>;
      // A task whose tool takes no call now (its breaker opened, or a half-open tool's trial call is taken) is routed again,
      // passing that tool over; one this worker cannot run then is left for others and the next task is tried. Past
      // REROUTES_PER_CLAIM such tasks, the rest of that tool's tasks are just passed over (later claims route them again),
      // so that one claim never reroutes a whole backlog. Every turn leases, or rules out a task or a tool: the loop ends.
      const passedOver: string[] = [];
      const blockedTools = new Set<string>();
      let reroutes = 0;
      for (;;) {
        const query = {
          $and: [where, ...(passedOver.length > 0 ? [{ id: { $nin: passedOver } }] : []), ...(blockedTools.size > 0 ? [{ $or: [{ toolId: null }, { toolId: { $nin: [...blockedTools] } }] }] : [])],
        } as FilterQuery<Task>;
        const task = await scope.em.findOne(TaskSchema, query, { orderBy: { id: 'asc' }, lockMode: queueLockMode(scope.em) });
        if (!task) return null;
        if (task.toolId && !(await toolAdmits(scope, task.toolId))) {
          if (reroutes >= REROUTES_PER_CLAIM) {
            blockedTools.add(task.toolId);
            continue;
          }
          reroutes += 1;
          await routeTask(scope, task);
          if (!canTake(worker, task) || (task.toolId && !(await toolAdmits(scope, task.toolId)))) {
            passedOver.push(task.id);
            continue;
          }
        }
        await leaseTask(scope, worker, task);
        return { task, worker: remembered(scope, this.live, worker) };
      }
    });
  }

  /** An operator hands a particular pending task to a worker. */
  async assign(actor: WorkerActor, input: { workerId: string; taskId: string }): Promise<TaskAndWorker> {
    return this.transact(async (scope) => {
      const worker = await lockRow(scope.em, WorkerSchema, input.workerId);
      assertActsFor(actor, worker);
      const task = await lockRow(scope.em, TaskSchema, input.taskId);
      await leaseTask(scope, worker, task);
      return { task, worker: remembered(scope, this.live, worker) };
    });
  }

  /**
   * Ends the worker's task: success completes it; failure counts the
   * attempt and puts it back for another worker while attempts remain.
   * Either way the worker's statistics take the execution time, and a
   * worker with nothing left to do is idle again.
   */
  async complete(actor: WorkerActor, input: CompleteTaskInput): Promise<TaskAndWorker> {
    const error = optionalText('error', input.error, TEXT_LIMIT);
    const result = input.result == null ? null : jsonObject('result', input.result);
    const reported = input.executionTimeSeconds ?? null;
    // Bounded (about 31 years) so that the worker's total stays a finite number (1e308 twice made it Infinity, a failed write).
    if (reported !== null && !(Number.isFinite(reported) && reported >= 0 && reported <= MAX_EXECUTION_SECONDS)) {
      throw badInput('executionTimeSeconds', `must be from 0 to ${MAX_EXECUTION_SECONDS}`);
    }
    return this.transact(async (scope) => {
      const worker = await lockRow(scope.em, WorkerSchema, input.workerId);
      assertActsFor(actor, worker);
      const task = await this.heldTask(scope.em, worker, input.taskId ?? null);
      const executionTimeSeconds = reported ?? Math.max(0, (scope.now.getTime() - task.startedAt!.getTime()) / 1000);
      if (input.success) {
        await endAttempt(scope, task, { outcome: 'completed', result, executionTimeSeconds });
        worker.tasksCompleted += 1;
      } else {
        await endAttempt(scope, task, { outcome: 'failed', error: error ?? 'the worker reported a failure', executionTimeSeconds, reported: true });
        worker.tasksFailed += 1;
      }
      worker.totalExecutionTime += executionTimeSeconds;
      await releaseSlot(scope, worker, task, `${input.success ? 'completed' : 'failed'} task ${task.id}`);
      return { task, worker: remembered(scope, this.live, worker) };
    });
  }

  /** The task a completion refers to: the one named, or the only one the worker holds. */
  private async heldTask(em: Parameters<typeof heldTasks>[0], worker: Worker, taskId: string | null): Promise<Task> {
    if (worker.state !== 'busy') workerMachine.forbid(worker.state, worker.id, ' and holds no task to complete', { attemptedState: 'IDLE' });
    if (taskId !== null) {
      const task = await lockRow(em, TaskSchema, taskId);
      if (task.state !== 'running' || task.workerId !== worker.id) taskMachine.forbid(task.state, task.id, ` and not held by worker ${worker.id}`);
      return task;
    }
    const held = await heldTasks(em, worker.id);
    if (held.length > 1) throw badInput('taskId', `worker ${worker.id} holds ${held.length} tasks: name the one that ended`);
    const [task] = held;
    if (!task) throw new Error(`worker ${worker.id} is busy but holds no task`);
    return task;
  }
}

import type { Task } from '../engine/runs/entities.js';
import type { Worker } from '../engine/workers/entities.js';
import type { WorkerSummary } from '../engine/workers/worker-queries.js';
import type { WorkerHeartbeat, WorkerStateChange } from '../engine/workers/worker-service.js';
import { builder } from './builder.js';
import { capList, TASK_LINKS_CAP } from './list-size.js';
import { RunRef } from './runs.js';
import { BEYOND_TASK, BEYOND_TASK_NOTE } from './task-scope.js';

export const WorkerTypeEnum = builder.enumType('WorkerType', {
  description: 'The role a worker declares when it registers (worker_type). The gateway records it and filters on it; every type may take any task.',
  values: {
    EXECUTOR: { value: 'executor', description: 'Declares that it executes tasks.' },
    MONITOR: { value: 'monitor', description: 'Declares that it monitors other work.' },
    VALIDATOR: { value: 'validator', description: 'Declares that it validates results.' },
    SCHEDULER: { value: 'scheduler', description: 'Declares that it schedules work.' },
    CUSTOM: { value: 'custom', description: 'Any other role (describe it in metadata).' },
  } as const,
});

export const WorkerStateEnum = builder.enumType('WorkerState', {
  description:
    "A worker's state (docs/domain.md#workers): IDLE -> BUSY, PAUSED, STOPPED or CRASHED; BUSY -> IDLE, PAUSED, STOPPED or CRASHED; " +
    'PAUSED -> IDLE, STOPPED or CRASHED; STOPPED and CRASHED are final.',
  values: {
    IDLE: { value: 'idle', description: 'Holds no task and may claim or be assigned one (a new worker starts here).' },
    BUSY: {
      value: 'busy',
      description: 'Holds at least one task (at most config.maxParallelTasks); IDLE again once it holds none.',
    },
    PAUSED: {
      value: 'paused',
      description: 'Takes no task until resumeWorker; the tasks it held went back to the queue when it was paused.',
    },
    STOPPED: { value: 'stopped', description: 'Shut down by shutdownWorker (stoppedAt set); final: it can no longer heartbeat or take tasks.' },
    CRASHED: {
      value: 'crashed',
      description: 'Crashed (crashWorker) or found by the reaper with a lost heartbeat; final, and crashInfo says why.',
    },
  } as const,
});

export const TaskStateEnum = builder.enumType('TaskState', {
  description:
    "A task's state: PENDING -> RUNNING (leased) or SKIPPED; RUNNING -> COMPLETED, FAILED, PENDING again for another attempt, " +
    'or SKIPPED when an attempt ends without success after its run ended; COMPLETED, FAILED and SKIPPED are final.',
  values: {
    PENDING: { value: 'pending', description: 'Waiting for a worker (first attempt, or a retry).' },
    RUNNING: { value: 'running', description: 'Leased to a worker, which reports its end with completeTask.' },
    COMPLETED: { value: 'completed', description: 'Its worker reported success (completeTask with success: true).' },
    FAILED: {
      value: 'failed',
      description: 'Failed for good: an attempt failed with no attempts left (maxAttempts), or with retry_strategy none.',
    },
    SKIPPED: {
      value: 'skipped',
      description:
        'Will never run (again): a dependency failed for good, its workstream stopped, or its run ended while it waited; ' +
        'or its run ended while an attempt ran and that attempt failed or was handed back (no retry in an ended run).',
    },
  } as const,
});

export const WorkerRef = builder.objectRef<Worker>('Worker');
export const TaskRef = builder.objectRef<Task>('Task');

const CrashInfoRef = builder.objectRef<NonNullable<Worker['crashInfo']>>('CrashInfo').implement({
  description: 'Why and when a worker crashed: reported by crashWorker, or written by the reaper when its heartbeat was lost.',
  fields: (t) => ({
    crashedAt: t.field({ type: 'DateTime', description: 'When it was marked CRASHED.', resolve: (c) => new Date(c.crashed_at) }),
    errorMessage: t.string({
      description: "The error crashWorker reported; for a lost heartbeat, 'heartbeat lost: ...' with how long it was silent and its timeout.",
      resolve: (c) => c.error_message,
    }),
    stackTrace: t.string({
      nullable: true,
      description: 'The stack trace crashWorker reported; null when none was given (always for a lost heartbeat).',
      resolve: (c) => c.stack_trace ?? null,
    }),
  }),
});

const WorkerStatisticsRef = builder.objectRef<Worker>('WorkerStatistics').implement({
  description: 'What a worker reported through completeTask. Tasks that timed out, or that it lost by crashing, pausing or shutting down, are not counted.',
  fields: (t) => ({
    tasksCompleted: t.exposeInt('tasksCompleted', { description: 'Tasks it reported as completed (completeTask with success: true).' }),
    tasksFailed: t.exposeInt('tasksFailed', {
      description: 'Failed attempts it reported (completeTask with success: false), including those that were retried.',
    }),
    totalExecutionTime: t.exposeFloat('totalExecutionTime', {
      description: 'Seconds spent on the attempts it reported, completed or failed (as reported, or measured from the lease).',
    }),
    avgTaskDuration: t.float({
      description: 'Seconds: totalExecutionTime / (tasksCompleted + tasksFailed); 0 when it has finished none.',
      resolve: (w) => averageTaskDuration(w),
    }),
  }),
});

export function averageTaskDuration(worker: Pick<Worker, 'tasksCompleted' | 'tasksFailed' | 'totalExecutionTime'>): number {
  const finished = worker.tasksCompleted + worker.tasksFailed;
  return finished === 0 ? 0 : worker.totalExecutionTime / finished;
}

const WorkerConfigRef = builder.objectRef<Worker>('WorkerConfig').implement({
  description: 'The worker_lifecycle config given at registration, with the server defaults where none was given.',
  fields: (t) => ({
    maxParallelTasks: t.int({
      description: 'Tasks it may hold at once (1..1000; 1 when not given at registration).',
      resolve: (w) => w.config.max_parallel_tasks,
    }),
    heartbeatInterval: t.float({
      nullable: true,
      description: 'Seconds between its heartbeats, as the worker declared it (informational: staleness uses timeoutSeconds); null when not given.',
      resolve: (w) => w.config.heartbeat_interval ?? null,
    }),
    timeoutSeconds: t.float({
      description: 'Seconds without a heartbeat before it is stale: the configured value, or the server default (60).',
      resolve: (w) => w.timeoutSeconds,
    }),
  }),
});

builder.node(WorkerRef, {
  description: 'A process that executes tasks (docs/domain.md#workers): it registers, heartbeats, and claims and completes tasks; the reaper crashes it when it falls silent.',
  id: {
    resolve: (worker) => worker.id,
    description: 'Opaque global id: pass it to worker(id:), node(id:), or as workerId or id to the worker and task mutations.',
  },
  loadOne: (id, ctx) => ctx.loaders.worker.load(id),
  fields: (t) => ({
    type: t.expose('type', { type: WorkerTypeEnum, description: 'The role it declared at registration.' }),
    state: t.expose('state', { type: WorkerStateEnum, description: 'Where it is in the worker lifecycle.' }),
    currentTask: t.field({
      type: TaskRef,
      nullable: true,
      description: 'The task it leased last among those it holds; null when it holds none.',
      resolve: (w, _, ctx) => (w.currentTaskId ? ctx.loaders.task.load(w.currentTaskId) : null),
    }),
    activeTaskCount: t.exposeInt('activeTasks', { description: 'Tasks it holds now (at most config.maxParallelTasks; 0 unless BUSY).' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      description: 'When it registered; until its first heartbeat, staleness is counted from here.',
    }),
    lastHeartbeat: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When its latest heartbeat arrived (including one not yet written to the database); null before its first.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).lastHeartbeat,
    }),
    progress: t.float({
      nullable: true,
      description: 'Progress (0..100) its latest heartbeat reported; null when that heartbeat gave none, or before its first.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).progress,
    }),
    stale: t.boolean({
      description: 'True when it is live (IDLE, BUSY or PAUSED) but silent for longer than config.timeoutSeconds; the reaper marks such a worker CRASHED on a later pass.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).stale,
    }),
    secondsSinceHeartbeat: t.float({
      nullable: true,
      description: 'Seconds since its latest heartbeat; null before its first.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).secondsSinceHeartbeat,
    }),
    stoppedAt: t.expose('stoppedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When shutdownWorker stopped it; null unless STOPPED (a crash sets crashInfo instead).',
    }),
    crashInfo: t.field({ type: CrashInfoRef, nullable: true, description: 'Why and when it crashed; null unless CRASHED.', resolve: (w) => w.crashInfo ?? null }),
    statistics: t.field({
      type: WorkerStatisticsRef,
      description: 'The tasks it reported as completed or failed, and the time it spent on them.',
      resolve: (w) => w,
    }),
    config: t.field({ type: WorkerConfigRef, description: 'Its parallelism and heartbeat settings.', resolve: (w) => w }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'The JSON object given at registration ({} when none was).' }),
    tools: t.exposeStringList('tools', {
      description: 'The tools (router configuration app ids) it runs: it may take only tasks routed to one of them, or not routed (unless it claims with routedOnly). Empty: any tool.',
    }),
  }),
});

builder.node(TaskRef, {
  description: 'A unit of work in the queue (from createTask or a submitted workstream): PENDING until a worker claims it or is assigned it, then leased to that worker.',
  id: {
    resolve: (task) => task.id,
    description: 'Opaque global id: pass it to task(id:), node(id:), or as taskId to assignTask and completeTask.',
  },
  loadOne: (id, ctx) => ctx.loaders.task.load(id),
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'What kind of work it is; claimTask(kinds:) and the tasks filter match it exactly.' }),
    state: t.expose('state', { type: TaskStateEnum, description: 'Where it is in the task lifecycle.' }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: 'The run it belongs to (its changes are logged as run events); null when it belongs to none.',
      resolve: (task, _, ctx) => (task.runId ? ctx.loaders.run.load(task.runId) : null),
    }),
    worker: t.field({
      type: WorkerRef,
      nullable: true,
      description: 'The worker holding it (RUNNING) or that ran its final attempt (COMPLETED, FAILED); null while PENDING or SKIPPED.',
      resolve: (task, _, ctx) => (task.workerId ? ctx.loaders.worker.load(task.workerId) : null),
    }),
    payload: t.expose('payload', { type: 'JSON', description: 'The JSON object handed to the worker ({} when none was given).' }),
    attempts: t.exposeInt('attempts', {
      description: 'Counted attempts that ended: completed, failed, timed out, or lost with a crashed worker (not those handed back by a pause or shutdown).',
    }),
    maxAttempts: t.exposeInt('maxAttempts', {
      description: 'Counted attempts allowed: a failed attempt that reaches it fails the task for good (3 by default for createTask).',
    }),
    timeoutSeconds: t.exposeFloat('timeoutSeconds', {
      nullable: true,
      description: 'Seconds one attempt may run before the reaper takes it back as a failed attempt; null: no limit.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was queued.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When its latest attempt started (was leased); null before its first.',
    }),
    deadlineAt: t.expose('deadlineAt', {
      type: 'DateTime',
      nullable: true,
      description: 'While RUNNING with a timeout: when the reaper takes it back; null otherwise.',
    }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it became COMPLETED, FAILED or SKIPPED; null before.' }),
    result: t.expose('result', {
      type: 'JSON',
      nullable: true,
      description: 'The JSON object its worker reported with success; null unless it completed with one.',
    }),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why its latest failed or handed-back attempt ended (kept after a later success), or why it was skipped; null if none.',
    }),
    executionTimeSeconds: t.exposeFloat('executionTimeSeconds', {
      nullable: true,
      description: 'Seconds its latest completed, failed or timed-out attempt took (as reported, or measured from the lease); null before one.',
    }),
    attempt: t.int({
      description: 'The attempt it is on (running) or would start next (pending); the last one made once it has ended.',
      resolve: (task) => (task.state === 'pending' || task.state === 'running' ? task.attempts + 1 : task.attempts),
    }),
    name: t.exposeString('name', { nullable: true, description: "A workstream task's name; null for a task from createTask." }),
    specTaskId: t.exposeString('specTaskId', { nullable: true, description: "A workstream task's task_id; null for a task from createTask." }),
    level: t.exposeInt('level', {
      nullable: true,
      description: "Its level in its workstream's execution order; null for a task from createTask.",
    }),
    ready: t.boolean({
      description: 'PENDING with every dependency completed. A worker can claim it once, besides, any retry delay (nextAttemptAt) has passed, it has a route, and its workstream has a free slot.',
      resolve: (task) => task.state === 'pending' && task.unmetDependencies === 0,
    }),
    dependsOn: t.field({
      type: [TaskRef],
      description: `The tasks it waits for, completed or not (workstream tasks only; empty otherwise); the first ${TASK_LINKS_CAP}. ${BEYOND_TASK_NOTE}`,
      authScopes: BEYOND_TASK,
      extensions: { listSize: TASK_LINKS_CAP },
      resolve: async (task, _, ctx) => capList(await loadTasks(ctx, task.dependsOn), TASK_LINKS_CAP),
    }),
    nextAttemptAt: t.expose('nextAttemptAt', {
      type: 'DateTime',
      nullable: true,
      description: 'After a failed attempt with a retry delay: no worker can claim it before this; null when it may be claimed at once.',
    }),
    toolId: t.exposeString('toolId', { nullable: true, description: 'The tool the router chose; only a worker that runs it may claim the task.' }),
    routeError: t.exposeString('routeError', { nullable: true, description: 'Why no tool could be chosen: the task waits until one can.' }),
    blockedBy: t.field({
      type: [TaskRef],
      description: `The dependencies it still waits for (not completed); the first ${TASK_LINKS_CAP}. ${BEYOND_TASK_NOTE}`,
      authScopes: BEYOND_TASK,
      extensions: { listSize: TASK_LINKS_CAP },
      resolve: async (task, _, ctx) =>
        capList(
          (await loadTasks(ctx, task.dependsOn)).filter((d) => d.state !== 'completed'),
          TASK_LINKS_CAP,
        ),
    }),
    dependents: t.field({
      type: [TaskRef],
      description: `The tasks of its workstream that depend on it; the first ${TASK_LINKS_CAP}. ${BEYOND_TASK_NOTE}`,
      authScopes: BEYOND_TASK,
      extensions: { listSize: TASK_LINKS_CAP },
      resolve: async (task, _, ctx) =>
        task.workstreamId
          ? capList(
              (await ctx.loaders.workstreamTasks.load(task.workstreamId)).filter((t) => t.dependsOn.includes(task.id)),
              TASK_LINKS_CAP,
            )
          : [],
    }),
  }),
});

async function loadTasks(ctx: { loaders: { task: { loadMany(ids: readonly string[]): Promise<(Task | null | Error)[]> } } }, ids: string[]): Promise<Task[]> {
  return (await ctx.loaders.task.loadMany(ids)).filter((t): t is Task => t !== null && !(t instanceof Error));
}

export const WorkerHeartbeatRef = builder.objectRef<WorkerHeartbeat>('WorkerHeartbeat').implement({
  description: 'One heartbeat, as workerHeartbeats delivers it.',
  fields: (t) => ({
    worker: t.field({ type: WorkerRef, description: 'The worker that sent it, as the server knows it now.', resolve: (h) => h.worker }),
    at: t.expose('at', { type: 'DateTime', description: 'When the server received it.' }),
    progress: t.exposeFloat('progress', { nullable: true, description: 'The progress (0..100) it reported; null when it gave none.' }),
  }),
});

export const WorkerStateChangeRef = builder.objectRef<WorkerStateChange>('WorkerStateChange').implement({
  description: 'A worker registered or changed state, as workerStateChanged delivers it.',
  fields: (t) => ({
    worker: t.field({ type: WorkerRef, description: 'The worker, as the server knows it now.', resolve: (c) => c.worker }),
    from: t.expose('from', { type: WorkerStateEnum, nullable: true, description: 'The state it left; null when the worker has just registered.' }),
    to: t.expose('to', { type: WorkerStateEnum, description: 'The state it entered (IDLE for a registration).' }),
    reason: t.exposeString('reason', {
      description:
        "Why, in words: 'registered', 'paused', 'resumed', 'shut down', 'took task ...', 'completed task ...', 'failed task ...', " +
        "'task ... timed out', a crash's error message, or 'heartbeat lost: ...' from the reaper.",
    }),
    at: t.expose('at', { type: 'DateTime', description: 'When it changed.' }),
  }),
});

const StateCountRef = builder.objectRef<WorkerSummary['byState'][number]>('WorkerStateCount').implement({
  description: 'How many workers are in one state.',
  fields: (t) => ({
    state: t.expose('state', { type: WorkerStateEnum, description: 'The state counted.' }),
    count: t.exposeInt('count', { description: 'Workers in that state (at least 1).' }),
  }),
});
const TypeCountRef = builder.objectRef<WorkerSummary['byType'][number]>('WorkerTypeCount').implement({
  description: 'How many workers are of one type.',
  fields: (t) => ({
    type: t.expose('type', { type: WorkerTypeEnum, description: 'The type counted.' }),
    count: t.exposeInt('count', { description: 'Workers of that type, in any state (at least 1).' }),
  }),
});

export const WorkerSummaryRef = builder.objectRef<WorkerSummary>('WorkerSummary').implement({
  description: 'Counts over every registered worker, STOPPED and CRASHED ones included.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Workers registered, in any state.' }),
    stale: t.exposeInt('stale', {
      description: 'Live workers (IDLE, BUSY, PAUSED) past their heartbeat timeout that the reaper has not crashed yet.',
    }),
    byState: t.field({ type: [StateCountRef], description: 'States with at least one worker.', resolve: (s) => s.byState }),
    byType: t.field({ type: [TypeCountRef], description: 'Types with at least one worker.', resolve: (s) => s.byType }),
  }),
});

export const WorkerFilterInput = builder.inputType('WorkerFilter', {
  description: 'Narrows a list of workers: each condition given must hold; those left out do not filter.',
  fields: (t) => ({
    states: t.field({ type: [WorkerStateEnum], description: 'Only workers in one of these states.' }),
    types: t.field({ type: [WorkerTypeEnum], description: 'Only workers of one of these types.' }),
    stale: t.boolean({
      description: 'true: only stale workers (see Worker.stale); false: only workers that are not stale, STOPPED and CRASHED ones included.',
    }),
  }),
});

export const TaskFilterInput = builder.inputType('TaskFilter', {
  description: 'Narrows a list of tasks: each condition given must hold; those left out do not filter.',
  fields: (t) => ({
    states: t.field({ type: [TaskStateEnum], description: 'Only tasks in one of these states.' }),
    kinds: t.stringList({ description: 'Only tasks of one of these kinds (exact match).' }),
    runId: t.id({ description: 'Only tasks of this run (a Run id).' }),
    workerId: t.id({ description: 'Only tasks this worker holds or ran last (a Worker id). Required for a WORKER-only token, which must have registered it.' }),
  }),
});

export const WorkerConfigInput = builder.inputType('WorkerConfigInput', {
  description: 'The worker_lifecycle config; every field is optional. A value out of range is BAD_USER_INPUT.',
  fields: (t) => ({
    maxParallelTasks: t.int({ description: 'Tasks it may hold at once, 1..1000; 1 when not given.' }),
    heartbeatInterval: t.float({
      description:
        'Seconds between its heartbeats, more than 0 and at most 86400 (informational), and below the timeout in force: timeoutSeconds, or 60 when that is not given; ' +
        'BAD_USER_INPUT otherwise, as the worker would turn stale between beats.',
    }),
    timeoutSeconds: t.float({
      description: 'Seconds without a heartbeat before it is stale and the reaper crashes it, more than 0 and at most 86400; 60 when not given.',
    }),
  }),
});

import type { Task, Worker } from '../engine/db/entities.js';
import type { WorkerSummary } from '../engine/workers/worker-queries.js';
import type { WorkerHeartbeat, WorkerStateChange } from '../engine/workers/worker-service.js';
import { builder } from './builder.js';
import { RunRef } from './runs.js';

export const WorkerTypeEnum = builder.enumType('WorkerType', {
  values: {
    EXECUTOR: { value: 'executor' },
    MONITOR: { value: 'monitor' },
    VALIDATOR: { value: 'validator' },
    SCHEDULER: { value: 'scheduler' },
    CUSTOM: { value: 'custom' },
  } as const,
});

export const WorkerStateEnum = builder.enumType('WorkerState', {
  values: {
    IDLE: { value: 'idle' },
    BUSY: { value: 'busy' },
    PAUSED: { value: 'paused' },
    STOPPED: { value: 'stopped' },
    CRASHED: { value: 'crashed' },
  } as const,
});

export const TaskStateEnum = builder.enumType('TaskState', {
  values: {
    PENDING: { value: 'pending', description: 'Waiting for a worker.' },
    RUNNING: { value: 'running', description: 'Leased to a worker.' },
    COMPLETED: { value: 'completed' },
    FAILED: { value: 'failed', description: 'Failed on its last allowed attempt.' },
    SKIPPED: { value: 'skipped', description: 'Never ran: a dependency failed for good, or its workstream stopped.' },
  } as const,
});

export const WorkerRef = builder.objectRef<Worker>('Worker');
export const TaskRef = builder.objectRef<Task>('Task');

const CrashInfoRef = builder.objectRef<NonNullable<Worker['crashInfo']>>('CrashInfo').implement({
  fields: (t) => ({
    crashedAt: t.field({ type: 'DateTime', resolve: (c) => new Date(c.crashed_at) }),
    errorMessage: t.string({ resolve: (c) => c.error_message }),
    stackTrace: t.string({ nullable: true, resolve: (c) => c.stack_trace ?? null }),
  }),
});

const WorkerStatisticsRef = builder.objectRef<Worker>('WorkerStatistics').implement({
  fields: (t) => ({
    tasksCompleted: t.exposeInt('tasksCompleted'),
    tasksFailed: t.exposeInt('tasksFailed', { description: 'Tasks this worker reported as failed.' }),
    totalExecutionTime: t.exposeFloat('totalExecutionTime', { description: 'Seconds.' }),
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
  fields: (t) => ({
    maxParallelTasks: t.int({ resolve: (w) => w.config.max_parallel_tasks }),
    heartbeatInterval: t.float({ nullable: true, description: 'Seconds, as the worker declared it.', resolve: (w) => w.config.heartbeat_interval ?? null }),
    timeoutSeconds: t.float({
      description: 'Heartbeat timeout in force: the configured one, or the server default (60 s).',
      resolve: (w) => w.timeoutSeconds,
    }),
  }),
});

builder.node(WorkerRef, {
  description: 'A process that executes tasks (DOMAIN.md 2).',
  id: { resolve: (worker) => worker.id },
  loadOne: (id, ctx) => ctx.loaders.worker.load(id),
  fields: (t) => ({
    type: t.expose('type', { type: WorkerTypeEnum }),
    state: t.expose('state', { type: WorkerStateEnum }),
    currentTask: t.field({
      type: TaskRef,
      nullable: true,
      description: 'The task it took last among those it holds.',
      resolve: (w, _, ctx) => (w.currentTaskId ? ctx.loaders.task.load(w.currentTaskId) : null),
    }),
    activeTaskCount: t.exposeInt('activeTasks', { description: 'Tasks it holds now (at most config.maxParallelTasks).' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    lastHeartbeat: t.field({ type: 'DateTime', nullable: true, resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).lastHeartbeat }),
    progress: t.float({
      nullable: true,
      description: 'Progress (0..100) its latest heartbeat reported for its current task.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).progress,
    }),
    stale: t.boolean({
      description: 'Alive (idle, busy or paused) but silent for longer than its timeout; the reaper will mark it crashed.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).stale,
    }),
    secondsSinceHeartbeat: t.float({
      nullable: true,
      description: 'Null before its first heartbeat.',
      resolve: (w, _, ctx) => ctx.engine.workerQueries.liveness(w).secondsSinceHeartbeat,
    }),
    stoppedAt: t.expose('stoppedAt', { type: 'DateTime', nullable: true }),
    crashInfo: t.field({ type: CrashInfoRef, nullable: true, resolve: (w) => w.crashInfo ?? null }),
    statistics: t.field({ type: WorkerStatisticsRef, resolve: (w) => w }),
    config: t.field({ type: WorkerConfigRef, resolve: (w) => w }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    tools: t.exposeStringList('tools', { description: 'The tools it runs; empty: any.' }),
  }),
});

builder.node(TaskRef, {
  description: 'A unit of work in the queue: pending until a worker claims it, then leased to that worker.',
  id: { resolve: (task) => task.id },
  loadOne: (id, ctx) => ctx.loaders.task.load(id),
  fields: (t) => ({
    kind: t.exposeString('kind'),
    state: t.expose('state', { type: TaskStateEnum }),
    run: t.field({ type: RunRef, nullable: true, resolve: (task, _, ctx) => (task.runId ? ctx.loaders.run.load(task.runId) : null) }),
    worker: t.field({
      type: WorkerRef,
      nullable: true,
      description: 'The worker holding it while RUNNING.',
      resolve: (task, _, ctx) => (task.workerId ? ctx.loaders.worker.load(task.workerId) : null),
    }),
    payload: t.expose('payload', { type: 'JSON' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts that ended: completed, failed, timed out, or lost with a crashed worker.' }),
    maxAttempts: t.exposeInt('maxAttempts'),
    timeoutSeconds: t.exposeFloat('timeoutSeconds', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When its latest attempt started.' }),
    deadlineAt: t.expose('deadlineAt', { type: 'DateTime', nullable: true, description: 'While RUNNING with a timeout: when the reaper takes it back.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    result: t.expose('result', { type: 'JSON', nullable: true }),
    error: t.exposeString('error', { nullable: true, description: "The latest attempt's error." }),
    executionTimeSeconds: t.exposeFloat('executionTimeSeconds', { nullable: true }),
    attempt: t.int({
      description: 'The attempt it is on (running) or would start next (pending); the last one made once it has ended.',
      resolve: (task) => (task.state === 'pending' || task.state === 'running' ? task.attempts + 1 : task.attempts),
    }),
    name: t.exposeString('name', { nullable: true, description: "A workstream task's name." }),
    specTaskId: t.exposeString('specTaskId', { nullable: true, description: "A workstream task's task_id." }),
    level: t.exposeInt('level', { nullable: true, description: "Its level in its workstream's execution order." }),
    ready: t.boolean({
      description: 'Pending with every dependency completed: a worker may claim it.',
      resolve: (task) => task.state === 'pending' && task.unmetDependencies === 0,
    }),
    dependsOn: t.field({ type: [TaskRef], resolve: (task, _, ctx) => loadTasks(ctx, task.dependsOn) }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'A failed attempt is retried no sooner than this.' }),
    toolId: t.exposeString('toolId', { nullable: true, description: 'The tool the router chose; only a worker that runs it may claim the task.' }),
    routeError: t.exposeString('routeError', { nullable: true, description: 'Why no tool could be chosen: the task waits until one can.' }),
    blockedBy: t.field({
      type: [TaskRef],
      description: 'The dependencies it still waits for (not completed).',
      resolve: async (task, _, ctx) => (await loadTasks(ctx, task.dependsOn)).filter((d) => d.state !== 'completed'),
    }),
    dependents: t.field({
      type: [TaskRef],
      description: 'The tasks of its workstream that depend on it.',
      resolve: async (task, _, ctx) =>
        task.workstreamId ? (await ctx.loaders.workstreamTasks.load(task.workstreamId)).filter((t) => t.dependsOn.includes(task.id)) : [],
    }),
  }),
});

async function loadTasks(ctx: { loaders: { task: { loadMany(ids: readonly string[]): Promise<(Task | null | Error)[]> } } }, ids: string[]): Promise<Task[]> {
  return (await ctx.loaders.task.loadMany(ids)).filter((t): t is Task => t !== null && !(t instanceof Error));
}

export const WorkerHeartbeatRef = builder.objectRef<WorkerHeartbeat>('WorkerHeartbeat').implement({
  fields: (t) => ({
    worker: t.field({ type: WorkerRef, resolve: (h) => h.worker }),
    at: t.expose('at', { type: 'DateTime' }),
    progress: t.exposeFloat('progress', { nullable: true }),
  }),
});

export const WorkerStateChangeRef = builder.objectRef<WorkerStateChange>('WorkerStateChange').implement({
  fields: (t) => ({
    worker: t.field({ type: WorkerRef, resolve: (c) => c.worker }),
    from: t.expose('from', { type: WorkerStateEnum, nullable: true, description: 'Null when the worker has just registered.' }),
    to: t.expose('to', { type: WorkerStateEnum }),
    reason: t.exposeString('reason'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const StateCountRef = builder.objectRef<WorkerSummary['byState'][number]>('WorkerStateCount').implement({
  fields: (t) => ({ state: t.expose('state', { type: WorkerStateEnum }), count: t.exposeInt('count') }),
});
const TypeCountRef = builder.objectRef<WorkerSummary['byType'][number]>('WorkerTypeCount').implement({
  fields: (t) => ({ type: t.expose('type', { type: WorkerTypeEnum }), count: t.exposeInt('count') }),
});

export const WorkerSummaryRef = builder.objectRef<WorkerSummary>('WorkerSummary').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    stale: t.exposeInt('stale', { description: 'Live workers past their heartbeat timeout.' }),
    byState: t.field({ type: [StateCountRef], description: 'States with at least one worker.', resolve: (s) => s.byState }),
    byType: t.field({ type: [TypeCountRef], description: 'Types with at least one worker.', resolve: (s) => s.byType }),
  }),
});

export const WorkerFilterInput = builder.inputType('WorkerFilter', {
  fields: (t) => ({
    states: t.field({ type: [WorkerStateEnum] }),
    types: t.field({ type: [WorkerTypeEnum] }),
    stale: t.boolean({ description: 'true: only stale workers; false: only workers that are not stale.' }),
  }),
});

export const TaskFilterInput = builder.inputType('TaskFilter', {
  fields: (t) => ({
    states: t.field({ type: [TaskStateEnum] }),
    kinds: t.stringList(),
    runId: t.id(),
    workerId: t.id(),
  }),
});

export const WorkerConfigInput = builder.inputType('WorkerConfigInput', {
  description: 'The worker_lifecycle config.',
  fields: (t) => ({
    maxParallelTasks: t.int({ description: 'Tasks it may hold at once; 1 when not given.' }),
    heartbeatInterval: t.float({ description: 'Seconds between its heartbeats (informational; must be below timeoutSeconds).' }),
    timeoutSeconds: t.float({ description: 'Seconds without a heartbeat before it is stale; 60 when not given.' }),
  }),
});

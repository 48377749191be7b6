import type { Workstream } from '../engine/workstreams/entities.js';
import { MAX_WINDOW_SECONDS, type ProgressSnapshot, type RecentRuns, type RunMetrics, type RunSummary } from '../engine/workers/progress.js';
import { builder } from './builder.js';
import { capLevels, capList, WORKSTREAM_TASKS_CAP } from './list-size.js';
import { RunRef, RunStateEnum, StepStateEnum } from './runs.js';
import { BEYOND_TASK, BEYOND_TASK_NOTE } from './task-scope.js';
import { TaskRef } from './workers.js';

export const WorkstreamRef = builder.objectRef<Workstream>('Workstream');

builder.node(WorkstreamRef, {
  description: 'A submitted workstream_spec: its run and its tasks, ordered along their dependencies (docs/domain.md#workstreams-and-scheduling).',
  id: { resolve: (ws) => ws.id },
  loadOne: (id, ctx) => ctx.loaders.workstream.load(id),
  fields: (t) => ({
    workstreamId: t.exposeString('specId', { description: "The spec's workstream_id." }),
    projectId: t.exposeString('projectId', { description: "The spec's project_id." }),
    phaseId: t.exposeString('phaseId', { description: "The spec's phase_id." }),
    name: t.exposeString('name', { description: "The spec's name." }),
    objective: t.exposeString('objective', { description: "The spec's objective: what the workstream is meant to achieve." }),
    maxParallel: t.exposeInt('maxParallel', { description: 'concurrency.max_parallel: at most this many of its tasks run at once.' }),
    errorStrategy: t.exposeString('errorStrategy', {
      description: 'error_handling.strategy: fail_fast (a task that fails for good skips every pending task) or continue ' + "(the failed task's on_failure decides what still runs).",
    }),
    run: t.field({
      type: RunRef,
      description: 'The run created with it: PENDING until the first task is claimed, and ended by itself once no task is left to run.',
      resolve: async (ws, _, ctx) => (await ctx.loaders.run.load(ws.runId))!,
    }),
    tasks: t.field({
      type: [TaskRef],
      description: `Its tasks in execution order: by level, then as the spec lists them; the first ${WORKSTREAM_TASKS_CAP} (page through all with tasks(filter: { runId })).`,
      extensions: { listSize: WORKSTREAM_TASKS_CAP },
      resolve: async (ws, _, ctx) => {
        const tasks = await ctx.loaders.workstreamTasks.load(ws.id);
        for (const task of tasks) ctx.loaders.task.prime(task.id, task);
        return capList(tasks, WORKSTREAM_TASKS_CAP);
      },
    }),
    executionOrder: t.field({
      type: t.listRef(t.listRef(TaskRef)),
      description: 'The execution order as levels: the first holds the tasks without dependencies, and each depends only on earlier ones; ' + `cut after the first ${WORKSTREAM_TASKS_CAP} tasks.`,
      extensions: { listSize: WORKSTREAM_TASKS_CAP },
      resolve: async (ws, _, ctx) => capLevels((await ctx.engine.workstreams.order(ws)).levels, WORKSTREAM_TASKS_CAP),
    }),
    batches: t.field({
      type: t.listRef(t.listRef(TaskRef)),
      description:
        'The levels cut into batches of at most maxParallel tasks, for planning: workers claim a task as soon as its dependencies completed; ' + `cut after the first ${WORKSTREAM_TASKS_CAP} tasks.`,
      extensions: { listSize: WORKSTREAM_TASKS_CAP },
      resolve: async (ws, _, ctx) => capLevels((await ctx.engine.workstreams.order(ws)).batches, WORKSTREAM_TASKS_CAP),
    }),
    progress: t.field({
      type: ProgressSnapshotRef,
      description: "Where its run's tasks stand now, as runProgress(runId:) gives it; a page of workstreams reads all their progress in one batch.",
      resolve: (ws, _, ctx) => ctx.loaders.runProgress.load(ws.runId),
    }),
    spec: t.expose('spec', { type: 'JSON', description: 'The workstream_spec document as submitted, with the defaults it left out filled in.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was submitted.' }),
  }),
});

export const ProgressSnapshotRef = builder.objectRef<ProgressSnapshot>('ProgressSnapshot').implement({
  description: 'Where a run stands (docs/domain.md#progress-and-monitoring), computed from stored state.',
  fields: (t) => ({
    run: t.field({ type: RunRef, description: 'The run it describes.', resolve: async (p, _, ctx) => (await ctx.loaders.run.load(p.runId))! }),
    total: t.exposeInt('total', { description: 'All tasks of the run, in any state.' }),
    completed: t.exposeInt('completed', { description: 'Tasks that completed.' }),
    failed: t.exposeInt('failed', { description: 'Tasks that failed for good (their attempts are used up, or their retry strategy is none).' }),
    skipped: t.exposeInt('skipped', { description: 'Tasks that will not run: a task they depend on failed, the workstream stopped, or the run ended first.' }),
    running: t.exposeInt('running', { description: 'Tasks a worker is running now.' }),
    pending: t.exposeInt('pending', { description: 'Not started: waiting for dependencies, a route, a worker or a retry.' }),
    completionPercent: t.exposeFloat('completionPercent', {
      description: "Percent from 0 to 100: completed / total, plus the running tasks' reported progress as partial credit; 100 without tasks. " + 'Failed and skipped tasks earn nothing.',
    }),
    elapsedSeconds: t.exposeFloat('elapsedSeconds', { description: 'Seconds since the run started (until it ended, once it has); 0 before it starts.' }),
    estimatedRemainingSeconds: t.exposeFloat('estimatedRemainingSeconds', {
      nullable: true,
      description: "Seconds: average duration of the finished tasks x tasks left (less the running ones' reported progress); null before the first task finishes.",
    }),
    estimatedCompletionAt: t.expose('estimatedCompletionAt', {
      type: 'DateTime',
      nullable: true,
      description: 'at plus estimatedRemainingSeconds; null when there is no estimate.',
    }),
    currentTask: t.field({
      type: TaskRef,
      nullable: true,
      description: 'The running task started last; null when none is running.',
      resolve: (p) => p.currentTask,
    }),
    currentTaskProgress: t.exposeFloat('currentTaskProgress', {
      nullable: true,
      description: "currentTask's progress in percent (0 to 100), as its worker's last heartbeat reported it; null when none was reported.",
    }),
    at: t.expose('at', { type: 'DateTime', description: 'When this snapshot was computed.' }),
  }),
});

const StepCountsRef = builder.objectRef<RunMetrics['steps']>('RunStepCounts').implement({
  description: "A run's step attempts, counted.",
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'All its step attempts, in any state (running and canceled ones included).' }),
    completed: t.exposeInt('completed', { description: 'Step attempts that SUCCEEDED.' }),
    failed: t.exposeInt('failed', { description: 'Step attempts that FAILED.' }),
  }),
});

const EventCountsRef = builder.objectRef<RunMetrics['events']>('RunEventCounts').implement({
  description: "A run's event log, counted.",
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'All events of the run.' }),
    errors: t.exposeInt('errors', {
      description: 'Events of the kinds that denote an error or a failure: TOOL_CALL_ERROR, PATCH_APPLY_FAILED, ERROR_PIPELINE_TRIGGERED, TASK_FAILED, GATE_FAILED and GATE_ERRORED.',
    }),
  }),
});

export const RunMetricsRef = builder.objectRef<RunMetrics>('RunMetrics').implement({
  description: "A run's figures (docs/domain.md#progress-and-monitoring): its steps and events counted, and its timing.",
  fields: (t) => ({
    run: t.field({ type: RunRef, description: 'The run they describe.', resolve: async (m, _, ctx) => (await ctx.loaders.run.load(m.runId))! }),
    steps: t.field({ type: StepCountsRef, description: 'Its step attempts: all, succeeded and failed.', resolve: (m) => m.steps }),
    events: t.field({ type: EventCountsRef, description: 'Its events: all, and those that denote an error.', resolve: (m) => m.events }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the run was created.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it went RUNNING; null before that.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null while it is active.' }),
    durationSeconds: t.exposeFloat('durationSeconds', {
      nullable: true,
      description: 'Seconds from its start to its end (or to now while it runs); null before it starts.',
    }),
  }),
});

const RunStateCountRef = builder.objectRef<{ state: string; count: number }>('RunStateCount').implement({
  description: 'How many runs are in one state.',
  fields: (t) => ({
    state: t.field({ type: RunStateEnum, description: 'The run state.', resolve: (c) => c.state as never }),
    count: t.exposeInt('count', { description: 'Runs in that state (at least 1).' }),
  }),
});
const StepStateCountRef = builder.objectRef<{ state: string; count: number }>('StepStateCount').implement({
  description: 'How many step attempts are in one state.',
  fields: (t) => ({
    state: t.field({ type: StepStateEnum, description: 'The step state.', resolve: (c) => c.state as never }),
    count: t.exposeInt('count', { description: 'Step attempts in that state (at least 1).' }),
  }),
});

const RecentRunsRef = builder.objectRef<RecentRuns>('RecentRuns').implement({
  description: 'The runs created within a recent window, counted by state, with the failure rate of those that ended (docs/domain.md#progress-and-monitoring).',
  fields: (t) => ({
    windowSeconds: t.exposeInt('windowSeconds', { description: 'How far back the window reaches, in seconds.' }),
    since: t.expose('since', { type: 'DateTime', description: 'The start of the window: runs created at or after it count (now less windowSeconds).' }),
    runsByState: t.field({
      type: [RunStateCountRef],
      description: 'Runs created in the window per state, ordered by state name; a state without runs is left out.',
      resolve: (r) => r.runsByState,
    }),
    total: t.exposeInt('total', { description: 'Runs created in the window, in any state.' }),
    succeeded: t.exposeInt('succeeded', { description: 'Of those, the runs that SUCCEEDED.' }),
    failed: t.exposeInt('failed', { description: 'Of those, the runs that FAILED or were QUARANTINED.' }),
    failureRate: t.exposeFloat('failureRate', {
      nullable: true,
      description: 'failed / (succeeded + failed), from 0 to 1: CANCELED runs and runs still active do not count; null when no run of the window ended so.',
    }),
  }),
});

export const RunSummaryRef = builder.objectRef<RunSummary>('RunSummary').implement({
  description: 'Every run and step attempt in the gateway, counted by state (docs/domain.md#progress-and-monitoring).',
  fields: (t) => ({
    runsByState: t.field({
      type: [RunStateCountRef],
      description: 'Runs per state, ordered by state name; a state without runs is left out.',
      resolve: (s) => s.runsByState,
    }),
    stepsByState: t.field({
      type: [StepStateCountRef],
      description: 'Step attempts of all runs per state, ordered by state name; a state without steps is left out.',
      resolve: (s) => s.stepsByState,
    }),
    activeRuns: t.exposeInt('activeRuns', { description: 'Runs that are PENDING or RUNNING.' }),
    recent: t.field({
      type: RecentRunsRef,
      description: 'The runs created in the last windowSeconds, by state, and the failure rate of those that ended: the error rate of an overview.',
      args: {
        windowSeconds: t.arg.int({
          defaultValue: 86_400,
          description: `How far back, in seconds: 1 to ${MAX_WINDOW_SECONDS} (30 days; else BAD_USER_INPUT); a day when not given.`,
        }),
      },
      resolve: (_, args, ctx) => ctx.engine.progress.recent(args.windowSeconds ?? 86_400),
    }),
  }),
});

export const WorkstreamFilterInput = builder.inputType('WorkstreamFilter', {
  description: 'Narrows workstreams: every field given must hold.',
  fields: (t) => ({
    projectId: t.string({ description: "Only workstreams of this project (the spec's project_id)." }),
    active: t.boolean({ description: 'true: only those whose run is PENDING or RUNNING; false: only those whose run has ended.' }),
  }),
});

builder.objectField(TaskRef, 'workstream', (t) =>
  t.field({
    type: WorkstreamRef,
    nullable: true,
    description: `The workstream the task belongs to; null for a task queued on its own, outside any workstream. ${BEYOND_TASK_NOTE}`,
    authScopes: BEYOND_TASK,
    resolve: (task, _, ctx) => (task.workstreamId ? ctx.loaders.workstream.load(task.workstreamId) : null),
  }),
);

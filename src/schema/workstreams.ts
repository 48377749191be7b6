import type { Workstream } from '../engine/db/entities.js';
import type { ProgressSnapshot, RunMetrics, RunSummary } from '../engine/workstreams/progress.js';
import { builder } from './builder.js';
import { RunRef, RunStateEnum, StepStateEnum } from './runs.js';
import { TaskRef } from './workers.js';

export const WorkstreamRef = builder.objectRef<Workstream>('Workstream');

builder.node(WorkstreamRef, {
  description: 'A submitted workstream_spec: its run and its tasks, ordered along their dependencies (DOMAIN.md 6).',
  id: { resolve: (ws) => ws.id },
  loadOne: (id, ctx) => ctx.loaders.workstream.load(id),
  fields: (t) => ({
    workstreamId: t.exposeString('specId', { description: "The spec's workstream_id." }),
    projectId: t.exposeString('projectId'),
    phaseId: t.exposeString('phaseId'),
    name: t.exposeString('name'),
    objective: t.exposeString('objective'),
    maxParallel: t.exposeInt('maxParallel'),
    errorStrategy: t.exposeString('errorStrategy', { description: 'fail_fast or continue.' }),
    run: t.field({ type: RunRef, resolve: async (ws, _, ctx) => (await ctx.loaders.run.load(ws.runId))! }),
    tasks: t.field({
      type: [TaskRef],
      description: 'In execution order: by level, then as the spec lists them.',
      resolve: async (ws, _, ctx) => {
        const tasks = await ctx.loaders.workstreamTasks.load(ws.id);
        for (const task of tasks) ctx.loaders.task.prime(task.id, task);
        return tasks;
      },
    }),
    executionOrder: t.field({
      type: t.listRef(t.listRef(TaskRef)),
      description: 'Levels: each depends only on earlier ones.',
      resolve: async (ws, _, ctx) => (await ctx.engine.workstreams.order(ws)).levels,
    }),
    batches: t.field({
      type: t.listRef(t.listRef(TaskRef)),
      description: 'The levels cut into batches of at most maxParallel.',
      resolve: async (ws, _, ctx) => (await ctx.engine.workstreams.order(ws)).batches,
    }),
    spec: t.expose('spec', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ProgressSnapshotRef = builder.objectRef<ProgressSnapshot>('ProgressSnapshot').implement({
  description: 'Where a run stands (DOMAIN.md 7), computed from stored state.',
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: async (p, _, ctx) => (await ctx.loaders.run.load(p.runId))! }),
    total: t.exposeInt('total'),
    completed: t.exposeInt('completed'),
    failed: t.exposeInt('failed'),
    skipped: t.exposeInt('skipped'),
    running: t.exposeInt('running'),
    pending: t.exposeInt('pending', { description: 'Not started: waiting for dependencies, a worker or a retry.' }),
    completionPercent: t.exposeFloat('completionPercent', { description: "completed / total, plus the running tasks' reported progress; 100 without tasks." }),
    elapsedSeconds: t.exposeFloat('elapsedSeconds'),
    estimatedRemainingSeconds: t.exposeFloat('estimatedRemainingSeconds', {
      nullable: true,
      description: 'Average finished-task duration x tasks left; null before the first task finishes.',
    }),
    estimatedCompletionAt: t.expose('estimatedCompletionAt', { type: 'DateTime', nullable: true }),
    currentTask: t.field({ type: TaskRef, nullable: true, description: 'The running task started last.', resolve: (p) => p.currentTask }),
    currentTaskProgress: t.exposeFloat('currentTaskProgress', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const StepCountsRef = builder.objectRef<RunMetrics['steps']>('RunStepCounts').implement({
  fields: (t) => ({ total: t.exposeInt('total'), completed: t.exposeInt('completed', { description: 'Succeeded.' }), failed: t.exposeInt('failed') }),
});

const EventCountsRef = builder.objectRef<RunMetrics['events']>('RunEventCounts').implement({
  fields: (t) => ({
    total: t.exposeInt('total'),
    errors: t.exposeInt('errors', { description: 'Events of kinds that denote an error or a failure.' }),
  }),
});

export const RunMetricsRef = builder.objectRef<RunMetrics>('RunMetrics').implement({
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: async (m, _, ctx) => (await ctx.loaders.run.load(m.runId))! }),
    steps: t.field({ type: StepCountsRef, resolve: (m) => m.steps }),
    events: t.field({ type: EventCountsRef, resolve: (m) => m.events }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    durationSeconds: t.exposeFloat('durationSeconds', { nullable: true, description: 'From start to end (or to now while it runs).' }),
  }),
});

const RunStateCountRef = builder.objectRef<{ state: string; count: number }>('RunStateCount').implement({
  fields: (t) => ({ state: t.field({ type: RunStateEnum, resolve: (c) => c.state as never }), count: t.exposeInt('count') }),
});
const StepStateCountRef = builder.objectRef<{ state: string; count: number }>('StepStateCount').implement({
  fields: (t) => ({ state: t.field({ type: StepStateEnum, resolve: (c) => c.state as never }), count: t.exposeInt('count') }),
});

export const RunSummaryRef = builder.objectRef<RunSummary>('RunSummary').implement({
  fields: (t) => ({
    runsByState: t.field({ type: [RunStateCountRef], resolve: (s) => s.runsByState }),
    stepsByState: t.field({ type: [StepStateCountRef], resolve: (s) => s.stepsByState }),
    activeRuns: t.exposeInt('activeRuns', { description: 'Pending or running.' }),
  }),
});

builder.objectField(TaskRef, 'workstream', (t) =>
  t.field({
    type: WorkstreamRef,
    nullable: true,
    resolve: (task, _, ctx) => (task.workstreamId ? ctx.loaders.workstream.load(task.workstreamId) : null),
  }),
);

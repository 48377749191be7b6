import { RUN_EVENT_KINDS, type Run, type RunEvent, type StepAttempt } from '../engine/db/entities.js';
import { decodePositionCursor, encodeCursor, parsePageArgs, type Page } from '../engine/core/pagination.js';
import { decodeEventCursor, eventCursor, STEP_CURSOR, type RunSlice } from '../engine/runs/run-queries.js';
import { builder } from './builder.js';

export const RunStateEnum = builder.enumType('RunState', {
  values: {
    PENDING: { value: 'pending' },
    RUNNING: { value: 'running' },
    SUCCEEDED: { value: 'succeeded' },
    FAILED: { value: 'failed' },
    QUARANTINED: { value: 'quarantined' },
    CANCELED: { value: 'canceled' },
  } as const,
});

export const RunCompletionStateEnum = builder.enumType('RunCompletionState', {
  description: 'The states completeRun can end a running run in.',
  values: { SUCCEEDED: { value: 'succeeded' }, FAILED: { value: 'failed' } } as const,
});

export const StepStateEnum = builder.enumType('StepState', {
  values: {
    RUNNING: { value: 'running' },
    SUCCEEDED: { value: 'succeeded' },
    FAILED: { value: 'failed' },
    CANCELED: { value: 'canceled' },
  } as const,
});

export const StepCompletionStateEnum = builder.enumType('StepCompletionState', {
  values: { SUCCEEDED: { value: 'succeeded' }, FAILED: { value: 'failed' }, CANCELED: { value: 'canceled' } } as const,
});

export const RunEventKindEnum = builder.enumType('RunEventKind', {
  values: Object.fromEntries(RUN_EVENT_KINDS.map((kind) => [kind.toUpperCase(), { value: kind }])) as Record<
    string,
    { value: (typeof RUN_EVENT_KINDS)[number] }
  >,
});

export const RunRef = builder.objectRef<Run>('Run');
export const StepAttemptRef = builder.objectRef<StepAttempt>('StepAttempt');
export const RunEventRef = builder.objectRef<RunEvent>('RunEvent');

const RunCountersRef = builder.objectRef<Run>('RunCounters').implement({
  description: 'Kept current by the engine as steps, patches and error events are recorded.',
  fields: (t) => ({
    stepAttempts: t.exposeInt('stepAttempts'),
    patchesCreated: t.exposeInt('patchesCreated'),
    patchesApplied: t.exposeInt('patchesApplied'),
    errors: t.exposeInt('errors', { description: 'Error events in the log (TOOL_CALL_ERROR, PATCH_APPLY_FAILED, ERROR_PIPELINE_TRIGGERED).' }),
  }),
});

const StepOutputsRef = builder.objectRef<StepAttempt['outputs']>('StepOutputs').implement({
  fields: (t) => ({
    patchIds: t.stringList({ resolve: (o) => o.patch_ids }),
    logsPath: t.string({ nullable: true, resolve: (o) => o.logs_path ?? null }),
    rawResponsePath: t.string({ nullable: true, resolve: (o) => o.raw_response_path ?? null }),
  }),
});

export const StepAttemptConnection = builder.connectionObject(
  { type: StepAttemptRef, name: 'StepAttemptConnection' },
  { name: 'StepAttemptEdge' },
);
builder.objectField(StepAttemptConnection, 'totalCount', (t) => t.int({ resolve: (c) => c.totalCount() }));

export const RunEventConnection = builder.connectionObject({ type: RunEventRef, name: 'RunEventConnection' }, { name: 'RunEventEdge' });
builder.objectField(RunEventConnection, 'totalCount', (t) => t.int({ resolve: (c) => c.totalCount() }));

/** A per-run slice loaded in a batch, shaped as a connection page. */
function sliceToPage<T>(
  slice: RunSlice<T>,
  cursorOf: (row: T) => string,
  hasPreviousPage: boolean,
  totalCount: () => Promise<number>,
): Page<T> {
  const edges = slice.rows.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: slice.hasMore,
      hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}

const nullableDate = { type: 'DateTime', nullable: true } as const;

builder.node(RunRef, {
  description: 'One execution of tools for a project phase, with its step attempts and event log.',
  id: { resolve: (run) => run.id },
  loadOne: (id, ctx) => ctx.loaders.run.load(id),
  fields: (t) => ({
    projectId: t.exposeString('projectId'),
    phaseId: t.exposeString('phaseId'),
    workstreamId: t.exposeString('workstreamId', { nullable: true }),
    executionRequestId: t.exposeString('executionRequestId', { nullable: true }),
    state: t.expose('state', { type: RunStateEnum }),
    stateReason: t.exposeString('stateReason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', nullableDate),
    endedAt: t.expose('endedAt', nullableDate),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    origin: t.expose('origin', { type: 'JSON', description: 'The run_record origin: {trigger_type, trigger_ref?, requested_by?}.' }),
    counters: t.field({ type: RunCountersRef, resolve: (run) => run }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    steps: t.field({
      type: StepAttemptConnection,
      description: 'Step attempts in sequence order.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (run, args, ctx) => {
        const request = parsePageArgs(args, (cursor, field) => decodePositionCursor(STEP_CURSOR, cursor, field));
        const after = request.cursor ?? 0;
        const slice = await ctx.loaders.stepSlice(run.id, after, request.size);
        // Sequences run 1..stepAttempts without gaps, so what lies before the cursor is known.
        return sliceToPage(slice, stepCursor, Math.min(after, run.stepAttempts) >= 1, async () => run.stepAttempts);
      },
    }),
    events: t.field({
      type: RunEventConnection,
      description: "The run's event log in order.",
      args: { after: t.arg.string(), first: t.arg.int() },
      resolve: async (run, args, ctx) => {
        const request = parsePageArgs(args, decodeEventCursor);
        const after = request.cursor ?? 0;
        const slice = await ctx.loaders.eventSlice(run.id, after, request.size);
        const stats = after > 0 ? await ctx.loaders.eventStats.load(run.id) : null;
        const hasPrevious = stats?.firstPosition != null && stats.firstPosition <= after;
        return sliceToPage(slice, eventCursor, hasPrevious, async () => (await ctx.loaders.eventStats.load(run.id)).count);
      },
    }),
  }),
});

const stepCursor = (step: StepAttempt) => encodeCursor(STEP_CURSOR, step.sequence);

builder.node(StepAttemptRef, {
  description: 'One tool invocation inside a run.',
  id: { resolve: (step) => step.id },
  loadOne: (id, ctx) => ctx.loaders.step.load(id),
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: async (step, _, ctx) => (await ctx.loaders.run.load(step.runId))! }),
    sequence: t.exposeInt('sequence', { description: 'Position within the run, from 1, assigned by the server.' }),
    toolId: t.exposeString('toolId'),
    toolRunId: t.exposeString('toolRunId', { nullable: true }),
    executionRequestId: t.exposeString('executionRequestId', { nullable: true }),
    promptId: t.exposeString('promptId', { nullable: true }),
    state: t.expose('state', { type: StepStateEnum }),
    stateReason: t.exposeString('stateReason', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', nullableDate),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    inputPrompt: t.exposeString('inputPrompt', { nullable: true }),
    outputs: t.field({ type: StepOutputsRef, resolve: (step) => step.outputs }),
    errorLog: t.exposeString('errorLog', { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON' }),
  }),
});

builder.node(RunEventRef, {
  description: 'One entry of the append-only run event log.',
  id: { resolve: (event) => event.id },
  loadOne: (id, ctx) => ctx.loaders.event.load(id),
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: async (event, _, ctx) => (await ctx.loaders.run.load(event.runId))! }),
    step: t.field({
      type: StepAttemptRef,
      nullable: true,
      resolve: (event, _, ctx) => (event.stepId ? ctx.loaders.step.load(event.stepId) : null),
    }),
    ts: t.expose('ts', { type: 'DateTime' }),
    kind: t.expose('kind', { type: RunEventKindEnum }),
    payload: t.expose('payload', { type: 'JSON' }),
    cursor: t.string({
      description: 'The log position of this event: pass it as `after` to resume right after it.',
      resolve: (event) => eventCursor(event),
    }),
  }),
});

export const RunFilterInput = builder.inputType('RunFilter', {
  fields: (t) => ({
    projectId: t.string(),
    phaseId: t.string(),
    workstreamId: t.string(),
    states: t.field({ type: [RunStateEnum] }),
    createdAfter: t.field({ type: 'DateTime', description: 'Runs created strictly after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Runs created strictly before this instant.' }),
  }),
});

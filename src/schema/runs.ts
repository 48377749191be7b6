import type { GraphQLResolveInfo } from 'graphql';
import { RUN_EVENT_KINDS, type Run, type RunEvent, type RunEventKind, type StepAttempt } from '../engine/runs/entities.js';
import { decodePositionCursor, encodeCursor, parsePageArgs, type Page, type PageArgs } from '../engine/core/pagination.js';
import { decodeEventCursor, eventCursor, STEP_CURSOR, type RunSlice } from '../engine/runs/run-queries.js';
import { builder } from './builder.js';
import type { GatewayContext } from './context.js';
import { argumentsBelow } from './lookahead.js';
import { BEYOND_TASK, BEYOND_TASK_NOTE } from './task-scope.js';

export const RunStateEnum = builder.enumType('RunState', {
  description:
    "A run's state (docs/domain.md#runs-and-steps): PENDING -> RUNNING or CANCELED; RUNNING -> SUCCEEDED, FAILED, QUARANTINED or CANCELED; " +
    'FAILED -> QUARANTINED; SUCCEEDED, QUARANTINED and CANCELED are final.',
  values: {
    PENDING: { value: 'pending', description: 'Created, not started: no step may start yet.' },
    RUNNING: { value: 'running', description: 'Started (startRun, or the first task claim of a workstream): steps may start.' },
    SUCCEEDED: { value: 'succeeded', description: 'Ended well: completeRun, or every task of its workstream completed.' },
    FAILED: { value: 'failed', description: 'Ended in failure: completeRun, or a task of its workstream failed for good; may still be quarantined.' },
    QUARANTINED: { value: 'quarantined', description: 'Set aside with a reason (quarantineRun, from RUNNING or FAILED).' },
    CANCELED: { value: 'canceled', description: 'Stopped from outside: cancelRun, or a HALT budget that was spent.' },
  } as const,
});

export const RunCompletionStateEnum = builder.enumType('RunCompletionState', {
  description: 'The states completeRun can end a running run in.',
  values: {
    SUCCEEDED: { value: 'succeeded', description: 'The run did what it was for.' },
    FAILED: { value: 'failed', description: 'The run failed; quarantineRun can still set it aside afterwards.' },
  } as const,
});

export const StepStateEnum = builder.enumType('StepState', {
  description: "A step attempt's state: RUNNING until completeStep (or the end of its run, or of the task attempt it runs in) moves it to SUCCEEDED, FAILED or CANCELED, all final.",
  values: {
    RUNNING: { value: 'running', description: 'Started by startStep and not ended yet.' },
    SUCCEEDED: { value: 'succeeded', description: 'Ended well, as completeStep reported; logged as TOOL_CALL_COMPLETED.' },
    FAILED: { value: 'failed', description: "Ended in failure; logged as TOOL_CALL_ERROR, which counts in the run's errors." },
    CANCELED: {
      value: 'canceled',
      description: 'Canceled by completeStep, or because its run, or the task attempt it ran in (handed back, timed out, or completed by its worker), ended while it was running.',
    },
  } as const,
});

export const StepCompletionStateEnum = builder.enumType('StepCompletionState', {
  description: 'The states completeStep can end a running step in.',
  values: {
    SUCCEEDED: { value: 'succeeded', description: 'The tool call did its job; appends TOOL_CALL_COMPLETED.' },
    FAILED: { value: 'failed', description: "The tool call failed; appends TOOL_CALL_ERROR, which counts in the run's errors." },
    CANCELED: { value: 'canceled', description: 'The tool call was abandoned; appends TOOL_CALL_COMPLETED.' },
  } as const,
});

/** What each kind of run event records (shown on the enum's values). */
const RUN_EVENT_KIND_DESCRIPTIONS: Record<RunEventKind, string> = {
  run_created: 'The run was created, PENDING; payload {state, origin}.',
  run_started: 'PENDING -> RUNNING; payload {from, to}, plus reason when the first task claim of its workstream started it.',
  run_state_changed: 'Any other run state change; payload {from, to} and what came with it (reason, exitCode, errorMessage, budgetId).',
  tool_call_started: 'A step attempt started; payload {sequence, toolId}.',
  tool_call_completed:
    'A step attempt ended SUCCEEDED or CANCELED; payload {sequence, state, exitCode?, errorLog?, reason?}, and taskId and attempt when the end of the task attempt it ran in canceled it.',
  tool_call_error: "A step attempt ended FAILED; counted in the run's errors.",
  patch_created: 'A patch of the run was recorded (ledger entry CREATED); payload {ledgerId, patchId, files (how many)}.',
  patch_validated: 'A ledger entry passed validation: CREATED -> VALIDATED.',
  patch_apply_started: 'A ledger entry was handed to the applier: VALIDATED (queuePatch) or APPLY_FAILED (retryPatch) -> QUEUED; payload {ledgerId, patchId, from, to}, plus retry: true for a retry.',
  patch_apply_succeeded: 'An apply attempt succeeded: QUEUED -> APPLIED.',
  patch_apply_failed: "A ledger entry entered APPLY_FAILED (validation, apply or verification failed); counted in the run's errors.",
  patch_quarantined: 'A ledger entry was set aside: -> QUARANTINED.',
  error_pipeline_triggered: "In the run_event contract's vocabulary (it would count in errors); the gateway does not append it.",
  phase_transition: "In the run_event contract's vocabulary; the gateway does not append it.",
  note: 'A note from addRunNote; payload {message, ...the payload given}.',
  task_created: 'A task of the run was queued, PENDING.',
  task_started: 'A task attempt was leased to a worker; payload {workerId, attempt, toolId?}.',
  task_completed: 'A task completed; payload {workerId, attempt}.',
  task_failed: "A task failed for good (no attempt or retry left); counted in the run's errors.",
  task_requeued: 'A task went back to PENDING for another attempt; payload.counted says whether the attempt counted.',
  task_skipped:
    'A task will never run (again): a dependency failed for good, its workstream stopped, or the run ended; ' +
    'also an attempt that failed or was handed back after the run ended (payload then has attempts and counted, as TASK_REQUEUED).',
  patch_verified: 'An applied patch passed its tests or gates: APPLIED -> VERIFIED.',
  patch_committed: 'VERIFIED -> COMMITTED.',
  patch_rolled_back: 'An applied or verified patch was rolled back: -> ROLLED_BACK.',
  patch_dropped: 'A ledger entry was dropped: -> DROPPED.',
  gate_created: 'A test gate of the run was created, PENDING.',
  gate_started: 'A test gate started: PENDING -> RUNNING.',
  gate_passed: 'A test gate passed its criteria.',
  gate_failed: "A test gate failed a criterion; counted in the run's errors.",
  gate_errored: "A test gate's command exited non-zero or ran past its timeout: ERROR; counted in the run's errors.",
  gate_skipped: 'A test gate was skipped with a reason (a decision that did not pass).',
  budget_threshold_crossed: 'A cost of this run crossed a budget threshold; payload {budgetId, threshold, spent, limit, currency, halted}.',
};

export const RunEventKindEnum = builder.enumType('RunEventKind', {
  description:
    "What a run event records: the data contracts' kinds, plus the gateway's own for tasks, patch ledger transitions, " +
    'test gates and budgets. The payload is a JSON object whose fields depend on the kind.',
  values: {
    ...Object.fromEntries(RUN_EVENT_KINDS.map((kind) => [kind.toUpperCase(), { value: kind, description: RUN_EVENT_KIND_DESCRIPTIONS[kind] }])),
    // Retired (no longer appended, not in the engine's kinds), kept so that the released schema stays compatible and events logged before still read.
    PATCH_QUEUED: {
      value: 'patch_queued' as RunEventKind,
      description: 'What entering QUEUED appended before PATCH_APPLY_STARTED replaced it; only events logged before that change have it.',
      deprecationReason: 'Entering QUEUED appends PATCH_APPLY_STARTED.',
    },
  } as Record<string, { value: (typeof RUN_EVENT_KINDS)[number] }>,
});

export const RunRef = builder.objectRef<Run>('Run');
export const StepAttemptRef = builder.objectRef<StepAttempt>('StepAttempt');
export const RunEventRef = builder.objectRef<RunEvent>('RunEvent');

const RunCountersRef = builder.objectRef<Run>('RunCounters').implement({
  description: 'Kept current by the engine as steps, patches and error events are recorded.',
  fields: (t) => ({
    stepAttempts: t.exposeInt('stepAttempts', { description: 'Step attempts started in the run (the highest step sequence).' }),
    patchesCreated: t.exposeInt('patchesCreated', { description: 'Patches recorded for the run (createPatch with its runId).' }),
    patchesApplied: t.exposeInt('patchesApplied', { description: 'Successful apply attempts of its patches (recordPatchApply with success).' }),
    errors: t.exposeInt('errors', {
      description: 'Error events in the log: TOOL_CALL_ERROR, PATCH_APPLY_FAILED, ERROR_PIPELINE_TRIGGERED, TASK_FAILED, GATE_FAILED and GATE_ERRORED.',
    }),
  }),
});

const StepOutputsRef = builder.objectRef<StepAttempt['outputs']>('StepOutputs').implement({
  description: 'What a step attempt produced, as completeStep reported it (the step_attempt outputs).',
  fields: (t) => ({
    patchIds: t.stringList({ description: 'The patches it produced, as reported (outputPatchIds); not checked; empty until it ends.', resolve: (o) => o.patch_ids }),
    logsPath: t.string({ nullable: true, description: 'Where its logs are kept, as reported; null when none was given.', resolve: (o) => o.logs_path ?? null }),
    rawResponsePath: t.string({
      nullable: true,
      description: "Where the tool's raw response is kept, as reported; null when none was given.",
      resolve: (o) => o.raw_response_path ?? null,
    }),
  }),
});

export const StepAttemptConnection = builder.connectionObject(
  { type: StepAttemptRef, name: 'StepAttemptConnection', description: "A page of a run's step attempts, in sequence order." },
  { name: 'StepAttemptEdge', description: 'A step attempt and its cursor.' },
);
builder.objectField(StepAttemptConnection, 'totalCount', (t) => t.int({ description: 'Step attempts of the run in all, on every page.', resolve: (c) => c.totalCount() }));

export const RunEventConnection = builder.connectionObject(
  { type: RunEventRef, name: 'RunEventConnection', description: 'A page of the run event log, in log order (oldest first).' },
  { name: 'RunEventEdge', description: 'A run event and its cursor (the same as RunEvent.cursor).' },
);
builder.objectField(RunEventConnection, 'totalCount', (t) =>
  t.int({ description: 'Events in the log that match (for runEvents: of the kinds asked for), on every page.', resolve: (c) => c.totalCount() }),
);

/** A per-run slice loaded in a batch, shaped as a connection page. */
function sliceToPage<T>(slice: RunSlice<T>, cursorOf: (row: T) => string, hasPreviousPage: boolean, totalCount: () => Promise<number>): Page<T> {
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
  id: { resolve: (run) => run.id, description: 'Opaque global id: pass it to run(id:), node(id:), or as runId.' },
  loadOne: (id, ctx) => ctx.loaders.run.load(id),
  fields: (t) => ({
    projectId: t.exposeString('projectId', { description: 'The project it belongs to: a name the client chooses (e.g. "demo"), not a global id.' }),
    phaseId: t.exposeString('phaseId', { description: 'The project phase it executes (a phase_spec phase_id), as given at creation.' }),
    workstreamId: t.exposeString('workstreamId', {
      nullable: true,
      description: 'The workstream_id of the spec it runs (submitWorkstream), or as given to createRun; null when it belongs to none.',
    }),
    executionRequestId: t.exposeString('executionRequestId', {
      nullable: true,
      description: 'The execution request it serves, as given to createRun; null when none was given.',
    }),
    state: t.expose('state', { type: RunStateEnum, description: 'Where it is in the run state machine.' }),
    stateReason: t.exposeString('stateReason', {
      nullable: true,
      description: 'The reason given to cancelRun or quarantineRun (for a HALT budget: the budget and its spend); null otherwise, or when cancelRun gave none.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created (taken from its id, so it orders runs).' }),
    startedAt: t.expose('startedAt', { ...nullableDate, description: 'When it went RUNNING; null before that.' }),
    endedAt: t.expose('endedAt', {
      ...nullableDate,
      description: 'When it first ended (SUCCEEDED, FAILED, QUARANTINED or CANCELED; a later quarantine keeps it); null while active.',
    }),
    exitCode: t.exposeInt('exitCode', {
      nullable: true,
      description: 'The exit code completeRun reported (0 when every task of its workstream completed); null otherwise.',
    }),
    errorMessage: t.exposeString('errorMessage', {
      nullable: true,
      description: 'The error completeRun reported, or for a workstream run which tasks failed or were skipped; null otherwise.',
    }),
    origin: t.expose('origin', { type: 'JSON', description: 'The run_record origin: {trigger_type, trigger_ref?, requested_by?}.' }),
    counters: t.field({ type: RunCountersRef, description: 'Its steps, patches and error events, counted by the engine.', resolve: (run) => run }),
    metadata: t.expose('metadata', {
      type: 'JSON',
      description: "The JSON object given at creation; a workstream run's holds the spec's resource_scope (its patches are checked against it), constraints and tags.",
    }),
    steps: t.field({
      type: StepAttemptConnection,
      description: `Step attempts in sequence order. ${BEYOND_TASK_NOTE}`,
      authScopes: BEYOND_TASK,
      args: {
        first: t.arg.int({ description: 'Page size: 20 when not given, at most 100.' }),
        after: t.arg.string({ description: "A step's cursor (an edge cursor or pageInfo.endCursor): the page starts right after it." }),
      },
      resolve: (run, args, ctx) => {
        const { after, size } = stepWindow(args);
        // Sequences run 1..stepAttempts without gaps, so what lies before the cursor is known.
        const page = (slice: RunSlice<StepAttempt>) => sliceToPage(slice, stepCursor, Math.min(after, run.stepAttempts) >= 1, async () => run.stepAttempts);
        // Loaded with the page of runs this run is on (prefetchSteps): no promise per run.
        const loaded = ctx.loaders.stepSlice.loaded(run.id, after, size);
        return loaded ? page(loaded) : ctx.loaders.stepSlice.load(run.id, after, size).then(page);
      },
    }),
    events: t.field({
      type: RunEventConnection,
      description: `The run's event log in order. ${BEYOND_TASK_NOTE}`,
      authScopes: BEYOND_TASK,
      args: {
        after: t.arg.string({ description: "An event's cursor (RunEvent.cursor): the page starts right after it." }),
        first: t.arg.int({ description: 'Page size: 20 when not given, at most 100.' }),
      },
      resolve: async (run, args, ctx) => {
        const request = parsePageArgs(args, decodeEventCursor);
        const after = request.cursor ?? 0;
        const slice = await ctx.loaders.eventSlice.load(run.id, after, request.size);
        const stats = after > 0 ? await ctx.loaders.eventStats.load(run.id) : null;
        const hasPrevious = stats?.firstPosition != null && stats.firstPosition <= after;
        return sliceToPage(slice, eventCursor, hasPrevious, async () => (await ctx.loaders.eventStats.load(run.id)).count);
      },
    }),
  }),
});

const stepCursor = (step: StepAttempt) => encodeCursor(STEP_CURSOR, step.sequence);

/** Which of a run's steps `steps(first:, after:)` asks for: those after sequence `after`, `size` of them. */
function stepWindow(args: PageArgs): { after: number; size: number } {
  const request = parsePageArgs(args, (cursor, field) => decodePositionCursor(STEP_CURSOR, cursor, field));
  return { after: request.cursor ?? 0, size: request.size };
}

/**
 * Loads the steps that a page of runs will ask for (its `edges.node.steps`
 * fields, as `info`, the connection field's, selects them), one query per
 * window as the loader would, but before the runs resolve: their `steps`
 * then complete without a promise each.
 */
export async function prefetchSteps(runs: readonly Run[], info: GraphQLResolveInfo, ctx: GatewayContext): Promise<void> {
  if (runs.length === 0) return;
  const windows = new Map<string, { after: number; size: number }>();
  for (const args of argumentsBelow(info, ['edges', 'node', 'steps'])) {
    try {
      const window = stepWindow(args);
      windows.set(`${window.after}:${window.size}`, window);
    } catch {
      // Bad arguments are the steps field's own error, reported at its path.
    }
  }
  const runIds = runs.map((run) => run.id);
  await Promise.all([...windows.values()].map(({ after, size }) => ctx.loaders.stepSlice.prefetch(runIds, after, size)));
}

builder.node(StepAttemptRef, {
  description: 'One tool invocation inside a run.',
  id: { resolve: (step) => step.id, description: 'Opaque global id: pass it to completeStep(input: {id}) or node(id:).' },
  loadOne: (id, ctx) => ctx.loaders.step.load(id),
  fields: (t) => ({
    run: t.field({ type: RunRef, description: 'The run it belongs to.', resolve: async (step, _, ctx) => (await ctx.loaders.run.load(step.runId))! }),
    sequence: t.exposeInt('sequence', { description: 'Position within the run, from 1, assigned by the server.' }),
    toolId: t.exposeString('toolId', { description: 'The tool it invokes (e.g. "aider"), as given to startStep.' }),
    toolRunId: t.exposeString('toolRunId', { nullable: true, description: "The tool's own id for this invocation, as reported; null when none was given." }),
    executionRequestId: t.exposeString('executionRequestId', {
      nullable: true,
      description: 'The execution request (its request_id) it carries out, as reported; null when none was given.',
    }),
    promptId: t.exposeString('promptId', { nullable: true, description: 'The prompt instance it used, as reported; null when none was given.' }),
    state: t.expose('state', { type: StepStateEnum, description: 'RUNNING, or how it ended.' }),
    stateReason: t.exposeString('stateReason', {
      nullable: true,
      description:
        'Why it was CANCELED without completeStep: its run ended while it was running (e.g. "run canceled"), or the task attempt it ran in ended ' +
        '("the task\'s attempt ended: worker <id> was paused", "...: timed out after 6 s (timeout 5 s)", "the task was completed with the step still running"); null otherwise.',
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When startStep created it.' }),
    endedAt: t.expose('endedAt', { ...nullableDate, description: 'When it ended; null while RUNNING.' }),
    exitCode: t.exposeInt('exitCode', { nullable: true, description: "The tool's exit code, as completeStep reported it; null when none was given." }),
    inputPrompt: t.exposeString('inputPrompt', { nullable: true, description: 'The prompt given to the tool, as reported to startStep; null when none was.' }),
    outputs: t.field({ type: StepOutputsRef, description: 'What it produced, as completeStep reported it.', resolve: (step) => step.outputs }),
    errorLog: t.exposeString('errorLog', { nullable: true, description: 'Error output, as completeStep reported it; null when none was given.' }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'The JSON object given to startStep ({} when none).' }),
  }),
});

builder.node(RunEventRef, {
  description: 'One entry of the append-only run event log.',
  id: { resolve: (event) => event.id, description: 'Opaque global id: pass it to node(id:). To resume a stream or page, use cursor instead.' },
  loadOne: (id, ctx) => ctx.loaders.event.load(id),
  fields: (t) => ({
    run: t.field({ type: RunRef, description: 'The run whose log it belongs to.', resolve: async (event, _, ctx) => (await ctx.loaders.run.load(event.runId))! }),
    step: t.field({
      type: StepAttemptRef,
      nullable: true,
      description: 'The step attempt it is about (the TOOL_CALL_* kinds); null for every other event.',
      resolve: (event, _, ctx) => (event.stepId ? ctx.loaders.step.load(event.stepId) : null),
    }),
    ts: t.expose('ts', { type: 'DateTime', description: 'When the change it records was made (appended in the same transaction).' }),
    kind: t.expose('kind', { type: RunEventKindEnum, description: 'What happened; it decides the payload fields.' }),
    payload: t.expose('payload', {
      type: 'JSON',
      description: "A JSON object with the change's details, in the data contracts' vocabulary (lower-case states, snake_case where a contract names a field).",
    }),
    cursor: t.string({
      description: 'The log position of this event: pass it as `after` to resume right after it.',
      resolve: (event) => eventCursor(event),
    }),
  }),
});

/** The most events one RunEventBatch holds (runEventBatches' `size` is at most this; the cost analysis counts this many). */
export const MAX_EVENT_BATCH = 500;

export const RunEventBatchRef = builder.objectRef<RunEvent[]>('RunEventBatch').implement({
  description: 'Consecutive events of the run event log, in log order, as runEventBatches delivers them (never empty).',
  fields: (t) => ({
    events: t.field({
      type: [RunEventRef],
      description: `The events, oldest first: at most the subscription's size (${MAX_EVENT_BATCH} at most).`,
      extensions: { listSize: MAX_EVENT_BATCH },
      resolve: (batch) => batch,
    }),
    cursor: t.string({
      description: "The last event's cursor: pass it as `after` to resume right after this batch.",
      resolve: (batch) => eventCursor(batch.at(-1)!),
    }),
  }),
});

export const RunFilterInput = builder.inputType('RunFilter', {
  description: 'Narrows runs: every field given must hold.',
  fields: (t) => ({
    projectId: t.string({ description: 'Only runs of this project.' }),
    phaseId: t.string({ description: 'Only runs of this phase.' }),
    workstreamId: t.string({ description: "Only runs of this workstream (the spec's workstream_id, Run.workstreamId)." }),
    states: t.field({ type: [RunStateEnum], description: 'Only runs in one of these states.' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Runs created strictly after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Runs created strictly before this instant.' }),
  }),
});

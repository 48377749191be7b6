import { OPERATE, WORKER_READ, readerActor } from './scopes.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { liveSubscription } from '../schema/field-policy.js';
import { prefetchSteps, RunCompletionStateEnum, RunFilterInput, RunRef } from '../schema/runs.js';

builder.queryFields((t) => ({
  run: t.field({
    type: RunRef,
    nullable: true,
    description: 'A run by its global id; null when none has it.',
    args: { id: t.arg.id({ required: true, description: "The run's global id (Run.id); an id of another type is BAD_USER_INPUT." }) },
    resolve: (_, args, ctx) => ctx.loaders.run.load(parseId(args.id, 'Run', 'id')),
  }),
  runs: t.connection(
    {
      type: RunRef,
      description: 'Runs, newest first (by creation time), optionally filtered.',
      args: { filter: t.arg({ type: RunFilterInput, description: 'Only runs that match every field given; all runs when omitted.' }) },
      resolve: async (_, { filter, ...page }, ctx, info) => {
        const result = await ctx.engine.queries.listRuns(filter ?? {}, page);
        const runs = result.edges.map((edge) => edge.node);
        // Steps and events on this page point back at these runs: serve them from the loader.
        for (const run of runs) ctx.loaders.run.prime(run.id, run);
        await prefetchSteps(runs, info, ctx);
        return result;
      },
    },
    {
      name: 'RunConnection',
      description: 'A page of runs, newest first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Runs matching the filter, on every page.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'RunEdge', description: 'A run and its cursor.' },
  ),
}));

builder.relayMutationField(
  'createRun',
  {
    description: 'A new run: its project and phase, and optionally what it belongs to and what started it.',
    inputFields: (t) => ({
      projectId: t.string({ required: true, description: 'The project: a name you choose (e.g. "demo"), 1 to 200 characters.' }),
      phaseId: t.string({ required: true, description: 'The phase it executes (a phase_spec phase_id), 1 to 200 characters.' }),
      workstreamId: t.string({ description: 'The workstream it belongs to, at most 200 characters; not checked.' }),
      executionRequestId: t.string({ description: 'The execution request it serves, at most 200 characters; not checked.' }),
      origin: t.field({
        type: 'JSON',
        description:
          'The run_record origin {trigger_type: manual | ci | error_pipeline | scheduled, trigger_ref?, requested_by?}; ' +
          'defaults to {"trigger_type": "manual"}; one that breaks the contract is BAD_USER_INPUT.',
      }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object kept with the run ({} when omitted); anything else is BAD_USER_INPUT.' }),
    }),
  },
  {
    authScopes: OPERATE,
    description: 'Creates a run, PENDING, and appends RUN_CREATED. Needs OPERATE; bad input is BAD_USER_INPUT.',
    resolve: async (_, { input }, ctx) => ({ run: await ctx.engine.runs.createRun(input) }),
  },
  {
    description: 'What createRun returns.',
    outputFields: (t) => ({ run: t.field({ type: RunRef, description: 'The new run, PENDING.', resolve: (p) => p.run }) }),
  },
);

builder.relayMutationField(
  'startRun',
  {
    description: 'Which run to start.',
    inputFields: (t) => ({ id: t.id({ required: true, description: "The run's global id (Run.id)." }) }),
  },
  {
    authScopes: OPERATE,
    description:
      'Moves a PENDING run to RUNNING, sets startedAt and appends RUN_STARTED; steps may start from then on. ' +
      'NOT_FOUND for an unknown run, INVALID_TRANSITION from any other state. Needs OPERATE.',
    resolve: async (_, { input }, ctx) => ({ run: await ctx.engine.runs.startRun(parseId(input.id, 'Run', 'id')) }),
  },
  {
    description: 'What startRun returns.',
    outputFields: (t) => ({ run: t.field({ type: RunRef, description: 'The run, now RUNNING.', resolve: (p) => p.run }) }),
  },
);

builder.relayMutationField(
  'completeRun',
  {
    description: 'Which run to end, how, and what to record with it.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The run's global id (Run.id)." }),
      state: t.field({ type: RunCompletionStateEnum, required: true, description: 'The state to end it in.' }),
      exitCode: t.int({ description: 'The exit code to record (Run.exitCode); null when omitted.' }),
      errorMessage: t.string({ description: 'The error to record (Run.errorMessage), at most 1,000,000 characters; null when omitted.' }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      'Ends a RUNNING run as SUCCEEDED or FAILED, sets endedAt and appends RUN_STATE_CHANGED; its running steps are canceled ' +
      'and its pending tasks skipped, each with its own event. NOT_FOUND, or INVALID_TRANSITION when it is not RUNNING. Needs OPERATE.',
    resolve: async (_, { input }, ctx) => ({
      run: await ctx.engine.runs.completeRun({ ...input, id: parseId(input.id, 'Run', 'id') }),
    }),
  },
  {
    description: 'What completeRun returns.',
    outputFields: (t) => ({ run: t.field({ type: RunRef, description: 'The run, now SUCCEEDED or FAILED.', resolve: (p) => p.run }) }),
  },
);

builder.relayMutationField(
  'cancelRun',
  {
    description: 'Which run to cancel, and why.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The run's global id (Run.id)." }),
      reason: t.string({ description: 'Why, at most 1,000,000 characters; kept as Run.stateReason (null when omitted).' }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      'Cancels a PENDING or RUNNING run, sets endedAt and appends RUN_STATE_CHANGED; its running steps are canceled and its ' +
      'pending tasks skipped. NOT_FOUND, or INVALID_TRANSITION from any other state. Needs OPERATE.',
    resolve: async (_, { input }, ctx) => ({
      run: await ctx.engine.runs.cancelRun(parseId(input.id, 'Run', 'id'), input.reason),
    }),
  },
  {
    description: 'What cancelRun returns.',
    outputFields: (t) => ({ run: t.field({ type: RunRef, description: 'The run, now CANCELED.', resolve: (p) => p.run }) }),
  },
);

builder.relayMutationField(
  'quarantineRun',
  {
    description: 'Which run to set aside, and why.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The run's global id (Run.id)." }),
      reason: t.string({ required: true, description: 'Why, 1 to 1,000,000 characters; kept as Run.stateReason.' }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      'Quarantines a RUNNING or FAILED run (endedAt is set if not already) and appends RUN_STATE_CHANGED. ' +
      'NOT_FOUND, BAD_USER_INPUT for an empty reason, INVALID_TRANSITION from any other state. Needs OPERATE.',
    resolve: async (_, { input }, ctx) => ({
      run: await ctx.engine.runs.quarantineRun(parseId(input.id, 'Run', 'id'), input.reason),
    }),
  },
  {
    description: 'What quarantineRun returns.',
    outputFields: (t) => ({ run: t.field({ type: RunRef, description: 'The run, now QUARANTINED.', resolve: (p) => p.run }) }),
  },
);

builder.subscriptionField('runStateChanged', (t) =>
  t.field({
    ...liveSubscription(RunRef),
    skipTypeScopes: true,
    authScopes: WORKER_READ,
    description:
      'A run each time it is created or changes state, as stored when delivered. A subscriber 10,000 notices behind is ended with SLOW_CONSUMER. ' +
      'Read or worker scope: a WORKER-only token watches only a run (runId) one of its workers holds a task of as it subscribes (to see a cancel), else FORBIDDEN.',
    args: {
      projectId: t.arg.id({ description: 'Only runs of this project (the plain project name, as in Run.projectId, not a global id).' }),
      runId: t.arg.id({ description: 'Only this run (its global id); an unknown run simply never emits. Required for a WORKER-only token.' }),
    },
    subscribe: (_, args, ctx) => ctx.engine.runs.stateChanges(readerActor(ctx), { projectId: args.projectId, runId: parseOptionalId(args.runId, 'Run', 'runId') }),
  }),
);

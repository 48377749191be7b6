import { OPERATE } from './scopes.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { refreshLoaders } from '../schema/loaders.js';
import { RunCompletionStateEnum, RunFilterInput, RunRef } from '../schema/runs.js';

builder.queryFields((t) => ({
  run: t.field({
    type: RunRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.run.load(parseId(args.id, 'Run', 'id')),
  }),
  runs: t.connection(
    {
      type: RunRef,
      description: 'Runs, newest first.',
      args: { filter: t.arg({ type: RunFilterInput }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.queries.listRuns(filter ?? {}, page);
        // Steps and events on this page point back at these runs: serve them from the loader.
        for (const { node } of result.edges) ctx.loaders.run.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'RunConnection',
      fields: (c) => ({ totalCount: c.int({ description: 'Runs matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'RunEdge' },
  ),
}));


builder.relayMutationField(
  'createRun',
  {
    inputFields: (t) => ({
      projectId: t.string({ required: true }),
      phaseId: t.string({ required: true }),
      workstreamId: t.string(),
      executionRequestId: t.string(),
      origin: t.field({ type: 'JSON', description: 'run_record origin; defaults to {"trigger_type": "manual"}.' }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object.' }),
    }),
  },
  { authScopes: OPERATE, resolve: async (_, { input }, ctx) => ({ run: await ctx.engine.runs.createRun(input) }) },
  { outputFields: (t) => ({ run: t.field({ type: RunRef, resolve: (p) => p.run }) }) },
);

builder.relayMutationField(
  'startRun',
  { inputFields: (t) => ({ id: t.id({ required: true }) }) },
  { authScopes: OPERATE, resolve: async (_, { input }, ctx) => ({ run: await ctx.engine.runs.startRun(parseId(input.id, 'Run', 'id')) }) },
  { outputFields: (t) => ({ run: t.field({ type: RunRef, resolve: (p) => p.run }) }) },
);

builder.relayMutationField(
  'completeRun',
  {
    inputFields: (t) => ({
      id: t.id({ required: true }),
      state: t.field({ type: RunCompletionStateEnum, required: true }),
      exitCode: t.int(),
      errorMessage: t.string(),
    }),
  },
  {
    authScopes: OPERATE,
    resolve: async (_, { input }, ctx) => ({
      run: await ctx.engine.runs.completeRun({ ...input, id: parseId(input.id, 'Run', 'id') }),
    }),
  },
  { outputFields: (t) => ({ run: t.field({ type: RunRef, resolve: (p) => p.run }) }) },
);

builder.relayMutationField(
  'cancelRun',
  { inputFields: (t) => ({ id: t.id({ required: true }), reason: t.string() }) },
  {
    authScopes: OPERATE,
    resolve: async (_, { input }, ctx) => ({
      run: await ctx.engine.runs.cancelRun(parseId(input.id, 'Run', 'id'), input.reason),
    }),
  },
  { outputFields: (t) => ({ run: t.field({ type: RunRef, resolve: (p) => p.run }) }) },
);

builder.relayMutationField(
  'quarantineRun',
  { inputFields: (t) => ({ id: t.id({ required: true }), reason: t.string({ required: true }) }) },
  {
    authScopes: OPERATE,
    resolve: async (_, { input }, ctx) => ({
      run: await ctx.engine.runs.quarantineRun(parseId(input.id, 'Run', 'id'), input.reason),
    }),
  },
  { outputFields: (t) => ({ run: t.field({ type: RunRef, resolve: (p) => p.run }) }) },
);

builder.subscriptionField('runStateChanged', (t) =>
  t.field({
    type: RunRef,
    description: 'A run each time it is created or changes state.',
    args: { projectId: t.arg.id(), runId: t.arg.id() },
    subscribe: (_, args, ctx) =>
      ctx.engine.runs.stateChanges({ projectId: args.projectId, runId: parseOptionalId(args.runId, 'Run', 'runId') }),
    resolve: (run, _, ctx) => {
      refreshLoaders(ctx);
      return run;
    },
  }),
);

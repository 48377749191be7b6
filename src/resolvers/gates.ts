import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { GateCriteriaInput, GateFilterInput, GateResultsInput, GateTypeEnum, TestGateRef } from '../schema/gates.js';
import { refreshLoaders } from '../schema/loaders.js';
import { OPERATE, REPORT } from './scopes.js';

builder.queryFields((t) => ({
  testGate: t.field({
    type: TestGateRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.gate.load(parseId(args.id, 'TestGate', 'id')),
  }),
  testGates: t.connection(
    {
      type: TestGateRef,
      description: 'Test gates, newest first.',
      args: { filter: t.arg({ type: GateFilterInput }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.patchQueries.gates({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }, page);
        for (const { node } of result.edges) ctx.loaders.gate.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'TestGateConnection',
      fields: (c) => ({ totalCount: c.int({ description: 'Gates matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'TestGateEdge' },
  ),
}));

builder.relayMutationField(
  'createTestGate',
  {
    inputFields: (t) => ({
      name: t.string({ required: true }),
      type: t.field({ type: GateTypeEnum, required: true }),
      runId: t.id({ description: 'The run whose patches wait for it.' }),
      projectId: t.string({ description: "Defaults to the run's project." }),
      executionRequestId: t.string(),
      criteria: t.field({ type: GateCriteriaInput }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object.' }),
    }),
  },
  {
    authScopes: OPERATE,
    description: 'Creates a gate, PENDING.',
    resolve: async (_, { input }, ctx) => ({ gate: await ctx.engine.gates.create({ ...input, runId: parseOptionalId(input.runId, 'Run', 'runId') }) }),
  },
  { outputFields: (t) => ({ gate: t.field({ type: TestGateRef, resolve: (p) => p.gate }) }) },
);

builder.relayMutationField(
  'startTestGate',
  { inputFields: (t) => ({ id: t.id({ required: true }), command: t.string() }) },
  {
    authScopes: REPORT,
    description: 'PENDING -> RUNNING; with a timeout, the gate must complete before it runs out.',
    resolve: async (_, { input }, ctx) => ({ gate: await ctx.engine.gates.start(parseId(input.id, 'TestGate', 'id'), input.command) }),
  },
  { outputFields: (t) => ({ gate: t.field({ type: TestGateRef, resolve: (p) => p.gate }) }) },
);

builder.relayMutationField(
  'completeTestGate',
  { inputFields: (t) => ({ id: t.id({ required: true }), exitCode: t.int({ required: true }), results: t.field({ type: GateResultsInput }) }) },
  {
    authScopes: REPORT,
    description: 'RUNNING -> ERROR for a non-zero exit code, else PASSED or FAILED as its criteria judge the results.',
    resolve: async (_, { input }, ctx) => ({
      gate: await ctx.engine.gates.complete({ ...input, id: parseId(input.id, 'TestGate', 'id') }),
    }),
  },
  { outputFields: (t) => ({ gate: t.field({ type: TestGateRef, resolve: (p) => p.gate }) }) },
);

builder.relayMutationField(
  'skipTestGate',
  { inputFields: (t) => ({ id: t.id({ required: true }), reason: t.string({ required: true }) }) },
  {
    authScopes: OPERATE,
    description: 'PENDING or RUNNING -> SKIPPED, recorded as a decision that did not pass.',
    resolve: async (_, { input }, ctx) => ({ gate: await ctx.engine.gates.skip(parseId(input.id, 'TestGate', 'id'), input.reason) }),
  },
  { outputFields: (t) => ({ gate: t.field({ type: TestGateRef, resolve: (p) => p.gate }) }) },
);

builder.subscriptionField('gateOutcomes', (t) =>
  t.field({
    type: TestGateRef,
    description: 'One event per gate reaching PASSED, FAILED, ERROR or SKIPPED, with its decision; filtered on the server.',
    args: { runId: t.arg.id(), projectId: t.arg.id(), types: t.arg({ type: [GateTypeEnum] }) },
    subscribe: (_, args, ctx) =>
      ctx.engine.gates.outcomes({ runId: parseOptionalId(args.runId, 'Run', 'runId'), projectId: args.projectId, types: args.types }),
    resolve: (gate, _, ctx) => {
      refreshLoaders(ctx);
      return gate;
    },
  }),
);

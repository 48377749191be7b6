import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { GateCriteriaInput, GateFilterInput, GateResultsInput, GateTypeEnum, TestGateRef } from '../schema/gates.js';
import { liveSubscription } from '../schema/field-policy.js';
import { OPERATE, REPORT, workerActor } from './scopes.js';

/** Who may start and complete a gate: the worker that reports its task's tests (createTestGate), or an operator. */
const WORKER_OWN_GATE =
  "Needs the operate or worker scope; a WORKER-only token only for a gate that names the execution request of a task one of its workers holds now (a gate naming none is the run's, for operators), else FORBIDDEN";

builder.queryFields((t) => ({
  testGate: t.field({
    type: TestGateRef,
    nullable: true,
    description: 'Loads one test gate by its global id; null when none has that id.',
    args: { id: t.arg.id({ required: true, description: "A TestGate's global id; another type's id is BAD_USER_INPUT." }) },
    resolve: (_, args, ctx) => ctx.loaders.gate.load(parseId(args.id, 'TestGate', 'id')),
  }),
  testGates: t.connection(
    {
      type: TestGateRef,
      description: 'Test gates, newest first.',
      args: { filter: t.arg({ type: GateFilterInput, description: 'Narrows the list; left out, every gate is listed.' }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.gateQueries.gates({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }, page);
        for (const { node } of result.edges) ctx.loaders.gate.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'TestGateConnection',
      description: 'A page of test gates, newest first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Gates matching the filter, on every page.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'TestGateEdge', description: 'A test gate and its cursor.' },
  ),
}));

builder.relayMutationField(
  'createTestGate',
  {
    description: 'A new test gate.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'Its name (1-200 characters).' }),
      type: t.field({ type: GateTypeEnum, required: true, description: 'What kind of check it is.' }),
      runId: t.id({ description: "The run whose patches wait for it (a Run's global id); a run that does not exist is NOT_FOUND." }),
      projectId: t.string({ description: "Defaults to the run's project; one that differs from the run's is BAD_USER_INPUT." }),
      executionRequestId: t.string({ description: 'The execution request it serves (1-200 characters), kept as given.' }),
      criteria: t.field({ type: GateCriteriaInput, description: 'What it must meet to pass; left out, none is set and exit code 0 passes.' }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object.' }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'Creates a gate, PENDING (logged as GATE_CREATED on its run, if it has one). Needs the operate or worker scope; a WORKER-only token only on the run of a task ' +
      "one of its workers holds now, naming that task's execution request (a gate naming none is the run's, for operators; so it may then start and complete it), " +
      'else FORBIDDEN (a run that does not exist included); invalid input is BAD_USER_INPUT and an unknown run NOT_FOUND.',
    resolve: async (_, { input }, ctx) => ({ gate: await ctx.engine.gates.create(workerActor(ctx, true), { ...input, runId: parseOptionalId(input.runId, 'Run', 'runId') }) }),
  },
  {
    description: 'What createTestGate returns.',
    outputFields: (t) => ({ gate: t.field({ type: TestGateRef, description: 'The new gate, PENDING.', resolve: (p) => p.gate }) }),
  },
);

builder.relayMutationField(
  'startTestGate',
  {
    description: 'The gate to start, and how it is run.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The TestGate's global id." }),
      command: t.string({ description: 'The command that runs the check, recorded in execution.command (non-empty when given).' }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'PENDING -> RUNNING and records execution.startedAt; with timeoutSeconds, the gate must complete before it runs out or it ends in ERROR. ' +
      `${WORKER_OWN_GATE}; INVALID_TRANSITION unless PENDING, NOT_FOUND for an unknown gate.`,
    resolve: async (_, { input }, ctx) => ({ gate: await ctx.engine.gates.start(workerActor(ctx, true), parseId(input.id, 'TestGate', 'id'), input.command) }),
  },
  {
    description: 'What startTestGate returns.',
    outputFields: (t) => ({ gate: t.field({ type: TestGateRef, description: 'The gate, now RUNNING.', resolve: (p) => p.gate }) }),
  },
);

builder.relayMutationField(
  'completeTestGate',
  {
    description: "The gate to complete, and its check's outcome.",
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The TestGate's global id." }),
      exitCode: t.int({ required: true, description: "The check's exit code: 0 has the criteria judged; any other ends the gate in ERROR." }),
      results: t.field({
        type: GateResultsInput,
        description:
          'The test results. Left out, nothing was reported: with exit code 0 the gate stores and is judged on zero tests with no failures, ' +
          'coverage or test names (so minCoverage and requiredTests fail, maxFailures holds, and a gate without criteria passes).',
      }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'RUNNING -> ERROR for a non-zero exit code, else PASSED or FAILED as its criteria judge the results; records the results and execution end. ' +
      'Past its deadlineAt the gate timed out, whatever is reported: ERROR as the timeout job would end it (no results, decision or exit code). ' +
      `${WORKER_OWN_GATE}; INVALID_TRANSITION unless RUNNING, NOT_FOUND, or BAD_USER_INPUT for invalid results.`,
    resolve: async (_, { input }, ctx) => ({
      gate: await ctx.engine.gates.complete(workerActor(ctx, true), { ...input, id: parseId(input.id, 'TestGate', 'id') }),
    }),
  },
  {
    description: 'What completeTestGate returns.',
    outputFields: (t) => ({
      gate: t.field({ type: TestGateRef, description: 'The gate, now PASSED, FAILED or ERROR, with its results and decision.', resolve: (p) => p.gate }),
    }),
  },
);

builder.relayMutationField(
  'skipTestGate',
  {
    description: 'The gate to skip, and why.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The TestGate's global id." }),
      reason: t.string({ required: true, description: 'Why it is skipped (non-empty); the decision reads "skipped: <reason>".' }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      "PENDING or RUNNING -> SKIPPED, recorded as a decision that did not pass (so its run's patches cannot be committed); a RUNNING gate's execution ends (completedAt, durationSeconds). " +
      'Needs the operate scope (a worker reports its tests, it does not skip a gate); INVALID_TRANSITION once the gate has ended, NOT_FOUND for an unknown gate.',
    resolve: async (_, { input }, ctx) => ({ gate: await ctx.engine.gates.skip(parseId(input.id, 'TestGate', 'id'), input.reason) }),
  },
  {
    description: 'What skipTestGate returns.',
    outputFields: (t) => ({ gate: t.field({ type: TestGateRef, description: 'The gate, now SKIPPED.', resolve: (p) => p.gate }) }),
  },
);

builder.subscriptionField('gateOutcomes', (t) =>
  t.field({
    ...liveSubscription(TestGateRef),
    description: 'One event per gate reaching PASSED, FAILED, ERROR or SKIPPED, with its decision; filtered on the server.',
    args: {
      runId: t.arg.id({ description: "Only the gates of this run (a Run's global id; another type's id is BAD_USER_INPUT)." }),
      projectId: t.arg.id({ description: 'Only the gates of this project (a project name, not a global id).' }),
      types: t.arg({ type: [GateTypeEnum], description: 'Only gates of one of these types; left out or empty, every type.' }),
    },
    subscribe: (_, args, ctx) => ctx.engine.gates.outcomes({ runId: parseOptionalId(args.runId, 'Run', 'runId'), projectId: args.projectId, types: args.types }),
  }),
);

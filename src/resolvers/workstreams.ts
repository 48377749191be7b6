import { builder, parseId } from '../schema/builder.js';
import { liveSubscription } from '../schema/field-policy.js';
import { ProgressSnapshotRef, RunMetricsRef, RunSummaryRef, WorkstreamFilterInput, WorkstreamRef } from '../schema/workstreams.js';
import { OPERATE } from './scopes.js';

builder.queryFields((t) => ({
  workstream: t.field({
    type: WorkstreamRef,
    nullable: true,
    description: 'One workstream by its id; null when none has it.',
    args: { id: t.arg.id({ required: true, description: "A Workstream id (not the spec's workstream_id); an id of another type is BAD_USER_INPUT." }) },
    resolve: (_, args, ctx) => ctx.loaders.workstream.load(parseId(args.id, 'Workstream', 'id')),
  }),
  workstreams: t.connection(
    {
      type: WorkstreamRef,
      description: 'Workstreams, newest first (by submission), optionally filtered; each with its run and progress.',
      args: { filter: t.arg({ type: WorkstreamFilterInput, description: 'Only workstreams that match every field given; all when omitted.' }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.workstreams.list(filter ?? {}, page);
        for (const { node } of result.edges) ctx.loaders.workstream.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'WorkstreamConnection',
      description: 'A page of workstreams, newest first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Workstreams matching the filter, on every page.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'WorkstreamEdge', description: 'A workstream and its cursor.' },
  ),
  runProgress: t.field({
    type: ProgressSnapshotRef,
    description: "Where a run's tasks stand now: counts by state, completion percent and time estimates. NOT_FOUND for an unknown run.",
    args: { runId: t.arg.id({ required: true, description: 'A Run id; an id of another type is BAD_USER_INPUT.' }) },
    resolve: (_, args, ctx) => ctx.engine.progress.snapshot(parseId(args.runId, 'Run', 'runId')),
  }),
  runMetrics: t.field({
    type: RunMetricsRef,
    description: "A run's step and event counts and its timing. NOT_FOUND for an unknown run.",
    args: { runId: t.arg.id({ required: true, description: 'A Run id; an id of another type is BAD_USER_INPUT.' }) },
    resolve: (_, args, ctx) => ctx.engine.progress.metrics(parseId(args.runId, 'Run', 'runId')),
  }),
  runSummary: t.field({
    type: RunSummaryRef,
    description: 'Every run and step attempt counted by state, and how many runs are active.',
    resolve: (_, __, ctx) => ctx.engine.progress.summary(),
  }),
}));

builder.relayMutationField(
  'submitWorkstream',
  {
    description: 'The workstream to submit.',
    inputFields: (t) => ({
      spec: t.field({
        type: 'JSON',
        required: true,
        description:
          'A workstream_spec document (its tasks are task_specs). What has a default in the contract may be left out: workstream_id, project_id, phase_id, name, ' +
          'objective and tasks (task_id, name, kind) suffice; see examples/workstream_spec.v1.json. The workstream keeps the spec with its defaults filled in.',
      }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      'Validates the spec, orders its tasks along depends_on, and creates a new workstream with its PENDING run and tasks; each task becomes claimable ' +
      'once its dependencies completed. A workstream_id names one workstream per project: submitting the same spec again (defaults filled in, key order ' +
      'aside) returns that workstream and its run and writes nothing, so a retry is safe; a different spec under a workstream_id the project already has is ' +
      'ALREADY_EXISTS, naming that workstream (choose a new workstream_id). BAD_USER_INPUT for a contract violation (naming the property), a repeated ' +
      'task_id, a missing dependency or a cycle (named). Needs OPERATE.',
    resolve: async (_, { input }, ctx) => ({ workstream: await ctx.engine.workstreams.submit(input.spec) }),
  },
  {
    description: 'What submitWorkstream returns.',
    outputFields: (t) => ({
      workstream: t.field({
        type: WorkstreamRef,
        description: 'The workstream created (or, for a repeated submission of the same spec, the one created before), with its run and tasks.',
        resolve: (p) => p.workstream,
      }),
    }),
  },
);

builder.subscriptionField('runProgress', (t) =>
  t.field({
    ...liveSubscription(ProgressSnapshotRef),
    description:
      "A progress snapshot each time one of the run's tasks (or the run itself) changes; nothing before the first change, so query runProgress for the start. " + 'NOT_FOUND for an unknown run.',
    args: { runId: t.arg.id({ required: true, description: 'A Run id; an id of another type is BAD_USER_INPUT.' }) },
    subscribe: async (_, args, ctx) => {
      const runId = parseId(args.runId, 'Run', 'runId');
      await ctx.engine.progress.snapshot(runId);
      return ctx.engine.progress.follow(runId);
    },
  }),
);

import { builder, parseId } from '../schema/builder.js';
import { refreshLoaders } from '../schema/loaders.js';
import { ProgressSnapshotRef, RunMetricsRef, RunSummaryRef, WorkstreamRef } from '../schema/workstreams.js';
import { OPERATE } from './scopes.js';

builder.queryFields((t) => ({
  workstream: t.field({
    type: WorkstreamRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.workstream.load(parseId(args.id, 'Workstream', 'id')),
  }),
  runProgress: t.field({
    type: ProgressSnapshotRef,
    args: { runId: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.engine.progress.snapshot(parseId(args.runId, 'Run', 'runId')),
  }),
  runMetrics: t.field({
    type: RunMetricsRef,
    args: { runId: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.engine.progress.metrics(parseId(args.runId, 'Run', 'runId')),
  }),
  runSummary: t.field({ type: RunSummaryRef, resolve: (_, __, ctx) => ctx.engine.progress.summary() }),
}));

builder.relayMutationField(
  'submitWorkstream',
  { inputFields: (t) => ({ spec: t.field({ type: 'JSON', required: true, description: 'A workstream_spec document (its tasks are task_specs).' }) }) },
  {
    authScopes: OPERATE,
    description:
      'Validates the spec, orders its tasks along depends_on (a cycle or a missing dependency is BAD_USER_INPUT naming it), ' +
      'and creates its run and tasks; each task becomes claimable once its dependencies completed.',
    resolve: async (_, { input }, ctx) => ({ workstream: await ctx.engine.workstreams.submit(input.spec) }),
  },
  { outputFields: (t) => ({ workstream: t.field({ type: WorkstreamRef, resolve: (p) => p.workstream }) }) },
);

builder.subscriptionField('runProgress', (t) =>
  t.field({
    type: ProgressSnapshotRef,
    description: "A progress snapshot each time one of the run's tasks (or the run) changes.",
    args: { runId: t.arg.id({ required: true }) },
    subscribe: async (_, args, ctx) => {
      const runId = parseId(args.runId, 'Run', 'runId');
      await ctx.engine.progress.snapshot(runId);
      return ctx.engine.progress.follow(runId);
    },
    resolve: (snapshot, _, ctx) => {
      refreshLoaders(ctx);
      return snapshot;
    },
  }),
);

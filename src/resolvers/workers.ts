import type { WorkerActor } from '../engine/auth/identity.js';
import { MAX_PAGE_SIZE } from '../engine/core/pagination.js';
import type { Worker } from '../engine/db/entities.js';
import type { GatewayContext } from '../schema/context.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { refreshLoaders } from '../schema/loaders.js';
import {
  WorkerConfigInput,
  WorkerFilterInput,
  WorkerHeartbeatRef,
  WorkerRef,
  WorkerStateChangeRef,
  WorkerSummaryRef,
  WorkerTypeEnum,
} from '../schema/workers.js';
import { REPORT, WORKER, workerActor } from './scopes.js';

builder.queryFields((t) => ({
  worker: t.field({
    type: WorkerRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.worker.load(parseId(args.id, 'Worker', 'id')),
  }),
  workers: t.connection(
    {
      type: WorkerRef,
      description: 'Workers, newest first.',
      args: { filter: t.arg({ type: WorkerFilterInput }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.workerQueries.listWorkers(filter ?? {}, page);
        for (const { node } of result.edges) ctx.loaders.worker.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'WorkerConnection',
      fields: (c) => ({ totalCount: c.int({ description: 'Workers matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'WorkerEdge' },
  ),
  staleWorkers: t.field({
    type: [WorkerRef],
    description:
      'Live workers (idle, busy, paused) silent for longer than `timeoutSeconds`, or than their own timeout when it is not given; ' +
      `the longest silent first, at most \`first\` (default and maximum ${MAX_PAGE_SIZE}). Page through all with workers(filter: {stale: true}).`,
    args: { timeoutSeconds: t.arg.int(), first: t.arg.int() },
    resolve: (_, args, ctx) => ctx.engine.workerQueries.staleWorkers(args.timeoutSeconds ?? null, args.first ?? MAX_PAGE_SIZE),
  }),
  workerSummary: t.field({
    type: WorkerSummaryRef,
    description: 'The fleet at a glance: counts by state and type, and how many are stale.',
    resolve: (_, __, ctx) => ctx.engine.workerQueries.summary(),
  }),
}));

builder.relayMutationField(
  'registerWorker',
  {
    inputFields: (t) => ({
      type: t.field({ type: WorkerTypeEnum, required: true }),
      config: t.field({ type: WorkerConfigInput }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object.' }),
      tools: t.stringList({ description: 'The tools it can run (router configuration app ids); none: any tool.' }),
    }),
  },
  {
    authScopes: WORKER,
    description: 'Registers a worker, IDLE. Only the token that registers it may act for it with the WORKER scope.',
    resolve: async (_, { input }, ctx) => ({ worker: await ctx.engine.workers.register(workerActor(ctx, false), input) }),
  },
  { outputFields: (t) => ({ worker: t.field({ type: WorkerRef, resolve: (p) => p.worker }) }) },
);

builder.relayMutationField(
  'heartbeat',
  {
    inputFields: (t) => ({
      workerId: t.id({ required: true }),
      progress: t.float({ description: 'Progress of its current task, 0..100.' }),
    }),
  },
  {
    authScopes: WORKER,
    description: 'Refreshes lastHeartbeat (refused for a stopped or crashed worker). Has its own, higher rate limit.',
    resolve: async (_, { input }, ctx) => ({
      worker: await ctx.engine.workers.heartbeat(workerActor(ctx, false), { ...input, workerId: parseId(input.workerId, 'Worker', 'workerId') }),
    }),
  },
  { outputFields: (t) => ({ worker: t.field({ type: WorkerRef, resolve: (p) => p.worker }) }) },
);

/** pauseWorker, resumeWorker, shutdownWorker: input {id}, payload {worker}. */
function steeringMutation(name: string, description: string, act: (ctx: GatewayContext, actor: WorkerActor, id: string) => Promise<Worker>) {
  builder.relayMutationField(
    name,
    { inputFields: (t) => ({ id: t.id({ required: true }) }) },
    {
      authScopes: REPORT,
      description,
      resolve: async (_, { input }, ctx) => ({ worker: await act(ctx, workerActor(ctx, true), parseId(input.id, 'Worker', 'id')) }),
    },
    { outputFields: (t) => ({ worker: t.field({ type: WorkerRef, resolve: (p) => p.worker }) }) },
  );
}

steeringMutation('pauseWorker', 'IDLE or BUSY -> PAUSED. Tasks it holds go back to the queue without counting an attempt.', (ctx, actor, id) =>
  ctx.engine.workers.pause(actor, id),
);
steeringMutation('resumeWorker', 'PAUSED -> IDLE.', (ctx, actor, id) => ctx.engine.workers.resume(actor, id));
steeringMutation(
  'shutdownWorker',
  'Stops the worker for good (STOPPED, stoppedAt set); tasks it holds go back to the queue without counting an attempt.',
  (ctx, actor, id) => ctx.engine.workers.shutdown(actor, id),
);

builder.relayMutationField(
  'crashWorker',
  {
    inputFields: (t) => ({
      id: t.id({ required: true }),
      errorMessage: t.string({ required: true }),
      stackTrace: t.string(),
    }),
  },
  {
    authScopes: REPORT,
    description: 'Records a crash (CRASHED, crashInfo set); tasks it held count the attempt and go back to the queue, or fail when none are left.',
    resolve: async (_, { input }, ctx) => ({
      worker: await ctx.engine.workers.crash(workerActor(ctx, true), { ...input, id: parseId(input.id, 'Worker', 'id') }),
    }),
  },
  { outputFields: (t) => ({ worker: t.field({ type: WorkerRef, resolve: (p) => p.worker }) }) },
);

builder.subscriptionField('workerHeartbeats', (t) =>
  t.field({
    type: WorkerHeartbeatRef,
    description: 'Heartbeats as they arrive, filtered on the server.',
    args: {
      workerId: t.arg.id({ description: 'Only this worker.' }),
      types: t.arg({ type: [WorkerTypeEnum], description: 'Only workers of these types.' }),
    },
    subscribe: (_, args, ctx) =>
      ctx.engine.workers.heartbeats({ workerId: parseOptionalId(args.workerId, 'Worker', 'workerId'), types: args.types }),
    resolve: (beat, _, ctx) => {
      refreshLoaders(ctx);
      return beat;
    },
  }),
);

builder.subscriptionField('workerStateChanged', (t) =>
  t.field({
    type: WorkerStateChangeRef,
    description: 'Registrations and state changes (including crashes found by the reaper), filtered on the server.',
    args: {
      workerId: t.arg.id({ description: 'Only this worker.' }),
      types: t.arg({ type: [WorkerTypeEnum], description: 'Only workers of these types.' }),
    },
    subscribe: (_, args, ctx) =>
      ctx.engine.workers.stateChanges({ workerId: parseOptionalId(args.workerId, 'Worker', 'workerId'), types: args.types }),
    resolve: (change, _, ctx) => {
      refreshLoaders(ctx);
      return change;
    },
  }),
);

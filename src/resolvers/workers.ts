import type { WorkerActor } from '../engine/auth/identity.js';
import { badInput } from '../engine/core/errors.js';
import { MAX_PAGE_SIZE } from '../engine/core/pagination.js';
import type { Worker } from '../engine/workers/entities.js';
import type { GatewayContext } from '../schema/context.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { heartbeatBudget, liveSubscription } from '../schema/field-policy.js';
import { WorkerConfigInput, WorkerFilterInput, WorkerHeartbeatRef, WorkerRef, WorkerStateChangeRef, WorkerSummaryRef, WorkerTypeEnum } from '../schema/workers.js';
import { REPORT, WORKER, WORKER_READ, readerActor, workerActor } from './scopes.js';

builder.queryFields((t) => ({
  worker: t.field({
    type: WorkerRef,
    nullable: true,
    skipTypeScopes: true,
    authScopes: WORKER_READ,
    description:
      'Loads one worker by its id; null when none has that id. Read or worker scope: a WORKER-only token reads only a worker it registered (its state after a refused heartbeat), else FORBIDDEN.',
    args: { id: t.arg.id({ required: true, description: 'A Worker global id (an id of another type is BAD_USER_INPUT).' }) },
    resolve: async (_, args, ctx) => {
      const worker = await ctx.loaders.worker.load(parseId(args.id, 'Worker', 'id'));
      return worker && ctx.engine.workerQueries.readableBy(readerActor(ctx), worker);
    },
  }),
  workers: t.connection(
    {
      type: WorkerRef,
      description: 'Workers, newest registered first, in any state (STOPPED and CRASHED ones included).',
      args: { filter: t.arg({ type: WorkerFilterInput, description: 'Only workers matching it; every worker when not given.' }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.workerQueries.listWorkers(filter ?? {}, page);
        for (const { node } of result.edges) ctx.loaders.worker.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'WorkerConnection',
      description: 'A page of workers, newest registered first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Workers matching the filter, on every page.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'WorkerEdge', description: 'A worker and its cursor.' },
  ),
  staleWorkers: t.field({
    type: [WorkerRef],
    description:
      'Live workers (IDLE, BUSY, PAUSED) silent for longer than `timeoutSeconds` (longest silent first), or past their own timeout when it is not given ' +
      `(most overdue first); at most \`first\` (default and maximum ${MAX_PAGE_SIZE}). Page through all with workers(filter: {stale: true}).`,
    args: {
      timeoutSeconds: t.arg.int({
        description: "Count a worker stale after this many seconds (0 or more) without a heartbeat, or since registering before its first; each worker's config.timeoutSeconds when not given.",
      }),
      first: t.arg.int({ description: `How many to return at most, 0..${MAX_PAGE_SIZE}; ${MAX_PAGE_SIZE} when not given.` }),
    },
    extensions: { listSize: MAX_PAGE_SIZE },
    resolve: (_, args, ctx) => ctx.engine.workerQueries.staleWorkers(args.timeoutSeconds ?? null, args.first ?? MAX_PAGE_SIZE),
  }),
  workerSummary: t.field({
    type: WorkerSummaryRef,
    description: 'The fleet at a glance: counts of all registered workers by state and by type, and how many are stale.',
    resolve: (_, __, ctx) => ctx.engine.workerQueries.summary(),
  }),
}));

builder.relayMutationField(
  'registerWorker',
  {
    description: 'What a worker declares about itself when it registers.',
    inputFields: (t) => ({
      type: t.field({ type: WorkerTypeEnum, required: true, description: 'The role it declares.' }),
      config: t.field({ type: WorkerConfigInput, description: 'Its parallelism and heartbeat settings; the defaults when not given.' }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object kept as Worker.metadata ({} when not given).' }),
      tools: t.stringList({
        description: 'The tools it can run (router configuration app ids, non-empty, duplicates dropped); none: any tool.',
      }),
    }),
  },
  {
    authScopes: WORKER,
    description:
      'Registers a worker, IDLE, and announces it on workerStateChanged. Needs the worker scope; with that scope only the registering token may act for it. ' +
      'Errors: BAD_USER_INPUT (a config value out of range, metadata not an object, an empty tool), RATE_LIMITED.',
    resolve: async (_, { input }, ctx) => ({ worker: await ctx.engine.workers.register(workerActor(ctx, false), input) }),
  },
  {
    description: 'The worker just registered.',
    outputFields: (t) => ({
      worker: t.field({ type: WorkerRef, description: 'The new worker, IDLE: pass its id to heartbeat, claimTask and completeTask.', resolve: (p) => p.worker }),
    }),
  },
);

builder.relayMutationField(
  'heartbeat',
  {
    description: 'A liveness signal from a worker.',
    inputFields: (t) => ({
      workerId: t.id({ required: true, description: 'The worker sending it (a Worker id); this token must have registered it.' }),
      progress: t.float({ description: 'Progress of its current task, 0..100; none reported when not given.' }),
    }),
  },
  {
    authScopes: WORKER,
    extensions: heartbeatBudget,
    description:
      "Refreshes the worker's lastHeartbeat and progress, putting off its staleness by config.timeoutSeconds, and announces it on workerHeartbeats. " +
      'Errors: NOT_FOUND, FORBIDDEN (not registered by this token), INVALID_TRANSITION (STOPPED or CRASHED), BAD_USER_INPUT (progress outside 0..100), RATE_LIMITED (its own, higher budget).',
    resolve: async (_, { input }, ctx) => ({
      worker: await ctx.engine.workers.heartbeat(workerActor(ctx, false), { ...input, workerId: parseId(input.workerId, 'Worker', 'workerId') }),
    }),
  },
  {
    description: 'The worker that sent the heartbeat.',
    outputFields: (t) => ({ worker: t.field({ type: WorkerRef, description: 'The worker, with the new lastHeartbeat.', resolve: (p) => p.worker }) }),
  },
);

/** Who may steer a worker, and the errors every steering mutation shares (appended to their descriptions). */
const STEERING_ACCESS = 'An operate token may steer any worker, a worker token only those it registered. Errors: NOT_FOUND, FORBIDDEN, RATE_LIMITED,';

/** pauseWorker, resumeWorker, shutdownWorker: input {id}, payload {worker}; `verb` and `after` word their input and payload. */
function steeringMutation(name: string, description: string, verb: string, after: string, act: (ctx: GatewayContext, actor: WorkerActor, id: string) => Promise<Worker>) {
  builder.relayMutationField(
    name,
    {
      description: `Which worker to ${verb}.`,
      inputFields: (t) => ({ id: t.id({ required: true, description: `The worker to ${verb} (a Worker id).` }) }),
    },
    {
      authScopes: REPORT,
      description,
      resolve: async (_, { input }, ctx) => ({ worker: await act(ctx, workerActor(ctx, true), parseId(input.id, 'Worker', 'id')) }),
    },
    {
      description: `The worker after ${name}.`,
      outputFields: (t) => ({ worker: t.field({ type: WorkerRef, description: `The worker, now ${after}.`, resolve: (p) => p.worker }) }),
    },
  );
}

steeringMutation(
  'pauseWorker',
  'IDLE or BUSY -> PAUSED: it takes no task until resumed, and the tasks it holds go back to the queue without counting an attempt; ' +
    'the steps of those attempts still RUNNING are CANCELED. ' +
    `${STEERING_ACCESS} INVALID_TRANSITION (not IDLE or BUSY).`,
  'pause',
  'PAUSED',
  (ctx, actor, id) => ctx.engine.workers.pause(actor, id),
);
steeringMutation('resumeWorker', `PAUSED -> IDLE: it may take tasks again. ${STEERING_ACCESS} INVALID_TRANSITION (not PAUSED).`, 'resume', 'IDLE', (ctx, actor, id) =>
  ctx.engine.workers.resume(actor, id),
);
steeringMutation(
  'shutdownWorker',
  'Stops the worker for good (STOPPED, stoppedAt set); the tasks it holds go back to the queue without counting an attempt, and the steps of those attempts still RUNNING are CANCELED. ' +
    `${STEERING_ACCESS} INVALID_TRANSITION (already STOPPED or CRASHED).`,
  'shut down',
  'STOPPED',
  (ctx, actor, id) => ctx.engine.workers.shutdown(actor, id),
);

builder.relayMutationField(
  'crashWorker',
  {
    description: 'Which worker crashed, and why.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The worker that crashed (a Worker id).' }),
      errorMessage: t.string({ required: true, description: 'What went wrong (non-empty); kept as crashInfo.errorMessage and the state change reason.' }),
      stackTrace: t.string({ description: 'A stack trace, kept as crashInfo.stackTrace.' }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'Records a crash (CRASHED, crashInfo set); the tasks it held count a failed attempt and go back to the queue, or fail for good when none are left; ' +
      'the steps of those attempts still RUNNING are CANCELED. ' +
      `${STEERING_ACCESS} BAD_USER_INPUT (empty errorMessage), INVALID_TRANSITION (already STOPPED or CRASHED).`,
    resolve: async (_, { input }, ctx) => ({
      worker: await ctx.engine.workers.crash(workerActor(ctx, true), { ...input, id: parseId(input.id, 'Worker', 'id') }),
    }),
  },
  {
    description: 'The worker after crashWorker.',
    outputFields: (t) => ({ worker: t.field({ type: WorkerRef, description: 'The worker, now CRASHED.', resolve: (p) => p.worker }) }),
  },
);

/** The workerIds a heartbeat subscriber narrows to: bounded like a page, so a subscription's filter stays small. */
function parseWorkerIds(ids: readonly (string | number)[] | null | undefined): string[] | null {
  if (ids == null) return null;
  if (ids.length > MAX_PAGE_SIZE) throw badInput('workerIds', `at most ${MAX_PAGE_SIZE} workers at once, got ${ids.length}: subscribe to a page of them, or leave workerIds out for every worker`);
  return ids.map((id) => parseId(String(id), 'Worker', 'workerIds'));
}

builder.subscriptionField('workerHeartbeats', (t) =>
  t.field({
    ...liveSubscription(WorkerHeartbeatRef),
    description: 'Heartbeats as they arrive, filtered on the server.',
    args: {
      workerId: t.arg.id({ description: 'Only this worker.' }),
      workerIds: t.arg.idList({
        description: `Only these workers (Worker ids, at most ${MAX_PAGE_SIZE}; more is BAD_USER_INPUT): a page of a fleet, whose other heartbeats need not cross the wire. An empty list matches none.`,
      }),
      types: t.arg({ type: [WorkerTypeEnum], description: 'Only workers of these types.' }),
    },
    subscribe: (_, args, ctx) => ctx.engine.workers.heartbeats({ workerId: parseOptionalId(args.workerId, 'Worker', 'workerId'), workerIds: parseWorkerIds(args.workerIds), types: args.types }),
  }),
);

builder.subscriptionField('workerStateChanged', (t) =>
  t.field({
    ...liveSubscription(WorkerStateChangeRef),
    skipTypeScopes: true,
    authScopes: WORKER_READ,
    description:
      'Registrations and state changes (including crashes found by the reaper), filtered on the server. ' +
      'Read or worker scope: a WORKER-only token watches only a worker it registered (workerId), to see it paused, stopped or judged crashed; else FORBIDDEN (NOT_FOUND for an unknown worker).',
    args: {
      workerId: t.arg.id({ description: 'Only this worker (a Worker id). Required for a WORKER-only token.' }),
      types: t.arg({ type: [WorkerTypeEnum], description: 'Only workers of these types.' }),
    },
    subscribe: (_, args, ctx) => ctx.engine.workers.stateChanges(readerActor(ctx), { workerId: parseOptionalId(args.workerId, 'Worker', 'workerId'), types: args.types }),
  }),
);

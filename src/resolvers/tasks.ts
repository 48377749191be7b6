import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { TaskFilterInput, TaskRef, WorkerRef } from '../schema/workers.js';
import { OPERATE, WORKER, workerActor } from './scopes.js';

builder.queryFields((t) => ({
  task: t.field({
    type: TaskRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.task.load(parseId(args.id, 'Task', 'id')),
  }),
  tasks: t.connection(
    {
      type: TaskRef,
      description: 'Tasks, newest first.',
      args: { filter: t.arg({ type: TaskFilterInput }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.workerQueries.listTasks(
          {
            states: filter?.states,
            kinds: filter?.kinds,
            runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId'),
            workerId: parseOptionalId(filter?.workerId, 'Worker', 'filter.workerId'),
          },
          page,
        );
        for (const { node } of result.edges) ctx.loaders.task.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'TaskConnection',
      fields: (c) => ({ totalCount: c.int({ description: 'Tasks matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'TaskEdge' },
  ),
}));

builder.relayMutationField(
  'createTask',
  {
    inputFields: (t) => ({
      kind: t.string({ required: true, description: 'What the task is (workers claim by kind).' }),
      runId: t.id({ description: 'The run it belongs to: its changes are then logged as run events.' }),
      payload: t.field({ type: 'JSON', description: 'A JSON object handed to the worker.' }),
      maxAttempts: t.int({ description: 'Attempts before it fails for good; 3 when not given.' }),
      timeoutSeconds: t.float({ description: 'How long one attempt may run before the reaper takes it back (counted as a failed attempt).' }),
    }),
  },
  {
    authScopes: OPERATE,
    description: 'Queues a task, PENDING until a worker claims it or an operator assigns it.',
    resolve: async (_, { input }, ctx) => ({
      task: await ctx.engine.tasks.create({ ...input, runId: parseOptionalId(input.runId, 'Run', 'runId') }),
    }),
  },
  { outputFields: (t) => ({ task: t.field({ type: TaskRef, resolve: (p) => p.task }) }) },
);

builder.relayMutationField(
  'claimTask',
  {
    inputFields: (t) => ({
      workerId: t.id({ required: true }),
      kinds: t.stringList({ description: 'Only tasks of these kinds; any kind when not given.' }),
    }),
  },
  {
    authScopes: WORKER,
    description: 'Leases the oldest pending task (of the given kinds) to the worker; task is null when none is ready. Each task goes to exactly one claimer.',
    resolve: async (_, { input }, ctx) => {
      const workerId = parseId(input.workerId, 'Worker', 'workerId');
      const claimed = await ctx.engine.tasks.claim(workerActor(ctx, false), { workerId, kinds: input.kinds });
      return claimed ?? { task: null, worker: null };
    },
  },
  {
    outputFields: (t) => ({
      task: t.field({ type: TaskRef, nullable: true, resolve: (p) => p.task }),
      worker: t.field({ type: WorkerRef, nullable: true, description: 'The worker after the claim; null when nothing was claimed.', resolve: (p) => p.worker }),
    }),
  },
);

builder.relayMutationField(
  'assignTask',
  { inputFields: (t) => ({ workerId: t.id({ required: true }), taskId: t.id({ required: true }) }) },
  {
    authScopes: OPERATE,
    description: 'Hands a particular pending task to a worker that has room for it.',
    resolve: async (_, { input }, ctx) =>
      ctx.engine.tasks.assign(workerActor(ctx, true), {
        workerId: parseId(input.workerId, 'Worker', 'workerId'),
        taskId: parseId(input.taskId, 'Task', 'taskId'),
      }),
  },
  {
    outputFields: (t) => ({
      task: t.field({ type: TaskRef, resolve: (p) => p.task }),
      worker: t.field({ type: WorkerRef, resolve: (p) => p.worker }),
    }),
  },
);

builder.relayMutationField(
  'completeTask',
  {
    inputFields: (t) => ({
      workerId: t.id({ required: true }),
      taskId: t.id({ description: 'Which task ended; needed only when the worker holds more than one.' }),
      success: t.boolean({ required: true }),
      executionTimeSeconds: t.float({ description: 'Seconds; measured from the lease when not given.' }),
      result: t.field({ type: 'JSON', description: 'A JSON object kept with the task.' }),
      error: t.string(),
    }),
  },
  {
    authScopes: WORKER,
    description:
      "Ends the worker's task. Success completes it; failure counts the attempt and puts it back for another worker while attempts remain. " +
      "Updates the worker's statistics; a worker left with no task is IDLE again.",
    resolve: async (_, { input }, ctx) =>
      ctx.engine.tasks.complete(workerActor(ctx, false), {
        ...input,
        workerId: parseId(input.workerId, 'Worker', 'workerId'),
        taskId: parseOptionalId(input.taskId, 'Task', 'taskId'),
      }),
  },
  {
    outputFields: (t) => ({
      task: t.field({ type: TaskRef, resolve: (p) => p.task }),
      worker: t.field({ type: WorkerRef, resolve: (p) => p.worker }),
    }),
  },
);

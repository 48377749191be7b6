import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { TaskFilterInput, TaskRef, WorkerRef } from '../schema/workers.js';
import { OPERATE, WORKER, WORKER_READ, readerActor, workerActor } from './scopes.js';

builder.queryFields((t) => ({
  task: t.field({
    type: TaskRef,
    nullable: true,
    description: 'Loads one task by its id; null when none has that id.',
    args: { id: t.arg.id({ required: true, description: 'A Task global id (an id of another type is BAD_USER_INPUT).' }) },
    resolve: (_, args, ctx) => ctx.loaders.task.load(parseId(args.id, 'Task', 'id')),
  }),
  tasks: t.connection(
    {
      type: TaskRef,
      skipTypeScopes: true,
      authScopes: WORKER_READ,
      description:
        'Tasks in any state, newest queued first. Read or worker scope: a WORKER-only token lists only the tasks of a worker it registered (filter.workerId, ' +
        'e.g. those it holds after a lost claimTask reply), else FORBIDDEN (NOT_FOUND for an unknown worker).',
      args: { filter: t.arg({ type: TaskFilterInput, description: 'Only tasks matching it; every task when not given (a WORKER-only token must give workerId).' }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.workerQueries.listTasks(
          readerActor(ctx),
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
      description: 'A page of tasks, newest queued first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Tasks matching the filter, on every page.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'TaskEdge', description: 'A task and its cursor.' },
  ),
}));

builder.relayMutationField(
  'createTask',
  {
    description: 'A task to queue.',
    inputFields: (t) => ({
      kind: t.string({ required: true, description: 'What the task is (workers claim by kind); non-empty, at most 200 characters.' }),
      runId: t.id({ description: 'The run it belongs to (a Run id), PENDING or RUNNING: its changes are then logged as run events.' }),
      payload: t.field({ type: 'JSON', description: 'A JSON object handed to the worker ({} when not given).' }),
      maxAttempts: t.int({ description: 'Counted attempts before it fails for good, 1..100; 3 when not given.' }),
      timeoutSeconds: t.float({
        description: 'Seconds (more than 0) one attempt may run before the reaper takes it back as a failed attempt; no limit when not given.',
      }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      'Queues a task, PENDING until a worker claims it or an operator assigns it; needs the operate scope. ' +
      'Errors: BAD_USER_INPUT (a field out of range), NOT_FOUND (no run has that runId), BUDGET_EXCEEDED (its run was halted by a budget), ' +
      'INVALID_TRANSITION (its run has ended: SUCCEEDED, FAILED, CANCELED or QUARANTINED; the error names the state), RATE_LIMITED.',
    resolve: async (_, { input }, ctx) => ({
      task: await ctx.engine.tasks.create({ ...input, runId: parseOptionalId(input.runId, 'Run', 'runId') }),
    }),
  },
  {
    description: 'The task just queued.',
    outputFields: (t) => ({ task: t.field({ type: TaskRef, description: 'The new task, PENDING.', resolve: (p) => p.task }) }),
  },
);

builder.relayMutationField(
  'claimTask',
  {
    description: 'Which worker claims, and which kinds of task it takes.',
    inputFields: (t) => ({
      workerId: t.id({ required: true, description: 'The claiming worker (a Worker id); this token must have registered it.' }),
      kinds: t.stringList({ description: 'Only tasks of these kinds (at most 50); any kind when not given or empty.' }),
      runId: t.id({
        description:
          'Only tasks of this run (a Run id), for a worker that works for one run: NOT_FOUND for an unknown run, and BUDGET_EXCEEDED once a HALT budget stopped it ' +
          "(or its project's HALT budget is spent), so the worker knows to stop. Any run's tasks, and tasks without a run, when not given.",
      }),
      routedOnly: t.boolean({
        defaultValue: false,
        description:
          'true: only tasks the router routed to a tool this worker runs (any routed task, for a worker that named no tools at registration), never a task routed to no tool ' +
          '(a createTask task, which names none), for a worker that runs only tools, as `uet-gateway worker` does. false (the default): such tasks are claimed too.',
      }),
    }),
  },
  {
    authScopes: WORKER,
    description:
      "Leases the oldest ready PENDING task (of the given kinds and run, that the worker's tools allow) to the worker, which turns BUSY; task is null when none is ready. " +
      'Each task goes to exactly one claimer, however many claim at once. A task routed to a tool that takes no call now (its circuit breaker OPEN, or HALF_OPEN with its trial attempt running) ' +
      'is routed again first, passing that tool over, and is left for another worker if this one does not run the new tool; leasing a task on a HALF_OPEN tool makes it the trial. ' +
      'Tasks of runs a HALT budget stopped are passed over (never leased, never in the way of other tasks): ' +
      'without runId the claim then just returns null. Errors: NOT_FOUND (worker or run), FORBIDDEN (not registered by this token), ' +
      'INVALID_TRANSITION (worker PAUSED, STOPPED, CRASHED, or at maxParallelTasks), BUDGET_EXCEEDED (runId names a run a HALT budget stopped), BAD_USER_INPUT (kinds), RATE_LIMITED.',
    resolve: async (_, { input }, ctx) => {
      const workerId = parseId(input.workerId, 'Worker', 'workerId');
      const claimed = await ctx.engine.tasks.claim(workerActor(ctx, false), {
        workerId,
        kinds: input.kinds,
        runId: parseOptionalId(input.runId, 'Run', 'runId'),
        routedOnly: input.routedOnly,
      });
      return claimed ?? { task: null, worker: null };
    },
  },
  {
    description: 'What the claim leased, if anything.',
    outputFields: (t) => ({
      task: t.field({ type: TaskRef, nullable: true, description: 'The task leased, now RUNNING; null when none was ready.', resolve: (p) => p.task }),
      worker: t.field({ type: WorkerRef, nullable: true, description: 'The worker after the claim; null when nothing was claimed.', resolve: (p) => p.worker }),
    }),
  },
);

builder.relayMutationField(
  'assignTask',
  {
    description: 'Which task goes to which worker.',
    inputFields: (t) => ({
      workerId: t.id({ required: true, description: 'The worker to take it (a Worker id).' }),
      taskId: t.id({ required: true, description: 'The PENDING task to hand over (a Task id).' }),
    }),
  },
  {
    authScopes: OPERATE,
    description:
      'Leases a particular PENDING task to a worker that is IDLE, or BUSY with a free slot; needs the operate scope. Errors: NOT_FOUND, ' +
      'INVALID_TRANSITION (task not PENDING, or worker without room), NO_ROUTE (task has no tool yet, or its tool takes no call now: circuit OPEN, or HALF_OPEN with its trial running), ' +
      'BAD_USER_INPUT (worker does not run its tool), ' +
      'BUDGET_EXCEEDED (its run was halted), RATE_LIMITED.',
    resolve: async (_, { input }, ctx) =>
      ctx.engine.tasks.assign(workerActor(ctx, true), {
        workerId: parseId(input.workerId, 'Worker', 'workerId'),
        taskId: parseId(input.taskId, 'Task', 'taskId'),
      }),
  },
  {
    description: 'The task and the worker after the lease.',
    outputFields: (t) => ({
      task: t.field({ type: TaskRef, description: 'The task, now RUNNING on the worker.', resolve: (p) => p.task }),
      worker: t.field({ type: WorkerRef, description: 'The worker, now BUSY.', resolve: (p) => p.worker }),
    }),
  },
);

builder.relayMutationField(
  'completeTask',
  {
    description: "A worker's report that one of its tasks ended.",
    inputFields: (t) => ({
      workerId: t.id({ required: true, description: 'The reporting worker (a Worker id); this token must have registered it.' }),
      taskId: t.id({ description: 'Which task ended (a Task id); needed only when the worker holds more than one.' }),
      success: t.boolean({ required: true, description: 'true: the task completed; false: this attempt failed.' }),
      executionTimeSeconds: t.float({ description: 'Seconds the attempt took (0 or more); measured from the lease when not given.' }),
      result: t.field({ type: 'JSON', description: 'A JSON object kept as Task.result on success (ignored on failure).' }),
      error: t.string({
        description: "Why it failed, kept as Task.error on failure (ignored on success); 'the worker reported a failure' when not given.",
      }),
    }),
  },
  {
    authScopes: WORKER,
    description:
      "Ends the worker's task: success completes it; failure counts the attempt and puts it back (after any retry delay) while attempts remain, else fails it for good. " +
      "Updates the worker's statistics; a worker left with no task is IDLE again. A step of this attempt still RUNNING is CANCELED (complete steps first). " +
      'Errors: NOT_FOUND, FORBIDDEN (not registered by this token), INVALID_TRANSITION (worker not BUSY, or task not RUNNING on it), ' +
      'BAD_USER_INPUT (taskId missing while it holds several, a field out of range), RATE_LIMITED.',
    resolve: async (_, { input }, ctx) =>
      ctx.engine.tasks.complete(workerActor(ctx, false), {
        ...input,
        workerId: parseId(input.workerId, 'Worker', 'workerId'),
        taskId: parseOptionalId(input.taskId, 'Task', 'taskId'),
      }),
  },
  {
    description: 'The task and the worker after the report.',
    outputFields: (t) => ({
      task: t.field({ type: TaskRef, description: 'The task: COMPLETED, FAILED for good, or PENDING again for another attempt.', resolve: (p) => p.task }),
      worker: t.field({ type: WorkerRef, description: 'The worker with updated statistics; IDLE when it holds no other task.', resolve: (p) => p.worker }),
    }),
  },
);

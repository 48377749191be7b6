import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { RunEventSchema, TaskSchema } from '../../src/engine/runs/entities.js';
import { WorkerSchema } from '../../src/engine/workers/entities.js';
import { workerMachine } from '../../src/engine/workers/machines.js';
import { codes, createRun, startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';

let server: TestServer;
const clock = new ManualClock('2026-11-25T08:00:00.000Z');

beforeAll(async () => {
  // The reaper is called by the tests themselves; the clock only moves when they say.
  server = await startTestServer({ clock, jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

const WORKER_FIELDS = `id type state stoppedAt activeTaskCount currentTask { id kind state }
  crashInfo { crashedAt errorMessage stackTrace }
  statistics { tasksCompleted tasksFailed totalExecutionTime avgTaskDuration }
  config { maxParallelTasks heartbeatInterval timeoutSeconds }`;

async function register(input: Record<string, unknown> = {}): Promise<any> {
  const data = await ok(`mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { worker { ${WORKER_FIELDS} } } }`, {
    input: { type: 'EXECUTOR', ...input },
  });
  return data.registerWorker.worker;
}

async function createTask(input: Record<string, unknown> = {}): Promise<any> {
  const data = await ok(`mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id kind state attempts maxAttempts } } }`, {
    input: { kind: 'build', ...input },
  });
  return data.createTask.task;
}

const assign = (workerId: string, taskId: string) =>
  ok(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id state } worker { state } } }`, {
    w: workerId,
    t: taskId,
  });

const complete = (input: Record<string, unknown>) =>
  server.gql(`mutation($input: CompleteTaskInput!) { completeTask(input: $input) { task { id state attempts error result executionTimeSeconds } worker { ${WORKER_FIELDS} } } }`, { input });

/** Rows that a refused call must leave alone. */
async function snapshot() {
  // Buffered heartbeats first: the 1 s flush timer would otherwise write them between two snapshots.
  await server.engine.liveWorkers.flush();
  const em = server.engine.orm.em.fork();
  const [workers, tasks, events] = await Promise.all([em.find(WorkerSchema, {}, { orderBy: { id: 'asc' } }), em.find(TaskSchema, {}, { orderBy: { id: 'asc' } }), em.count(RunEventSchema, {})]);
  return { workers: workers.map((w) => JSON.stringify(w)), tasks: tasks.map((t) => JSON.stringify(t)), events };
}

type State = 'IDLE' | 'BUSY' | 'PAUSED' | 'STOPPED' | 'CRASHED';
const STATES: State[] = ['IDLE', 'BUSY', 'PAUSED', 'STOPPED', 'CRASHED'];

/** A fresh worker (max one task) driven to `state` through the API. */
async function workerIn(state: State): Promise<string> {
  const { id } = await register();
  if (state === 'BUSY') await assign(id, (await createTask({ kind: 'table' })).id);
  if (state === 'PAUSED') await ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id });
  if (state === 'STOPPED') await ok(`mutation($id: ID!) { shutdownWorker(input: {id: $id}) { worker { id } } }`, { id });
  if (state === 'CRASHED') await ok(`mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "earlier"}) { worker { id } } }`, { id });
  return id;
}

/** Each mutation that moves a worker, the state it moves to, and the states it is allowed from. */
const MOVES: { name: string; to: State; from: State[]; call: (id: string) => Promise<GraphQLResponse> }[] = [
  {
    name: 'claimTask',
    to: 'BUSY',
    from: ['IDLE'],
    call: async (id) => {
      await createTask({ kind: 'claim-table' });
      return server.gql(`mutation($id: ID!) { claimTask(input: {workerId: $id, kinds: ["claim-table"]}) { task { state } worker { state } } }`, { id });
    },
  },
  { name: 'completeTask', to: 'IDLE', from: ['BUSY'], call: (id) => complete({ workerId: id, success: true }) },
  { name: 'resumeWorker', to: 'IDLE', from: ['PAUSED'], call: (id) => server.gql(`mutation($id: ID!) { resumeWorker(input: {id: $id}) { worker { state } } }`, { id }) },
  { name: 'pauseWorker', to: 'PAUSED', from: ['IDLE', 'BUSY'], call: (id) => server.gql(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state } } }`, { id }) },
  {
    name: 'shutdownWorker',
    to: 'STOPPED',
    from: ['IDLE', 'BUSY', 'PAUSED'],
    call: (id) => server.gql(`mutation($id: ID!) { shutdownWorker(input: {id: $id}) { worker { state stoppedAt } } }`, { id }),
  },
  {
    name: 'crashWorker',
    to: 'CRASHED',
    from: ['IDLE', 'BUSY', 'PAUSED'],
    call: (id) =>
      server.gql(`mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "segfault", stackTrace: "at main"}) { worker { state crashInfo { errorMessage stackTrace } } } }`, { id }),
  },
];

describe('the worker state machine (docs/domain.md#workers)', () => {
  it('the mutations together allow exactly the transitions of the table', () => {
    const allowed = MOVES.flatMap((m) => m.from.map((from) => `${from}->${m.to}`));
    const table = STATES.flatMap((from) => STATES.filter((to) => workerMachine.allows(from.toLowerCase() as never, to.toLowerCase() as never)).map((to) => `${from}->${to}`));
    expect(new Set(allowed)).toEqual(new Set(table));
    expect(table).toHaveLength(11);
  });

  const cases = MOVES.flatMap((move) => STATES.map((from) => [move.name, from, move.from.includes(from)] as const));
  it.each(cases)('%s from %s (allowed: %s)', async (name, from, allowed) => {
    const move = MOVES.find((m) => m.name === name)!;
    const id = await workerIn(from);
    const before = await snapshot();
    const res = await move.call(id);
    const after = await ok(`query($id: ID!) { worker(id: $id) { state } }`, { id });
    if (allowed) {
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      expect(after.worker.state).toBe(move.to);
    } else {
      expect(codes(res)).toEqual(['INVALID_TRANSITION']);
      expect(res.errors?.[0]?.extensions?.currentState).toBe(from);
      expect(after.worker.state).toBe(from);
      // The claim's own fixture (a new pending task) is the only difference.
      const now = await snapshot();
      expect(now.workers).toEqual(before.workers);
      expect(now.events).toBe(before.events);
      expect(now.tasks.slice(0, before.tasks.length)).toEqual(before.tasks);
    }
  });

  it('records stoppedAt on shutdown and crashInfo on a crash', async () => {
    const stopped = (await MOVES[4]!.call(await workerIn('IDLE'))).data!.shutdownWorker.worker;
    expect(stopped.stoppedAt).toBe(clock.now().toISOString());
    const crashed = (await MOVES[5]!.call(await workerIn('BUSY'))).data!.crashWorker.worker;
    expect(crashed.crashInfo).toEqual({ errorMessage: 'segfault', stackTrace: 'at main' });
  });

  it('refuses a heartbeat for a stopped or crashed worker, and takes one from a paused worker', async () => {
    for (const state of ['STOPPED', 'CRASHED'] as const) {
      const id = await workerIn(state);
      const res = await server.gql(`mutation($id: ID!) { heartbeat(input: {workerId: $id}) { worker { id } } }`, { id });
      expect(codes(res)).toEqual(['INVALID_TRANSITION']);
      expect(res.errors?.[0]?.extensions?.currentState).toBe(state);
    }
    const paused = await workerIn('PAUSED');
    const beat = await server.gql(`mutation($id: ID!) { heartbeat(input: {workerId: $id, progress: 3}) { worker { state progress lastHeartbeat } } }`, { id: paused });
    expect(beat.data?.heartbeat.worker).toEqual({ state: 'PAUSED', progress: 3, lastHeartbeat: clock.now().toISOString() });
  });
});

describe('tasks and statistics', () => {
  it('a new worker has zero statistics and an average of 0', async () => {
    const worker = await register();
    expect(worker.statistics).toEqual({ tasksCompleted: 0, tasksFailed: 0, totalExecutionTime: 0, avgTaskDuration: 0 });
    expect(worker.config).toEqual({ maxParallelTasks: 1, heartbeatInterval: null, timeoutSeconds: 60 });
  });

  it('sums execution times and derives the average from completed and failed tasks', async () => {
    const { id } = await register({ config: { timeoutSeconds: 600, heartbeatInterval: 5 } });
    const runs: [boolean, number | null][] = [
      [true, 1.5],
      [false, 2.5],
      [true, null],
    ];
    let worker: any;
    for (const [success, seconds] of runs) {
      const task = await createTask({ kind: 'stats', maxAttempts: 1 });
      await assign(id, task.id);
      clock.advance(2_000);
      const res = await complete({ workerId: id, success, executionTimeSeconds: seconds, error: success ? null : 'red' });
      expect(res.errors).toBeUndefined();
      worker = res.data!.completeTask.worker;
      // Not given: measured from the lease on the engine's clock.
      expect(res.data!.completeTask.task.executionTimeSeconds).toBe(seconds ?? 2);
    }
    expect(worker.statistics).toEqual({ tasksCompleted: 2, tasksFailed: 1, totalExecutionTime: 6, avgTaskDuration: 2 });
    expect(worker.state).toBe('IDLE');
    expect(worker.currentTask).toBeNull();
  });

  it('retries a failed task on another worker until its attempts run out, logging each step on its run', async () => {
    const runId = await createRun(server);
    const task = await createTask({ kind: 'flaky', runId, maxAttempts: 2, payload: { file: 'a.ts' } });
    const first = await register();
    await assign(first.id, task.id);
    const once = await complete({ workerId: first.id, success: false, error: 'exit 1' });
    expect(once.data!.completeTask.task).toMatchObject({ state: 'PENDING', attempts: 1, error: 'exit 1' });

    const second = await register();
    const claimed = await ok(`mutation($id: ID!) { claimTask(input: {workerId: $id, kinds: ["flaky"]}) { task { id state worker { id } } } }`, {
      id: second.id,
    });
    expect(claimed.claimTask.task).toEqual({ id: task.id, state: 'RUNNING', worker: { id: second.id } });
    const twice = await complete({ workerId: second.id, success: false, error: 'exit 2' });
    expect(twice.data!.completeTask.task).toMatchObject({ state: 'FAILED', attempts: 2, error: 'exit 2' });

    const log = await ok(`query($id: ID!) { run(id: $id) { counters { errors } events(first: 20) { edges { node { kind payload } } } } }`, { id: runId });
    expect(log.run.events.edges.map((e: any) => e.node.kind)).toEqual(['RUN_CREATED', 'TASK_CREATED', 'TASK_STARTED', 'TASK_REQUEUED', 'TASK_STARTED', 'TASK_FAILED']);
    expect(log.run.events.edges[5].node.payload).toMatchObject({ attempts: 2, error: 'failed after 2 attempts: exit 2', kind: 'flaky' });
    expect(log.run.counters.errors).toBe(1);
  });

  it('a worker with room for two holds two tasks, and completing needs the task named', async () => {
    const { id } = await register({ type: 'CUSTOM', config: { maxParallelTasks: 2 } });
    const [a, b] = [await createTask({ kind: 'pair' }), await createTask({ kind: 'pair' })];
    const claim = () => server.gql(`mutation($id: ID!) { claimTask(input: {workerId: $id, kinds: ["pair"]}) { task { id } worker { state activeTaskCount currentTask { id } } } }`, { id });
    expect((await claim()).data!.claimTask).toEqual({ task: { id: a.id }, worker: { state: 'BUSY', activeTaskCount: 1, currentTask: { id: a.id } } });
    expect((await claim()).data!.claimTask).toEqual({ task: { id: b.id }, worker: { state: 'BUSY', activeTaskCount: 2, currentTask: { id: b.id } } });
    await createTask({ kind: 'pair' });
    const full = await claim();
    expect(codes(full)).toEqual(['INVALID_TRANSITION']);
    expect(full.errors?.[0]?.message).toContain('2 of 2 tasks');

    const unnamed = await complete({ workerId: id, success: true });
    expect(codes(unnamed)).toEqual(['BAD_USER_INPUT']);
    const first = await complete({ workerId: id, taskId: b.id, success: true, result: { ok: true } });
    expect(first.data!.completeTask.task).toMatchObject({ id: b.id, state: 'COMPLETED', result: { ok: true } });
    expect(first.data!.completeTask.worker).toMatchObject({ state: 'BUSY', activeTaskCount: 1, currentTask: { id: a.id } });
    const again = await complete({ workerId: id, taskId: b.id, success: true });
    expect(codes(again)).toEqual(['INVALID_TRANSITION']);
    const last = await complete({ workerId: id, success: true });
    expect(last.data!.completeTask.worker).toMatchObject({ state: 'IDLE', activeTaskCount: 0, currentTask: null });
  });

  it('pausing a busy worker hands its task back without counting an attempt; a paused worker claims nothing', async () => {
    const { id } = await register();
    const task = await createTask({ kind: 'paused-kind' });
    await assign(id, task.id);
    const paused = await ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state activeTaskCount currentTask { id } } } }`, { id });
    expect(paused.pauseWorker.worker).toEqual({ state: 'PAUSED', activeTaskCount: 0, currentTask: null });
    expect((await ok(`query($id: ID!) { task(id: $id) { state attempts worker { id } } }`, { id: task.id })).task).toEqual({
      state: 'PENDING',
      attempts: 0,
      worker: null,
    });
    const claim = await server.gql(`mutation($id: ID!) { claimTask(input: {workerId: $id}) { task { id } } }`, { id });
    expect(codes(claim)).toEqual(['INVALID_TRANSITION']);
  });

  it('a crash counts the attempt of the task it held', async () => {
    const { id } = await register();
    const task = await createTask({ kind: 'crashy', maxAttempts: 1 });
    await assign(id, task.id);
    await ok(`mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "OOM killed"}) { worker { id } } }`, { id });
    const after = await ok(`query($id: ID!) { task(id: $id) { state attempts error } }`, { id: task.id });
    expect(after.task).toMatchObject({ state: 'FAILED', attempts: 1 });
    expect(after.task.error).toContain('OOM killed');
  });

  it('claimTask returns null when nothing of those kinds is ready, and changes nothing', async () => {
    const { id } = await register();
    const before = await snapshot();
    const res = await ok(`mutation($id: ID!) { claimTask(input: {workerId: $id, kinds: ["nothing-like-this"]}) { task { id } worker { id } } }`, { id });
    expect(res.claimTask).toEqual({ task: null, worker: null });
    expect(await snapshot()).toEqual(before);
  });
});

describe('bad input', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['progress above 100', `mutation($w: ID!) { heartbeat(input: {workerId: $w, progress: 101}) { worker { id } } }`, {}, 'BAD_USER_INPUT'],
    ['maxParallelTasks 0', `mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 0}}) { worker { id } } }`, {}, 'BAD_USER_INPUT'],
    ['a negative timeout', `mutation { registerWorker(input: {type: EXECUTOR, config: {timeoutSeconds: -1}}) { worker { id } } }`, {}, 'BAD_USER_INPUT'],
    [
      'a heartbeat interval as long as the timeout',
      `mutation { registerWorker(input: {type: EXECUTOR, config: {timeoutSeconds: 10, heartbeatInterval: 10}}) { worker { id } } }`,
      {},
      'BAD_USER_INPUT',
    ],
    [
      'a heartbeat interval longer than the default 60 s timeout (timeoutSeconds not given)',
      `mutation { registerWorker(input: {type: EXECUTOR, config: {heartbeatInterval: 120}}) { worker { id } } }`,
      {},
      'BAD_USER_INPUT',
    ],
    [
      'a heartbeat interval as long as the default timeout',
      `mutation { registerWorker(input: {type: EXECUTOR, config: {heartbeatInterval: 60, maxParallelTasks: 2}}) { worker { id } } }`,
      {},
      'BAD_USER_INPUT',
    ],
    ['metadata that is not an object', `mutation { registerWorker(input: {type: EXECUTOR, metadata: [1]}) { worker { id } } }`, {}, 'BAD_USER_INPUT'],
    ['maxAttempts 0', `mutation { createTask(input: {kind: "k", maxAttempts: 0}) { task { id } } }`, {}, 'BAD_USER_INPUT'],
    ['an empty kind', `mutation { createTask(input: {kind: " "}) { task { id } } }`, {}, 'BAD_USER_INPUT'],
    ['a run that does not exist', `mutation($r: ID!) { createTask(input: {kind: "k", runId: $r}) { task { id } } }`, { r: 'UnVuOjAxSkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB' }, 'NOT_FOUND'],
    ['a worker that does not exist', `mutation($w: ID!) { heartbeat(input: {workerId: $w}) { worker { id } } }`, { w: 'V29ya2VyOjAxSkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB' }, 'NOT_FOUND'],
    ['a run id where a worker id belongs', `mutation($w: ID!) { heartbeat(input: {workerId: $w}) { worker { id } } }`, { w: 'UnVuOjAxSkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB' }, 'BAD_USER_INPUT'],
    ['a negative execution time', `mutation($w: ID!) { completeTask(input: {workerId: $w, success: true, executionTimeSeconds: -1}) { task { id } } }`, {}, 'BAD_USER_INPUT'],
    ['staleWorkers first above 100', `{ staleWorkers(first: 101) { id } }`, {}, 'BAD_USER_INPUT'],
  ];
  it.each(cases)('%s is refused (%s) and writes nothing', async (_label, query, variables, code) => {
    const { id } = await register();
    const before = await snapshot();
    const res = await server.gql(query, { w: id, ...variables });
    expect(codes(res)).toEqual([code]);
    expect(await snapshot()).toEqual(before);
  });
});

describe('heartbeat interval and timeout', () => {
  it('is measured against the default timeout when timeoutSeconds is not given, and the error says so', async () => {
    const res = await server.gql(`mutation { registerWorker(input: {type: EXECUTOR, config: {heartbeatInterval: 120}}) { worker { id } } }`);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain('default timeout of 60 s');
    expect(res.errors?.[0]?.extensions).toMatchObject({ field: 'config.heartbeatInterval', heartbeatInterval: 120, timeoutSeconds: 60 });
    // Below the default, or below a longer timeout given with it, it is accepted.
    expect((await register({ config: { heartbeatInterval: 59 } })).config).toEqual({ maxParallelTasks: 1, heartbeatInterval: 59, timeoutSeconds: 60 });
    expect((await register({ config: { heartbeatInterval: 120, timeoutSeconds: 300 } })).config).toEqual({ maxParallelTasks: 1, heartbeatInterval: 120, timeoutSeconds: 300 });
  });
});

describe('tasks of a run that has ended', () => {
  const endings: [string, (runId: string) => Promise<unknown>][] = [
    ['SUCCEEDED', (id) => ok(`mutation($id: ID!) { completeRun(input: {id: $id, state: SUCCEEDED, exitCode: 0}) { run { state } } }`, { id })],
    ['FAILED', (id) => ok(`mutation($id: ID!) { completeRun(input: {id: $id, state: FAILED, exitCode: 1}) { run { state } } }`, { id })],
    ['CANCELED', (id) => ok(`mutation($id: ID!) { cancelRun(input: {id: $id, reason: "done with it"}) { run { state } } }`, { id })],
    ['QUARANTINED', (id) => ok(`mutation($id: ID!) { quarantineRun(input: {id: $id, reason: "suspicious"}) { run { state } } }`, { id })],
  ];

  async function runningRun(): Promise<string> {
    const runId = await createRun(server);
    await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { state } } }`, { id: runId });
    return runId;
  }

  it.each(endings)('createTask for a %s run is refused with INVALID_TRANSITION and writes nothing', async (state, end) => {
    const runId = await runningRun();
    await end(runId);
    const before = await snapshot();
    const res = await server.gql(`mutation($r: ID!) { createTask(input: {kind: "too-late", runId: $r}) { task { id } } }`, { r: runId });
    expect(codes(res)).toEqual(['INVALID_TRANSITION']);
    expect(res.errors?.[0]?.extensions).toMatchObject({ entity: 'Run', currentState: state });
    expect(res.errors?.[0]?.message).toContain(`is ${state}`);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['fails an attempt', async (workerId: string, taskId: string) => complete({ workerId, taskId, success: false, error: 'boom' }), true],
    ['is handed back by a paused worker', async (workerId: string) => ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: workerId }), false],
  ] as const)('a running task whose run ended and that %s is SKIPPED, not put back in the queue', async (_how, end, counted) => {
    const runId = await runningRun();
    const task = await createTask({ kind: 'outlived', runId, maxAttempts: 3 });
    const { id: workerId } = await register();
    await assign(workerId, task.id);
    await ok(`mutation($id: ID!) { cancelRun(input: {id: $id, reason: "stop"}) { run { state } } }`, { id: runId });
    await end(workerId, task.id);
    const after = await ok(`query($t: ID!) { task(id: $t) { state attempts error endedAt worker { id } } }`, { t: task.id });
    expect(after.task).toMatchObject({ state: 'SKIPPED', attempts: counted ? 1 : 0, worker: null, endedAt: clock.now().toISOString() });
    expect(after.task.error).toMatch(/^run canceled: not retried after /);
    const other = await register();
    expect((await ok(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["outlived"]}) { task { id } } }`, { w: other.id })).claimTask.task).toBeNull();
    const events = await ok(`query($r: ID!) { runEvents(runId: $r, kinds: [TASK_REQUEUED, TASK_SKIPPED]) { edges { node { kind payload } } } }`, { r: runId });
    expect(events.runEvents.edges.map((e: any) => e.node.kind)).toEqual(['TASK_SKIPPED']);
    expect(events.runEvents.edges[0].node.payload).toMatchObject({ attempts: counted ? 1 : 0, counted });
  });
});

describe('queries', () => {
  it('workers filter by state and type, page newest first, and count', async () => {
    const monitors = [await register({ type: 'MONITOR' }), await register({ type: 'MONITOR' }), await register({ type: 'MONITOR' })];
    await ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: monitors[1].id });
    const page = await ok(`{ workers(first: 2, filter: {types: [MONITOR]}) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`);
    expect(page.workers.totalCount).toBe(3);
    expect(page.workers.edges.map((e: any) => e.node.id)).toEqual([monitors[2].id, monitors[1].id]);
    const rest = await ok(`query($after: String) { workers(first: 2, after: $after, filter: {types: [MONITOR]}) { edges { node { id } } pageInfo { hasNextPage } } }`, {
      after: page.workers.pageInfo.endCursor,
    });
    expect(rest.workers.edges.map((e: any) => e.node.id)).toEqual([monitors[0].id]);
    expect(rest.workers.pageInfo.hasNextPage).toBe(false);
    const paused = await ok(`{ workers(filter: {types: [MONITOR], states: [PAUSED]}) { totalCount edges { node { id state } } } }`);
    expect(paused.workers).toEqual({ totalCount: 1, edges: [{ node: { id: monitors[1].id, state: 'PAUSED' } }] });
  });

  it('tasks filter by state, kind, run and worker', async () => {
    const runId = await createRun(server);
    const { id: workerId } = await register({ type: 'SCHEDULER' });
    const a = await createTask({ kind: 'q-lint', runId });
    const b = await createTask({ kind: 'q-test', runId });
    await createTask({ kind: 'q-lint' });
    await assign(workerId, b.id);
    const ids = async (filter: Record<string, unknown>) =>
      (await ok(`query($f: TaskFilter) { tasks(first: 10, filter: $f) { totalCount edges { node { id } } } }`, { f: filter })).tasks.edges.map((e: any) => e.node.id);
    expect(await ids({ runId })).toEqual([b.id, a.id]);
    expect(await ids({ runId, kinds: ['q-lint'] })).toEqual([a.id]);
    expect(await ids({ workerId })).toEqual([b.id]);
    expect(await ids({ runId, states: ['PENDING'] })).toEqual([a.id]);
  });

  it('node(id:) loads workers and tasks', async () => {
    const { id } = await register();
    const task = await createTask();
    const res = await ok(`query($a: ID!, $b: ID!) { a: node(id: $a) { __typename id } b: node(id: $b) { __typename id } }`, { a: id, b: task.id });
    expect(res).toEqual({ a: { __typename: 'Worker', id }, b: { __typename: 'Task', id: task.id } });
  });
});

import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { ADMIN_SECRET, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

let server: TestServer;
const clock = new ManualClock('2026-11-25T09:00:00.000Z');

beforeAll(async () => {
  server = await startTestServer({ clock, jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0, heartbeatsPerMinute: 0 } });
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

/** One operation over an open graphql-ws client; fails on any error. */
async function over<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const op = subscribe(client, query, variables);
  await op.done;
  const [result] = op.results;
  if (!result) throw new Error(`no result for ${query}`);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data as T;
}

const register = async (type: string, config: Record<string, unknown> = {}) =>
  (await ok(`mutation($type: WorkerType!, $config: WorkerConfigInput) { registerWorker(input: {type: $type, config: $config}) { worker { id } } }`, { type, config })).registerWorker.worker
    .id as string;

const heartbeat = (workerId: string, progress: number) => ok(`mutation($w: ID!, $p: Float) { heartbeat(input: {workerId: $w, progress: $p}) { worker { id } } }`, { w: workerId, p: progress });

describe('live fleet subscriptions', () => {
  it('a subscriber filtered by type receives only those workers’ heartbeats, in order', async () => {
    const executor = await register('EXECUTOR');
    const monitor = await register('MONITOR');
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription { workerHeartbeats(types: [MONITOR]) { worker { id type } at progress } }`);
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    for (let i = 1; i <= 20; i++) {
      clock.advance(10);
      await heartbeat(i % 2 ? executor : monitor, i);
    }
    await sub.next(10);
    await sleep(50);
    const beats = sub.results.map((r) => r.data!.workerHeartbeats);
    expect(beats.map((b) => b.worker)).toEqual(Array(10).fill({ id: monitor, type: 'MONITOR' }));
    expect(beats.map((b) => b.progress)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(beats.map((b) => b.at)).toEqual([...beats.map((b) => b.at)].sort());
    sub.stop();
    await client.dispose();
  });

  it('a subscriber narrowed to a page of workers (workerIds) receives only their heartbeats; more than 100 ids is refused', async () => {
    const page = [await register('EXECUTOR'), await register('EXECUTOR')];
    const other = await register('EXECUTOR');
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($ids: [ID!]) { workerHeartbeats(workerIds: $ids) { worker { id } progress } }`, { ids: page });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    for (const [i, id] of [page[0]!, other, page[1]!, other].entries()) await heartbeat(id, i);
    await sub.next(2);
    await sleep(50);
    expect(sub.results.map((r) => r.data!.workerHeartbeats)).toEqual([
      { worker: { id: page[0] }, progress: 0 },
      { worker: { id: page[1] }, progress: 2 },
    ]);
    sub.stop();
    const tooMany = subscribe(client, `subscription($ids: [ID!]) { workerHeartbeats(workerIds: $ids) { at } }`, { ids: Array(101).fill(other) });
    await tooMany.done;
    expect(tooMany.results[0]?.errors?.[0]).toMatchObject({ message: expect.stringContaining('at most 100 workers at once, got 101'), extensions: { code: 'BAD_USER_INPUT' } });
    await client.dispose();
  });

  it('a subscriber of one worker’s state changes sees only that worker', async () => {
    const watched = await register('VALIDATOR');
    const other = await register('VALIDATOR');
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($w: ID) { workerStateChanged(workerId: $w) { worker { id } from to reason } }`, { w: watched });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    for (const id of [other, watched]) await ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id });
    for (const id of [other, watched]) await ok(`mutation($id: ID!) { resumeWorker(input: {id: $id}) { worker { id } } }`, { id });
    await sub.next(2);
    await sleep(50);
    expect(sub.results.map((r) => r.data!.workerStateChanged)).toEqual([
      { worker: { id: watched }, from: 'IDLE', to: 'PAUSED', reason: 'paused' },
      { worker: { id: watched }, from: 'PAUSED', to: 'IDLE', reason: 'resumed' },
    ]);
    sub.stop();
    await client.dispose();
  });
});

describe('the stale-worker reaper', () => {
  it('marks a silent worker crashed, puts its task back with the attempt counted, and tells subscribers', async () => {
    const runId = await createRun(server);
    const workerId = await register('EXECUTOR', { timeoutSeconds: 30 });
    const { createTask } = await ok(`mutation($r: ID!) { createTask(input: {kind: "reaped", runId: $r}) { task { id } } }`, { r: runId });
    await ok(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["reaped"]}) { task { id } } }`, { w: workerId });
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($w: ID) { workerStateChanged(workerId: $w) { from to reason worker { state crashInfo { errorMessage } } } }`, {
      w: workerId,
    });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');

    // Heartbeats keep it alive past its first timeout.
    clock.advance(20_000);
    const beatAt = clock.now().toISOString();
    await heartbeat(workerId, 50);
    clock.advance(20_000);
    expect((await server.engine.reaper.reap()).crashedWorkers).not.toContain(workerId);
    const alive = await ok(`query($w: ID!) { worker(id: $w) { state stale secondsSinceHeartbeat progress } }`, { w: workerId });
    expect(alive.worker).toEqual({ state: 'BUSY', stale: false, secondsSinceHeartbeat: 20, progress: 50 });

    clock.advance(11_000);
    const stale = await ok(`query($w: ID!) { worker(id: $w) { stale } staleWorkers { id } workerSummary { stale } workers(filter: {stale: true}) { totalCount } }`, {
      w: workerId,
    });
    expect(stale.worker.stale).toBe(true);
    expect(stale.staleWorkers.map((w: any) => w.id)).toContain(workerId);
    expect(stale.workerSummary.stale).toBeGreaterThanOrEqual(1);
    expect(stale.workers.totalCount).toBe(stale.workerSummary.stale);

    const [first, second] = await Promise.all([server.engine.reaper.reap(), server.engine.reaper.reap()]);
    expect([...first.crashedWorkers, ...second.crashedWorkers].filter((id) => id === dbId(workerId))).toHaveLength(1);
    expect((await server.engine.reaper.reap()).crashedWorkers).toEqual([]);

    await sub.next(1);
    const change = sub.results[0]?.data!.workerStateChanged;
    expect(change).toMatchObject({ from: 'BUSY', to: 'CRASHED', worker: { state: 'CRASHED' } });
    expect(change.reason).toBe(`heartbeat lost: none for 31 s (timeout 30 s; last at ${beatAt})`);
    expect(change.worker.crashInfo.errorMessage).toBe(change.reason);

    const task = await ok(`query($t: ID!) { task(id: $t) { state attempts worker { id } } }`, { t: createTask.task.id });
    expect(task.task).toEqual({ state: 'PENDING', attempts: 1, worker: null });
    const events = await ok(`query($r: ID!) { runEvents(runId: $r, kinds: [TASK_REQUEUED]) { edges { node { payload } } } }`, { r: runId });
    expect(events.runEvents.edges).toHaveLength(1);
    expect(events.runEvents.edges[0].node.payload).toMatchObject({ attempts: 1, counted: true });
    sub.stop();
    await client.dispose();
  });
});

const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1];

describe('workers over one long-lived graphql-ws connection', () => {
  it('register, heartbeat, claim and complete all work over the socket', async () => {
    const client = server.wsClient();
    const { registerWorker } = await over(client, `mutation { registerWorker(input: {type: EXECUTOR}) { worker { id state } } }`);
    const id = registerWorker.worker.id;
    await ok(`mutation { createTask(input: {kind: "socket-kind", payload: {n: 1}}) { task { id } } }`);
    const beat = await over(client, `mutation($w: ID!) { heartbeat(input: {workerId: $w, progress: 0}) { worker { progress } } }`, { w: id });
    expect(beat.heartbeat.worker.progress).toBe(0);
    const claim = await over(client, `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["socket-kind"]}) { task { payload } worker { state } } }`, { w: id });
    expect(claim.claimTask).toEqual({ task: { payload: { n: 1 } }, worker: { state: 'BUSY' } });
    const done = await over(client, `mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { state } worker { state } } }`, { w: id });
    expect(done.completeTask).toEqual({ task: { state: 'COMPLETED' }, worker: { state: 'IDLE' } });
    await client.dispose();
  });
});

describe('the whole worker lifecycle over one graphql-ws socket', () => {
  it('pause, resume, shutdown and crash work over the socket, and a subscriber on it sees every transition in order', async () => {
    let connections = 0;
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { authorization: `Bearer ${ADMIN_SECRET}` },
      on: { connected: () => void (connections += 1) },
    });
    const streams = server.engine.openStreams();
    // The subscription keeps the socket open; every mutation below goes over it too.
    const sub = subscribe(client, `subscription { workerStateChanged(types: [SCHEDULER]) { worker { id state } from to reason } }`);
    await until(() => server.engine.openStreams() > streams, 'the stream to open');

    const register = async () => (await over(client, `mutation { registerWorker(input: {type: SCHEDULER}) { worker { id state } } }`)).registerWorker.worker;
    const a = await register();
    const b = await register();
    expect([a.state, b.state]).toEqual(['IDLE', 'IDLE']);
    const { createTask } = await ok(`mutation { createTask(input: {kind: "socket-lifecycle"}) { task { id } } }`);
    const claimed = await over(client, `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["socket-lifecycle"]}) { task { id } worker { state } } }`, { w: a.id });
    expect(claimed.claimTask).toEqual({ task: { id: createTask.task.id }, worker: { state: 'BUSY' } });

    const act = async (mutation: string, extra = '') =>
      (await over(client, `mutation($id: ID!) { ${mutation}(input: {id: $id${extra}}) { worker { state currentTask { id } } } }`, { id: a.id }))[mutation].worker;
    expect(await act('pauseWorker')).toEqual({ state: 'PAUSED', currentTask: null });
    const handedBack = await ok(`query($t: ID!) { task(id: $t) { state attempts } }`, { t: createTask.task.id });
    expect(handedBack.task).toEqual({ state: 'PENDING', attempts: 0 });
    expect(await act('resumeWorker')).toEqual({ state: 'IDLE', currentTask: null });
    expect(await act('shutdownWorker')).toEqual({ state: 'STOPPED', currentTask: null });
    const crashed = await over(
      client,
      `mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "segfault", stackTrace: "at main"}) { worker { state crashInfo { errorMessage stackTrace } } } }`,
      {
        id: b.id,
      },
    );
    expect(crashed.crashWorker.worker).toEqual({ state: 'CRASHED', crashInfo: { errorMessage: 'segfault', stackTrace: 'at main' } });
    // A refusal over the socket is an error result, and the socket stays usable.
    const refused = subscribe(client, `mutation($id: ID!) { resumeWorker(input: {id: $id}) { worker { id } } }`, { id: a.id });
    await refused.done;
    expect(refused.results[0]?.errors?.[0]?.extensions?.code).toBe('INVALID_TRANSITION');

    await sub.next(7);
    await sleep(50);
    const seen = sub.results.map((r) => r.data!.workerStateChanged).map(({ worker, from, to, reason }: any) => ({ id: worker.id, from, to, reason }));
    expect(seen).toEqual([
      { id: a.id, from: null, to: 'IDLE', reason: 'registered' },
      { id: b.id, from: null, to: 'IDLE', reason: 'registered' },
      { id: a.id, from: 'IDLE', to: 'BUSY', reason: `took task ${dbId(createTask.task.id)}` },
      { id: a.id, from: 'BUSY', to: 'PAUSED', reason: 'paused' },
      { id: a.id, from: 'PAUSED', to: 'IDLE', reason: 'resumed' },
      { id: a.id, from: 'IDLE', to: 'STOPPED', reason: 'shut down' },
      { id: b.id, from: 'IDLE', to: 'CRASHED', reason: 'segfault' },
    ]);
    expect(connections).toBe(1);
    sub.stop();
    await client.dispose();
  });
});

describe('concurrent claims', () => {
  it('50 workers claiming 1,000 tasks at once: every task claimed and completed exactly once, none lost', async () => {
    const KIND = 'swarm';
    const TASKS = 1_000;
    for (let i = 0; i < TASKS; i += 100) {
      // Many creations per request keep the setup short.
      const fields = Array.from({ length: 10 }, (_, j) => `t${j}: createTask(input: {kind: "${KIND}", payload: {n: ${i + j}}}) { task { id } }`).join(' ');
      await Promise.all(Array.from({ length: 10 }, () => ok(`mutation { ${fields} }`)));
    }
    const workers = await Promise.all(Array.from({ length: 50 }, () => register('EXECUTOR')));
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      workers.map(async (workerId) => {
        const client = server.wsClient();
        const mine: string[] = [];
        for (;;) {
          const { claimTask } = await over(client, `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["${KIND}"]}) { task { id } } }`, { w: workerId });
          if (!claimTask.task) break;
          mine.push(claimTask.task.id);
          await over(client, `mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { id } } }`, { w: workerId });
        }
        claimedBy.set(workerId, mine);
        await client.dispose();
      }),
    );
    const all = [...claimedBy.values()].flat();
    expect(all).toHaveLength(TASKS);
    expect(new Set(all).size).toBe(TASKS);
    // The work was shared, not done by one worker while the others waited.
    expect([...claimedBy.values()].filter((ids) => ids.length > 0).length).toBeGreaterThan(10);
    const counts = await ok(
      `{ pending: tasks(filter: {kinds: ["${KIND}"], states: [PENDING, RUNNING, FAILED]}) { totalCount } done: tasks(filter: {kinds: ["${KIND}"], states: [COMPLETED]}) { totalCount } }`,
    );
    expect(counts).toEqual({ pending: { totalCount: 0 }, done: { totalCount: TASKS } });
    const stats = await ok(`{ workers(first: 100, filter: {types: [EXECUTOR], states: [IDLE]}) { edges { node { id statistics { tasksCompleted } } } } }`);
    const byWorker = new Map(stats.workers.edges.map((e: any) => [e.node.id, e.node.statistics.tasksCompleted]));
    for (const [workerId, ids] of claimedBy) expect(byWorker.get(workerId)).toBe(ids.length);
  }, 120_000); // about 2,000 mutations: a correctness test, given room on a loaded machine
});

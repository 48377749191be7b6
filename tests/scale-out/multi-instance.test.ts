import { afterAll, beforeAll, expect, it } from 'vitest';
import { TaskSchema } from '../../src/engine/runs/entities.js';
import { ADMIN_SECRET, codes, createRun, subscribe, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import {
  POSTGRES_URL,
  REDIS_URL,
  createToken,
  describeWithServices,
  eventually,
  expectShutOut,
  logged,
  note,
  openStream,
  outcome,
  postgresProblem,
  revokeToken,
  redisProblem,
  redisSubscribers,
  startCluster,
  startRun,
  storedLog,
  tokenSubscription,
  uniquePrefix,
  type Cluster,
} from './cluster.js';

/**
 * Issue 11: three gateways (A, B, C) in this process, each on its own port,
 * sharing one PostgreSQL database and one Redis. What one instance writes,
 * announces or leases must look to every client as if there were one.
 */
const problem = (await postgresProblem(POSTGRES_URL)) ?? (await redisProblem(REDIS_URL));

/** Jobs as short as the tests can take: the reaper and gate timeouts every 100 ms, heartbeats flushed every 500 ms. */
const JOBS = { reaperIntervalMs: 100, heartbeatFlushMs: 500 };

/** The plain id of a global id (base64url of "Type:id"), as logs and run-event payloads carry it. */
const rawId = (id: string) => Buffer.from(id, 'base64url').toString().split(':').slice(1).join(':');

describeWithServices('scale-out: several instances over one PostgreSQL and one Redis', problem, () => {
  let cluster: Cluster;
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  const prefix = uniquePrefix('multi');

  beforeAll(async () => {
    cluster = await startCluster(3, { redisUrl: REDIS_URL, prefix, jobs: JOBS, limits: { mutationsPerMinute: 0, heartbeatsPerMinute: 0 } });
    [a, b, c] = cluster.servers as [TestServer, TestServer, TestServer]; // the three started above
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const register = async (server: TestServer, config: Record<string, unknown> = {}, type = 'EXECUTOR') =>
    (
      await server.ok(`mutation($t: WorkerType!, $c: WorkerConfigInput) { registerWorker(input: {type: $t, config: $c}) { worker { id } } }`, {
        t: type,
        c: config,
      })
    ).registerWorker.worker.id as string;
  const createTask = async (server: TestServer, kind: string, runId?: string) =>
    (await server.ok(`mutation($k: String!, $r: ID) { createTask(input: {kind: $k, runId: $r}) { task { id } } }`, { k: kind, r: runId })).createTask.task.id as string;
  /** Waits until `server` has `count` more streams open than `before`, and Redis has a subscriber on `topic`. */
  const opened = async (server: TestServer, before: number, count: number, topics: string[]) => {
    await until(() => server.engine.openStreams() >= before + count, 'the streams to open');
    for (const topic of topics)
      await eventually(
        () => redisSubscribers(REDIS_URL, prefix + topic),
        (n) => n >= 1,
        `a Redis subscriber on ${topic}`,
      );
  };

  it('a subscriber on A receives, in order, what mutations on B (and C) cause: runEvents, runStateChanged, workerStateChanged, workerHeartbeats', async () => {
    const project = `fan-out-${prefix}`;
    const client = a.wsClient();
    const before = a.engine.openStreams();
    const events = subscribe(client, `subscription { runEvents { id kind cursor run { id } } }`);
    const states = subscribe(client, `subscription($p: ID) { runStateChanged(projectId: $p) { id state } }`, { p: project });
    await opened(a, before, 2, ['run.event', 'run.state']);

    // Each state change is awaited on A before the next is made on B: a notice loads the run as stored when delivered.
    const runId = await createRun(b, { projectId: project });
    await states.next(1);
    await startRun(b, runId);
    await states.next(2);
    for (let i = 1; i <= 10; i++) await note(i % 3 === 0 ? c : b, runId, `note ${i}`);
    await b.ok(`mutation($id: ID!) { completeRun(input: {id: $id, state: SUCCEEDED}) { run { id } } }`, { id: runId });
    await states.next(3);
    expect(states.results.map((r) => r.data!.runStateChanged)).toEqual([
      { id: runId, state: 'PENDING' },
      { id: runId, state: 'RUNNING' },
      { id: runId, state: 'SUCCEEDED' },
    ]);

    const stored = await storedLog(c, runId);
    expect(stored.map((e) => e.kind)).toEqual(['RUN_CREATED', 'RUN_STARTED', ...Array(10).fill('NOTE'), 'RUN_STATE_CHANGED']);
    const ofRun = () => events.results.map((r) => r.data!.runEvents).filter((e: any) => e.run.id === runId);
    await until(() => ofRun().length >= stored.length, `A to deliver the run's ${stored.length} events`);
    await sleep(200);
    expect(ofRun().map((e: any) => [e.id, e.kind, e.cursor])).toEqual(stored.map((e) => [e.id, e.kind, e.cursor]));

    // Workers: registered and moved on B and C, watched on A.
    const workerId = await register(b);
    const beforeWorkers = a.engine.openStreams();
    const changes = subscribe(client, `subscription($w: ID) { workerStateChanged(workerId: $w) { from to reason worker { id } } }`, { w: workerId });
    const beats = subscribe(client, `subscription($w: ID) { workerHeartbeats(workerId: $w) { progress at worker { id } } }`, { w: workerId });
    await opened(a, beforeWorkers, 2, ['worker.state', 'worker.heartbeat']);
    // The registration's notice may still be on its way through Redis when the stream opens (seen): only the moves after count.
    const moves = () => changes.results.map((r) => r.data!.workerStateChanged).filter((c: any) => c.from !== null);
    await b.ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: workerId });
    await c.ok(`mutation($id: ID!) { resumeWorker(input: {id: $id}) { worker { id } } }`, { id: workerId });
    for (let progress = 1; progress <= 10; progress++) {
      await b.ok(`mutation($w: ID!, $p: Float) { heartbeat(input: {workerId: $w, progress: $p}) { worker { id } } }`, { w: workerId, p: progress });
    }
    await b.ok(`mutation($id: ID!) { shutdownWorker(input: {id: $id}) { worker { id } } }`, { id: workerId });
    await until(() => moves().length >= 3, 'three state changes on A');
    await beats.next(10);
    await sleep(200);
    expect(moves().map((c: any) => [c.from, c.to, c.reason, c.worker.id])).toEqual([
      ['IDLE', 'PAUSED', 'paused', workerId],
      ['PAUSED', 'IDLE', 'resumed', workerId],
      ['IDLE', 'STOPPED', 'shut down', workerId],
    ]);
    const heartbeats = beats.results.map((r) => r.data!.workerHeartbeats);
    expect(heartbeats.map((h: any) => h.progress)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(heartbeats.map((h: any) => h.at)).toEqual([...heartbeats.map((h: any) => h.at)].sort());
    expect(heartbeats.every((h: any) => h.worker.id === workerId)).toBe(true);
    await client.dispose();
  });

  it('runEvents resumed from a cursor on another instance yields exactly the missing events: no gap, no duplicate', async () => {
    const runId = await createRun(a);
    const [created] = await storedLog(a, runId);
    if (!created) throw new Error('createRun stored no event');
    const servers = [a, b, c];
    const write = async (from: number, count: number) => {
      for (let i = from; i < from + count; i += 3) {
        await Promise.all([0, 1, 2].map((j) => note(servers[(i + j) % 3]!, runId, `n${i + j}`)));
      }
    };
    await write(0, 30);
    const writer = write(30, 90);
    const QUERY = `subscription($r: ID, $after: String) { runEvents(runId: $r, after: $after) { id cursor payload } }`;
    const first = subscribe(a.wsClient(), QUERY, { r: runId, after: created.cursor });
    await first.next(40);
    first.stop();
    const got = first.results.map((r) => r.data!.runEvents);
    const resumedFrom = got.at(-1)!.cursor;
    // On B, from the last cursor A delivered, while C keeps writing.
    const second = subscribe(b.wsClient(), QUERY, { r: runId, after: resumedFrom });
    await writer;
    await second.next(120 - got.length, 20_000);
    await sleep(200);
    const rest = second.results.map((r) => r.data!.runEvents);
    const stored = await storedLog(c, runId, created.cursor);
    expect(stored).toHaveLength(120);
    expect([...got, ...rest].map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(rest[0]?.id).toBe(stored[got.length]?.id);
    expect(new Set(rest.map((e) => e.id)).size).toBe(rest.length);
    second.stop();
  });

  it('stepLogAppended on A follows appends made on B and C, resumes on B from an offset, and completes once C ends the step', async () => {
    const runId = await createRun(a);
    await startRun(a, runId);
    const stepId = (await b.ok(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "t"}) { step { id } } }`, { r: runId })).startStep.step.id as string;
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i} ✓\n`);
    let size = 0;
    const append = async (i: number) => {
      const server = i % 2 ? c : b;
      size = (await server.ok(`mutation($input: AppendStepLogInput!) { appendStepLog(input: $input) { size } }`, { input: { stepId, offset: size, text: lines[i] } })).appendStepLog.size;
    };
    const FOLLOW = `subscription($id: ID!, $after: Int) { stepLogAppended(stepId: $id, after: $after) { offset endOffset text } }`;
    const before = a.engine.openStreams();
    const live = subscribe(a.wsClient(), FOLLOW, { id: stepId });
    await opened(a, before, 1, ['step.log']);
    for (let i = 0; i < 30; i++) await append(i);
    await live.next(30);
    // Resumed on B from the tenth chunk's end while B and C keep appending.
    const resumeAt = live.results[9]!.data!.stepLogAppended.endOffset;
    const resumed = subscribe(b.wsClient(), FOLLOW, { id: stepId, after: resumeAt });
    for (let i = 30; i < 60; i++) await append(i);
    await c.ok(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: stepId });
    await Promise.all([live.done, resumed.done]);
    const chunks = (sub: typeof live) => sub.results.map((r) => r.data!.stepLogAppended);
    expect(chunks(live).map((c: any) => c.text)).toEqual(lines);
    expect(chunks(resumed).map((c: any) => c.text)).toEqual(lines.slice(10));
    expect(chunks(resumed)[0].offset).toBe(resumeAt);
    expect(chunks(live).at(-1).endOffset).toBe(size);
  });

  it('50 concurrent claimers over three instances lease each task exactly once', async () => {
    const kind = `claim-${prefix}`;
    const runId = await createRun(a);
    await startRun(a, runId);
    const servers = [a, b, c];
    const tasks: string[] = [];
    for (let i = 0; i < 40; i += 8) tasks.push(...(await Promise.all(Array.from({ length: 8 }, (_, j) => createTask(servers[(i + j) % 3]!, kind, runId)))));
    // Workers registered on A and B; claims spread over all three instances, all at once.
    const workers = await Promise.all(Array.from({ length: 50 }, (_, i) => register(i % 2 ? b : a)));
    const claims = await Promise.all(
      workers.map((w, i) =>
        servers[i % 3]!.gql(`mutation($w: ID!, $k: [String!]) { claimTask(input: {workerId: $w, kinds: $k}) { task { id state worker { id } } worker { id state } } }`, {
          w,
          k: [kind],
        }),
      ),
    );
    expect(claims.flatMap((r) => r.errors ?? [])).toEqual([]);
    const leased = claims.map((r, i) => ({ worker: workers[i]!, payload: r.data!.claimTask }));
    const won = leased.filter((l) => l.payload.task !== null);
    const empty = leased.filter((l) => l.payload.task === null);
    expect(won).toHaveLength(40);
    expect(empty).toHaveLength(10);
    expect(new Set(won.map((l) => l.payload.task.id))).toEqual(new Set(tasks));
    for (const l of won) expect(l.payload).toMatchObject({ task: { state: 'RUNNING', worker: { id: l.worker } }, worker: { id: l.worker, state: 'BUSY' } });
    for (const l of empty) expect(l.payload.worker).toBeNull();
    const losers = await b.ok(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Worker { state } } }`, { ids: empty.map((l) => l.worker) });
    expect(losers.nodes.map((n: any) => n.state)).toEqual(Array(10).fill('IDLE'));

    // As stored: each task running on the worker that was told it won it, on its first attempt; one TASK_STARTED each.
    const rows = await a.engine.orm.em.fork().find(TaskSchema, { kind });
    expect(rows).toHaveLength(40);
    const winner = new Map(won.map((l) => [rawId(l.payload.task.id), rawId(l.worker)]));
    for (const row of rows) expect([row.state, row.workerId]).toEqual(['running', winner.get(row.id)]);
    const started = (await storedLog(b, runId)).filter((e) => e.kind === 'TASK_STARTED').map((e) => e.payload.taskId);
    expect(started).toHaveLength(40);
    expect(new Set(started)).toEqual(new Set(tasks.map(rawId)));
  });

  it('the reaper and the gate-timeout job act once per stale worker or overdue gate across instances', async () => {
    const runId = await createRun(c);
    await startRun(c, runId);
    const kind = `reap-${prefix}`;
    const client = c.wsClient();
    const before = c.engine.openStreams();
    const changes = subscribe(client, `subscription { workerStateChanged { from to reason worker { id } } }`);
    const outcomes = subscribe(client, `subscription($r: ID) { gateOutcomes(runId: $r) { id state errorMessage } }`, { r: runId });
    await opened(c, before, 2, ['worker.state', 'gate.outcome']);

    // Two idle workers on A and two busy ones on B, none of which ever beats; two gates started on B with 1 s to run.
    const idle = [await register(a, { timeoutSeconds: 1 }), await register(a, { timeoutSeconds: 1 })];
    const tasks = [await createTask(c, kind, runId), await createTask(c, kind, runId)];
    const busy = [await register(b, { timeoutSeconds: 1 }), await register(b, { timeoutSeconds: 1 })];
    for (const w of busy) expect((await b.ok(`mutation($w: ID!, $k: [String!]) { claimTask(input: {workerId: $w, kinds: $k}) { task { id } } }`, { w, k: [kind] })).claimTask.task).not.toBeNull();
    const gates: string[] = [];
    for (const name of ['e2e', 'unit']) {
      const { id } = (await c.ok(`mutation($r: ID) { createTestGate(input: {name: "${name}", type: UNIT_TESTS, runId: $r, criteria: {timeoutSeconds: 1}}) { gate { id } } }`, { r: runId }))
        .createTestGate.gate;
      await b.ok(`mutation($id: ID!) { startTestGate(input: {id: $id, command: "npm test"}) { gate { id } } }`, { id });
      gates.push(id);
    }
    const workers = [...idle, ...busy];

    // Besides the timers of the three instances, passes are also forced on all three at once, bypassing the job lease.
    const direct: { workers: string[]; gates: string[] } = { workers: [], gates: [] };
    const workerStates = () => a.ok(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Worker { state } ... on TestGate { gateState: state } } }`, { ids: [...workers, ...gates] });
    await eventually(
      async () => {
        const passes = await Promise.all(cluster.servers.map(async (s) => [await s.engine.reaper.reap(), await s.engine.gates.expireOverdue()] as const));
        for (const [reaped, expired] of passes) {
          direct.workers.push(...reaped.crashedWorkers);
          direct.gates.push(...expired);
        }
        return (await workerStates()).nodes.map((n: any) => n.state ?? n.gateState);
      },
      (states: string[]) => states.every((s) => s === 'CRASHED' || s === 'ERROR'),
      'every stale worker crashed and every overdue gate errored',
      10_000,
    );
    // Time for any second action: many more reaper passes.
    await sleep(600);

    const byJob = (message: string, field: string) => logged(cluster.servers, message).flatMap((entry) => entry[field] as string[]);
    const crashes = [...direct.workers, ...byJob('reaper acted', 'crashedWorkers')];
    const timeouts = [...direct.gates, ...byJob('gates timed out', 'timedOutGates')];
    for (const w of workers)
      expect(
        crashes.filter((id) => id === rawId(w)),
        `crashes of worker ${w}`,
      ).toHaveLength(1);
    for (const g of gates)
      expect(
        timeouts.filter((id) => id === rawId(g)),
        `timeouts of gate ${g}`,
      ).toHaveLength(1);

    const crashChanges = changes.results.map((r) => r.data!.workerStateChanged).filter((ch: any) => workers.includes(ch.worker.id) && ch.to === 'CRASHED');
    expect(crashChanges.map((ch: any) => ch.worker.id).sort()).toEqual([...workers].sort());
    for (const ch of crashChanges) expect(ch.reason).toMatch(/^heartbeat lost: /);
    expect(
      outcomes.results
        .map((r) => r.data!.gateOutcomes)
        .map((g: any) => [g.id, g.state])
        .sort(),
    ).toEqual(gates.map((g) => [g, 'ERROR']).sort());

    // The run's log: each held task failed one attempt and was requeued once; each gate errored once.
    const log = await storedLog(a, runId);
    const requeued = log.filter((e) => e.kind === 'TASK_REQUEUED').map((e) => e.payload.taskId);
    expect(requeued.sort()).toEqual(tasks.map(rawId).sort());
    expect(log.filter((e) => e.kind === 'TASK_FAILED')).toEqual([]);
    expect(log.filter((e) => e.kind === 'GATE_ERRORED')).toHaveLength(2);
    const taskRows = await a.engine.orm.em.fork().find(TaskSchema, { kind });
    expect(taskRows.map((t) => [t.state, t.attempts])).toEqual([
      ['pending', 1],
      ['pending', 1],
    ]);
    await client.dispose();
  });

  it('budget thresholds crossed by concurrent costs on three instances are announced exactly once', async () => {
    const project = `budget-${prefix}`;
    const runId = await createRun(a, { projectId: project });
    await startRun(a, runId);
    const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { id } } }`;
    const runBudget = (await a.ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', action: 'NOTIFY' } })).setBudget.budget.id;
    const projectBudget = (await b.ok(SET, { input: { scope: 'PROJECT', projectId: project, currency: 'USD', limit: '2', thresholds: [25, 50, 75], action: 'NOTIFY' } })).setBudget.budget.id;
    const ALERTS = `subscription($p: ID) { budgetAlerts(projectId: $p) { threshold spent halted budget { id } run { id } } }`;
    const watchers = [];
    for (const server of [a, b]) watchers.push(await openStream(server, ALERTS, { p: project }));
    await eventually(
      () => redisSubscribers(REDIS_URL, `${prefix}budget.alert`),
      (n) => n >= 2,
      'both instances subscribed to budget alerts',
    );

    // 30 x 0.06 = 1.8, all at once over A, B and C: the run budget crosses 80 and 100 %, the project budget 25, 50 and 75 %.
    const servers = [a, b, c];
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        servers[i % 3]!.gql(`mutation($r: ID) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "0.06", currency: "USD"}) { cost { id } } }`, { r: runId }),
      ),
    );
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    const expected = [
      [projectBudget, 25],
      [projectBudget, 50],
      [projectBudget, 75],
      [runBudget, 80],
      [runBudget, 100],
    ].sort();
    for (const sub of watchers) {
      await sub.next(5);
      await sleep(300);
      const alerts = sub.results.map((r) => r.data!.budgetAlerts);
      expect(alerts.map((al: any) => [al.budget.id, al.threshold]).sort()).toEqual(expected);
      expect(alerts.every((al: any) => al.halted === false && al.run.id === runId)).toBe(true);
      // Announced in the order crossed, per budget.
      for (const budget of [runBudget, projectBudget]) {
        const ofBudget = alerts.filter((al: any) => al.budget.id === budget);
        expect(ofBudget.map((al: any) => al.threshold)).toEqual(ofBudget.map((al: any) => al.threshold).sort((x: number, y: number) => x - y));
      }
      sub.stop();
    }
    const budgets = await c.ok(`query($p: String) { budgets(filter: {projectId: $p}) { id spent crossedThresholds } }`, { p: project });
    expect(budgets.budgets.map((bu: any) => [bu.id, bu.spent, bu.crossedThresholds]).sort()).toEqual(
      [
        [runBudget, '1.8', [80, 100]],
        [projectBudget, '1.8', [25, 50, 75]],
      ].sort(),
    );
    const crossed = (await storedLog(c, runId)).filter((e) => e.kind === 'BUDGET_THRESHOLD_CROSSED').map((e) => [e.payload.budgetId, e.payload.threshold]);
    expect(crossed.sort()).toEqual(expected.map(([budget, t]) => [rawId(budget as string), t]).sort());
  });

  it('heartbeats sent only to one instance keep other instances’ reapers off, and a silent worker is crashed once within timeout + flush + reaper interval', async () => {
    // H takes the heartbeats and runs no reaper: A, B and C reap from what H has flushed (every 500 ms).
    const h = await cluster.add({ jobs: { reaperIntervalMs: 0, heartbeatFlushMs: JOBS.heartbeatFlushMs } });
    const TIMEOUT_MS = 1500;
    const workerId = await register(h, { timeoutSeconds: TIMEOUT_MS / 1000 });
    const client = a.wsClient();
    const before = a.engine.openStreams();
    const changes = subscribe(client, `subscription($w: ID) { workerStateChanged(workerId: $w) { from to reason worker { crashInfo { errorMessage } } } }`, { w: workerId });
    await opened(a, before, 1, ['worker.state']);
    // Not the registration, whose notice may reach the stream late (see the first test).
    const moves = () => changes.results.map((r) => r.data!.workerStateChanged).filter((c: any) => c.from !== null);
    const beat = () => h.ok(`mutation($w: ID!) { heartbeat(input: {workerId: $w}) { worker { lastHeartbeat } } }`, { w: workerId });

    // 3.5 s of beats every 200 ms: more than twice the timeout.
    let last = '';
    for (const start = Date.now(); Date.now() - start < 3500;) {
      last = (await beat()).heartbeat.worker.lastHeartbeat;
      await sleep(200);
    }
    const stoppedAt = Date.now();
    expect(moves()).toEqual([]);
    expect((await c.ok(`query($id: ID!) { worker(id: $id) { state } }`, { id: workerId })).worker.state).toBe('IDLE');

    // Silent from now: crashed once, not before its timeout, and within timeout + flush + reaper interval (+ 1 s of slack).
    await until(() => moves().length > 0, 'the crash', 10_000);
    const crashedAfter = Date.now() - stoppedAt;
    await sleep(500);
    expect(moves().map((c: any) => c.to)).toEqual(['CRASHED']);
    expect(crashedAfter).toBeGreaterThanOrEqual(TIMEOUT_MS - 250);
    expect(crashedAfter).toBeLessThanOrEqual(TIMEOUT_MS + JOBS.heartbeatFlushMs + JOBS.reaperIntervalMs + 1000);
    // The reaper judged from the last beat H took (flushed to the database), not from the registration.
    const crash = moves()[0];
    expect(crash.reason).toContain(`last at ${last}`);
    expect(crash.worker.crashInfo.errorMessage).toBe(crash.reason);
    const reapers = logged(cluster.servers, 'reaper acted').filter((entry) => entry.crashedWorkers.includes(rawId(workerId)));
    expect(reapers).toHaveLength(1);
    expect(logged([h], 'reaper acted')).toEqual([]);
    await client.dispose();
  });

  it('a token’s mutation budget is one budget across instances', async () => {
    const limited = [await cluster.add({ limits: { mutationsPerMinute: 5 } }), await cluster.add({ limits: { mutationsPerMinute: 5 } })];
    const { token } = await createToken(a, 'shared-budget');
    // Windows are fixed minutes: start well inside one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 5_000) await sleep(left + 50);
    const outcomes: unknown[][] = [];
    for (let i = 0; i < 8; i++) {
      const res = await limited[i % 2]!.gql(`mutation { createRun(input: {projectId: "rate-shared", phaseId: "p"}) { run { id } } }`, {}, { token });
      outcomes.push(codes(res));
    }
    // Five in all, not five per instance.
    expect(outcomes).toEqual([[], [], [], [], [], ['RATE_LIMITED'], ['RATE_LIMITED'], ['RATE_LIMITED']]);
    const runs = await a.ok(`{ runs(filter: {projectId: "rate-shared"}) { totalCount } }`);
    expect(runs.runs.totalCount).toBe(5);
  });

  it('revoking a token on A takes effect on B: HTTP UNAUTHENTICATED, B’s sockets of that token closed with 4403', async () => {
    const { token, id } = await createToken(a, 'revoked-across');
    const runId = await createRun(c);
    expect((await b.gql(`{ viewer { tokenName } }`, {}, { token })).data).toEqual({ viewer: { tokenName: 'revoked-across' } });
    const before = b.engine.openStreams();
    const sub = await tokenSubscription(b, token, runId, c);

    await revokeToken(a, id);
    expect(await outcome(sub.done)).toMatchObject({ code: 4403 });
    await eventually(
      () => b.gql(`{ viewer { tokenName } }`, {}, { token }).then(codes),
      (got) => got[0] === 'UNAUTHENTICATED',
      'B to refuse the token',
      2_000,
    );
    expect(codes(await b.gql(`mutation { createRun(input: {projectId: "p", phaseId: "x"}) { run { id } } }`, {}, { token }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await c.gql(`{ viewer { tokenName } }`, {}, { token }))).toEqual(['UNAUTHENTICATED']);
    // Nothing more on that socket; a new socket on B with it is refused.
    await expectShutOut(b, token, runId, c, sub);
    // The admin secret still works everywhere.
    expect((await b.gql(`{ viewer { tokenName } }`, {}, { token: ADMIN_SECRET })).data).toEqual({ viewer: { tokenName: 'UET_ADMIN_TOKEN' } });
    await until(() => b.engine.openStreams() === before, 'the stream on B to close');
  });
});

import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { TaskSchema } from '../../src/engine/runs/entities.js';
import { WorkstreamSchema } from '../../src/engine/workstreams/entities.js';
import { codes, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';
import { until } from '../helpers/wait.js';

let server: TestServer;
const clock = new ManualClock('2026-11-25T12:00:00.000Z');
beforeAll(async () => {
  server = await startTestServer({ clock, jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;

const TASK_FIELDS = 'id specTaskId state level attempt ready toolId routeError nextAttemptAt dependsOn { specTaskId } blockedBy { specTaskId } dependents { specTaskId }';
const SUBMIT = `mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { id name run { id state } tasks { ${TASK_FIELDS} }
  executionOrder { specTaskId } batches { specTaskId } } } }`;

async function submit(tasks: ReturnType<typeof taskSpec>[], options: Parameters<typeof workstreamSpec>[1] = {}) {
  const spec = workstreamSpec(tasks, { id: unique('ws'), projectId: unique('project'), ...options });
  return (await ok(SUBMIT, { s: spec })).submitWorkstream.workstream;
}

async function worker(tools?: string[]): Promise<string> {
  return (await ok(`mutation($t: [String!]) { registerWorker(input: {type: EXECUTOR, tools: $t, config: {maxParallelTasks: 5, timeoutSeconds: 86400}}) { worker { id } } }`, { t: tools }))
    .registerWorker.worker.id;
}

const claim = async (workerId: string, kinds?: string[]) =>
  (await ok(`mutation($w: ID!, $k: [String!]) { claimTask(input: {workerId: $w, kinds: $k}) { task { ${TASK_FIELDS} executionRequest { id document } } } }`, { w: workerId, k: kinds })).claimTask.task;

const complete = (workerId: string, taskId: string, success = true, seconds = 10) =>
  ok(
    `mutation($w: ID!, $t: ID!, $s: Boolean!, $x: Float) { completeTask(input: {workerId: $w, taskId: $t, success: $s, executionTimeSeconds: $x, error: "boom"}) { task { state attempts nextAttemptAt } } }`,
    {
      w: workerId,
      t: taskId,
      s: success,
      x: seconds,
    },
  );

const runOf = async (ws: { run: { id: string } }) => (await ok(`query($r: ID!) { run(id: $r) { state errorMessage } }`, { r: ws.run.id })).run;

describe('submitting a workstream', () => {
  it('orders a diamond into levels and batches, and links each task to its dependencies', async () => {
    const kind = unique('diamond');
    const ws = await submit([taskSpec('a', [], { kind }), taskSpec('b', ['a'], { kind }), taskSpec('c', ['a'], { kind }), taskSpec('d', ['b', 'c'], { kind })], { maxParallel: 1 });
    expect(ws.executionOrder.map((level: any[]) => level.map((t) => t.specTaskId))).toEqual([['a'], ['b', 'c'], ['d']]);
    expect(ws.batches.map((batch: any[]) => batch.map((t) => t.specTaskId))).toEqual([['a'], ['b'], ['c'], ['d']]);
    const d = ws.tasks.find((t: any) => t.specTaskId === 'd');
    expect(d).toMatchObject({ level: 2, ready: false, dependsOn: [{ specTaskId: 'b' }, { specTaskId: 'c' }], blockedBy: [{ specTaskId: 'b' }, { specTaskId: 'c' }] });
    expect(ws.tasks.find((t: any) => t.specTaskId === 'a')).toMatchObject({ ready: true, dependents: [{ specTaskId: 'b' }, { specTaskId: 'c' }] });
    expect(ws.run.state).toBe('PENDING');
  });

  it.each([
    ['a cycle', [taskSpec('a', ['c']), taskSpec('b', ['a']), taskSpec('c', ['b'])], 'a -> c -> b -> a'],
    ['a missing dependency', [taskSpec('a'), taskSpec('b', ['nope'])], 'task "b" depends on "nope"'],
  ])('refuses %s with BAD_USER_INPUT naming it, and writes nothing', async (_name, tasks, text) => {
    const before = await server.engine.orm.em.fork().count(WorkstreamSchema, {});
    const res = await server.gql(SUBMIT, { s: workstreamSpec(tasks, { id: unique('bad') }) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain(text);
    expect(await server.engine.orm.em.fork().count(WorkstreamSchema, {})).toBe(before);
  });

  it('refuses a spec that does not match the workstream_spec contract', async () => {
    const res = await server.gql(SUBMIT, { s: { ...workstreamSpec([taskSpec('a')]), concurrency: { max_parallel: 0 } } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('scheduling', () => {
  it('a task is claimable only once its dependencies completed; the first claim starts the run, the last completion ends it', async () => {
    const kind = unique('chain');
    const ws = await submit([taskSpec('a', [], { kind }), taskSpec('b', ['a'], { kind })]);
    const w = await worker();
    const a = await claim(w, [kind]);
    expect(a.specTaskId).toBe('a');
    expect((await runOf(ws)).state).toBe('RUNNING');
    expect(await claim(w, [kind])).toBeNull();
    await complete(w, a.id);
    const b = await claim(w, [kind]);
    expect(b.specTaskId).toBe('b');
    await complete(w, b.id);
    expect((await runOf(ws)).state).toBe('SUCCEEDED');
  });

  it('respects max_parallel', async () => {
    const kind = unique('wide');
    await submit([taskSpec('a', [], { kind }), taskSpec('b', [], { kind }), taskSpec('c', [], { kind })], { maxParallel: 2 });
    const w = await worker();
    const first = await claim(w, [kind]);
    const second = await claim(w, [kind]);
    expect([first.specTaskId, second.specTaskId]).toEqual(['a', 'b']);
    expect(await claim(w, [kind])).toBeNull();
    await complete(w, first.id);
    expect((await claim(w, [kind])).specTaskId).toBe('c');
  });

  it.each([
    ['skip_dependents', 'continue', { b: 'SKIPPED', c: 'SKIPPED', other: 'COMPLETED' }],
    ['continue', 'continue', { b: 'COMPLETED', c: 'COMPLETED', other: 'COMPLETED' }],
    ['abort_workstream', 'continue', { b: 'SKIPPED', c: 'SKIPPED', other: 'SKIPPED' }],
    ['skip_dependents', 'fail_fast', { b: 'SKIPPED', c: 'SKIPPED', other: 'SKIPPED' }],
  ] as const)('a failure for good with on_failure %s (workstream %s)', async (onFailure, strategy, expected) => {
    const kind = unique('fail');
    const ws = await submit(
      [taskSpec('a', [], { kind, onFailure }), taskSpec('b', ['a'], { kind }), taskSpec('c', ['b'], { kind }), taskSpec('other', ['x'], { kind }), taskSpec('x', [], { kind: `${kind}-x` })],
      { strategy },
    );
    const w = await worker();
    const a = await claim(w, [kind]);
    await complete(w, a.id, false);
    // The independent branch: x, then other (unless the workstream stopped).
    const x = await claim(w, [`${kind}-x`]);
    if (x) await complete(w, x.id);
    for (;;) {
      const next = await claim(w, [kind]);
      if (!next) break;
      await complete(w, next.id);
    }
    const tasks = (await ok(`query($id: ID!) { workstream(id: $id) { tasks { specTaskId state } } }`, { id: ws.id })).workstream.tasks;
    const states = Object.fromEntries(tasks.map((t: any) => [t.specTaskId, t.state]));
    expect(states).toMatchObject({ a: 'FAILED', ...expected });
    const run = await runOf(ws);
    expect(run.state).toBe(onFailure === 'continue' ? 'FAILED' : 'FAILED');
    expect(run.errorMessage).toContain('1 task(s) failed (a)');
  });

  it('retries a failed task after its backoff, on the injected clock', async () => {
    const kind = unique('retry');
    await submit([taskSpec('flaky', [], { kind, maxAttempts: 3, retry: 'fixed' })]);
    const w = await worker();
    const first = await claim(w, [kind]);
    const failed = await complete(w, first.id, false);
    expect(failed.completeTask.task).toMatchObject({ state: 'PENDING', attempts: 1, nextAttemptAt: new Date(clock.now().getTime() + 1000).toISOString() });
    expect(await claim(w, [kind])).toBeNull();
    clock.advance(999);
    expect(await claim(w, [kind])).toBeNull();
    clock.advance(1);
    const second = await claim(w, [kind]);
    expect(second).toMatchObject({ specTaskId: 'flaky', attempt: 2 });
    expect((await complete(w, second.id)).completeTask.task.state).toBe('COMPLETED');
  });
});

describe('a 20-task workstream end to end', () => {
  it('three graphql-ws workers run it; one task fails once and succeeds on retry; progress reaches 100 with an ETA on the way', async () => {
    const kind = unique('e2e');
    const tasks = Array.from({ length: 20 }, (_, i) => taskSpec(`t${i}`, i < 4 ? [] : [`t${i - 4}`], { kind, maxAttempts: 2, retry: 'fixed', onFailure: 'skip_dependents' }));
    const ws = await submit(tasks, { maxParallel: 3 });
    const streams = server.engine.openStreams();
    const watcher = server.wsClient();
    const progress = subscribe(watcher, `subscription($r: ID!) { runProgress(runId: $r) { completed failed running pending completionPercent estimatedRemainingSeconds } }`, {
      r: ws.run.id,
    });
    await until(() => server.engine.openStreams() > streams, 'the progress stream to open');

    const over = async (client: Client, query: string, variables: Record<string, unknown>) => {
      const op = subscribe(client, query, variables);
      await op.done;
      if (op.results[0]?.errors) throw new Error(JSON.stringify(op.results[0]?.errors));
      return op.results[0]?.data as any;
    };
    const workers = await Promise.all([0, 1, 2].map(async () => ({ id: await worker(), client: server.wsClient() })));
    let failedOnce = false;
    const done = new Set<string>();
    for (let round = 0; round < 200 && done.size < 20; round++) {
      const claimed = await Promise.all(
        workers.map(async (w) => ({
          w,
          task: (await over(w.client, `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["${kind}"]}) { task { id specTaskId } } }`, { w: w.id })).claimTask.task,
        })),
      );
      if (claimed.every((c) => !c.task)) clock.advance(1_000); // waiting for a retry's backoff
      for (const { w, task } of claimed) {
        if (!task) continue;
        clock.advance(5_000);
        const fail: boolean = task.specTaskId === 't7' && !failedOnce;
        failedOnce ||= fail;
        await over(w.client, `mutation($w: ID!, $t: ID!, $s: Boolean!) { completeTask(input: {workerId: $w, taskId: $t, success: $s, executionTimeSeconds: 5, error: "flaky"}) { task { state } } }`, {
          w: w.id,
          t: task.id,
          s: !fail,
        });
        if (!fail) done.add(task.specTaskId);
      }
    }
    expect(done.size).toBe(20);
    expect((await runOf(ws)).state).toBe('SUCCEEDED');
    const t7 = (await ok(`query($id: ID!) { workstream(id: $id) { tasks { specTaskId attempt state } } }`, { id: ws.id })).workstream.tasks.find((t: any) => t.specTaskId === 't7');
    expect(t7).toEqual({ specTaskId: 't7', attempt: 2, state: 'COMPLETED' });

    // One snapshot per change of the run's tasks (each read when it is delivered), never a step backwards.
    const changes = (await ok(`query($r: ID!) { runEvents(runId: $r, first: 100) { edges { node { kind } } } }`, { r: ws.run.id })).runEvents.edges.filter(
      (e: any) => /^(TASK|RUN)_/.test(e.node.kind) && e.node.kind !== 'TASK_CREATED' && e.node.kind !== 'RUN_CREATED',
    );
    // runProgress sends a snapshot only when its figures moved: never the same one twice in a row.
    await until(() => progress.results.at(-1)?.data?.runProgress.completionPercent === 100, 'the final snapshot');
    const snapshots = progress.results.map((r) => r.data!.runProgress);
    for (let i = 1; i < snapshots.length; i++) expect(snapshots[i]).not.toEqual(snapshots[i - 1]);
    const percents = snapshots.map((s) => s.completionPercent);
    expect(percents.at(-1)).toBe(100);
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]);
    // No ETA before the first task finished; then average duration (5 s) x tasks left, down to 0.
    // (Each snapshot is read when its notice is delivered, so on a slow machine even the first may already count a finished task.)
    for (const s of snapshots.filter((s) => s.completed === 0)) expect(s.estimatedRemainingSeconds).toBeNull();
    for (const s of snapshots.filter((s) => s.completed > 0 && s.running === 0)) {
      expect(s.estimatedRemainingSeconds).toBeCloseTo(5 * (20 - s.completed), 5);
    }
    expect(snapshots.at(-1)!.estimatedRemainingSeconds).toBe(0);
    const requests = (await ok(`query($r: ID) { executionRequests(first: 100, filter: {runId: $r}) { totalCount } }`, { r: ws.run.id })).executionRequests.totalCount;
    expect(requests).toBe(21);
    const metrics = await ok(
      `query($r: ID!) { runMetrics(runId: $r) { steps { total } events { total errors } startedAt endedAt durationSeconds } runSummary { activeRuns runsByState { state count } } }`,
      {
        r: ws.run.id,
      },
    );
    expect(metrics.runMetrics).toMatchObject({ steps: { total: 0 }, events: { total: changes.length + 21, errors: 0 } });
    expect(metrics.runMetrics.durationSeconds).toBe((Date.parse(metrics.runMetrics.endedAt) - Date.parse(metrics.runMetrics.startedAt)) / 1000);
    expect(metrics.runSummary.runsByState.find((r: any) => r.state === 'SUCCEEDED').count).toBeGreaterThanOrEqual(1);
    progress.stop();
    await Promise.all([watcher, ...workers.map((w) => w.client)].map((c) => c.dispose()));
    const rows = await server.engine.orm.em.fork().count(TaskSchema, { workstreamId: Buffer.from(ws.id, 'base64url').toString().split(':')[1], state: 'completed' });
    expect(rows).toBe(20);
  });
});

describe('routing', () => {
  beforeAll(async () => {
    await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: routerConfig('round_robin') });
  });

  it('explains a decision, and refuses a config whose rules name unknown tools', async () => {
    const decision = (await ok(`{ routeTask(taskKind: "lint") { toolId ruleId strategy reason candidates { toolId skipped } } }`)).routeTask;
    expect(decision).toMatchObject({ toolId: 'linter', ruleId: null, strategy: 'FIXED' });
    const none = await server.gql(`{ routeTask(taskKind: "deploy") { toolId } }`);
    expect(codes(none)).toEqual(['NO_ROUTE']);
    const broken = routerConfig();
    broken.routing.rules[0]!.select_from = ['coder', 'ghost'];
    expect(codes(await server.gql(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: broken }))).toEqual(['BAD_USER_INPUT']);
  });

  it('routes round robin across workstream tasks, and only a worker that runs the tool claims', async () => {
    const ws = await submit([taskSpec('e1'), taskSpec('e2'), taskSpec('e3'), taskSpec('l1', [], { kind: 'lint' })]);
    const tools = Object.fromEntries(ws.tasks.map((t: any) => [t.specTaskId, t.toolId]));
    expect(tools.l1).toBe('linter');
    expect([tools.e1, tools.e2, tools.e3]).toEqual(expect.arrayContaining(['coder', 'reviewer']));
    expect(tools.e1).not.toBe(tools.e2);
    expect(tools.e3).toBe(tools.e1);
    const linterOnly = await worker(['linter']);
    const got = await claim(linterOnly, ['lint']);
    expect(got.toolId).toBe('linter');
    expect(await claim(linterOnly, ['code_edit'])).toBeNull();
    const doc = got.executionRequest.document;
    expect(server.engine.contracts.validate('execution_request', doc).valid).toBe(true);
    expect(doc).toMatchObject({ task_kind: 'lint', routing: { allowed_tools: ['linter'], strategy: 'fixed' }, resource_scope: { write: ['src/**'] } });
  });

  it('a task no tool can take waits with its reason until a configuration can route it', async () => {
    const kind = unique('unroutable');
    const ws = await submit([taskSpec('lonely', [], { kind })]);
    expect(ws.tasks[0]).toMatchObject({ toolId: null, routeError: expect.stringContaining(`task kind "${kind}"`) });
    const w = await worker();
    expect(await claim(w, [kind])).toBeNull();
    const config = routerConfig('round_robin') as any;
    config.apps.generalist = { command: 'run', capabilities: { task_kinds: [kind], domains: [] }, limits: { max_parallel: 1, timeout_seconds: 60 } };
    await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: config });
    expect(await claim(w, [kind])).toMatchObject({ toolId: 'generalist', routeError: null });
  });

  it("a tool's breaker opens after 5 failures and routing passes it over; after the recovery timeout a success closes it", async () => {
    const kind = 'lint';
    const w = await worker(['linter']);
    for (let i = 0; i < 5; i++) {
      await submit([taskSpec(`l${i}`, [], { kind })]);
      const task = await claim(w, [kind]);
      await complete(w, task.id, false, 2);
    }
    const tools = (await ok(`{ tools { id circuitState successRate inFlight } }`)).tools;
    expect(tools.find((t: any) => t.id === 'linter')).toMatchObject({ circuitState: 'OPEN' });
    const waiting = await submit([taskSpec('while-open', [], { kind })]);
    expect(waiting.tasks[0].routeError).toContain('linter (circuit open)');
    clock.advance(60_000);
    expect((await ok(`{ tools { id circuitState } }`)).tools.find((t: any) => t.id === 'linter').circuitState).toBe('HALF_OPEN');
    // The task that found no tool is routed again (the server does this with the reaper): it takes the trial call.
    expect(await server.engine.routing.retryWaiting()).toBe(1);
    const trial = (await ok(`query($id: ID!) { workstream(id: $id) { tasks { toolId routeError } } }`, { id: waiting.id })).workstream.tasks[0];
    expect(trial).toEqual({ toolId: 'linter', routeError: null });
    const task = await claim(w, [kind]);
    await complete(w, task.id, true, 1);
    expect((await ok(`{ tools { id circuitState } }`)).tools.find((t: any) => t.id === 'linter').circuitState).toBe('CLOSED');
  });

  it('routedOnly: a worker takes only tasks routed to a tool it runs (any routed task when it names none), never an unrouted one', async () => {
    const kind = unique('routed-only');
    const config = routerConfig('round_robin') as any;
    config.apps.formatter = { command: 'run', capabilities: { task_kinds: [kind], domains: [] }, limits: { max_parallel: 4, timeout_seconds: 60 } };
    await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: config });
    // The oldest of the kind is a createTask task: routed to no tool.
    const { createTask } = await ok(`mutation($k: String!) { createTask(input: {kind: $k}) { task { id toolId } } }`, { k: kind });
    expect(createTask.task.toolId).toBeNull();
    const ws = await submit([taskSpec('r1', [], { kind }), taskSpec('r2', [], { kind })]);
    expect(ws.tasks.map((t: any) => t.toolId)).toEqual(['formatter', 'formatter']);
    const claimRouted = async (workerId: string, routedOnly?: boolean) =>
      (await ok(`mutation($w: ID!, $k: String!, $r: Boolean) { claimTask(input: {workerId: $w, kinds: [$k], routedOnly: $r}) { task { id toolId } } }`, { w: workerId, k: kind, r: routedOnly }))
        .claimTask.task;

    // A worker of other tools gets nothing: not the unrouted task, not one routed elsewhere.
    expect(await claimRouted(await worker(['linter']), true)).toBeNull();
    // One that runs the tool, and one that named no tools, pass the older unrouted task over.
    expect(await claimRouted(await worker(['formatter', 'linter']), true)).toEqual({ id: ws.tasks[0].id, toolId: 'formatter' });
    const anyTool = await worker();
    expect(await claimRouted(anyTool, true)).toEqual({ id: ws.tasks[1].id, toolId: 'formatter' });
    expect(await claimRouted(anyTool, true)).toBeNull();
    // Without it (false, or not given), as before: the unrouted task is claimed too.
    expect(await claimRouted(await worker(['linter']), false)).toEqual({ id: createTask.task.id, toolId: null });
  });
});

describe('a run that ends', () => {
  it('skips its tasks that have not started, so no worker takes them', async () => {
    const kind = unique('canceled');
    const ws = await submit([taskSpec('a', [], { kind }), taskSpec('b', ['a'], { kind })]);
    await ok(`mutation($r: ID!) { cancelRun(input: {id: $r, reason: "not needed"}) { run { state } } }`, { r: ws.run.id });
    const tasks = (await ok(`query($id: ID!) { workstream(id: $id) { tasks { state } } }`, { id: ws.id })).workstream.tasks;
    expect(tasks.map((t: any) => t.state)).toEqual(['SKIPPED', 'SKIPPED']);
    expect(await claim(await worker(), [kind])).toBeNull();
  });
});

describe("a half-open tool's trial call", () => {
  /** A router configuration with a tool of its own for `kind`, a second tool `backup` behind it (fixed), and a helper tool for `${kind}-helper`. */
  function trialConfig(kind: string, tool: string, withBackup = false) {
    const app = (kinds: string[]) => ({ command: 'run', capabilities: { task_kinds: kinds, domains: [] }, limits: { max_parallel: 4, timeout_seconds: 600 } });
    return {
      version: 1,
      apps: { [tool]: app([kind]), [`${tool}-backup`]: app(withBackup ? [kind] : []), [`${tool}-helper`]: app([`${kind}-helper`]) },
      routing: { rules: [{ id: `${tool}-rule`, match: { task_kind: [kind] }, select_from: withBackup ? [tool, `${tool}-backup`] : [tool], strategy: 'fixed' }] },
      defaults: { max_attempts: 1, timeout_seconds: 600, strategy: 'fixed' },
    };
  }

  const circuit = async (tool: string) => (await ok(`{ tools { id circuitState inFlight } }`)).tools.find((t: any) => t.id === tool);
  const tasksOf = async (ws: { id: string }) => (await ok(`query($id: ID!) { workstream(id: $id) { tasks { id specTaskId state toolId routeError } } }`, { id: ws.id })).workstream.tasks as any[];

  /** Sets the configuration, opens `tool`'s breaker with 5 failed attempts, and waits out the recovery timeout: it reads HALF_OPEN. */
  async function halfOpenTool(withBackup = false) {
    const kind = unique('trial-kind');
    const tool = unique('probe');
    await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: trialConfig(kind, tool, withBackup) });
    const w = await worker([tool]);
    for (let i = 0; i < 5; i++) {
      await submit([taskSpec(`f${i}`, [], { kind })]);
      const task = await claim(w, [kind]);
      expect(task.toolId).toBe(tool);
      await complete(w, task.id, false, 1);
    }
    expect(await circuit(tool)).toMatchObject({ circuitState: 'OPEN', inFlight: 0 });
    clock.advance(60_000);
    expect((await circuit(tool)).circuitState).toBe('HALF_OPEN');
    return { kind, tool, w };
  }

  /** After the routed trial candidate went away: a new task is routed to the tool, its attempt is the trial, and its success closes the breaker. */
  async function trialStillAvailable(kind: string, tool: string, w: string) {
    const next = await submit([taskSpec('next', [], { kind })]);
    expect(next.tasks[0]).toMatchObject({ toolId: tool, routeError: null });
    const task = await claim(w, [kind]);
    expect(task).toMatchObject({ specTaskId: 'next', toolId: tool });
    await complete(w, task.id, true, 1);
    expect(await circuit(tool)).toMatchObject({ circuitState: 'CLOSED', inFlight: 0 });
  }

  it('is not held by a routed task that is skipped after a sibling fails and stops the workstream', async () => {
    const { kind, tool, w } = await halfOpenTool();
    const ws = await submit([taskSpec('stopper', [], { kind: `${kind}-helper`, onFailure: 'abort_workstream' }), taskSpec('routed', [], { kind })]);
    expect(ws.tasks.find((t: any) => t.specTaskId === 'routed')).toMatchObject({ toolId: tool, routeError: null });
    const helper = await worker();
    const stopper = await claim(helper, [`${kind}-helper`]);
    await complete(helper, stopper.id, false);
    expect((await tasksOf(ws)).find((t) => t.specTaskId === 'routed').state).toBe('SKIPPED');
    await trialStillAvailable(kind, tool, w);
  });

  it('is not held by a routed task skipped because its run was canceled', async () => {
    const { kind, tool, w } = await halfOpenTool();
    const ws = await submit([taskSpec('routed', [], { kind })]);
    expect(ws.tasks[0]).toMatchObject({ toolId: tool, routeError: null });
    await ok(`mutation($r: ID!) { cancelRun(input: {id: $r, reason: "not needed"}) { run { state } } }`, { r: ws.run.id });
    expect((await tasksOf(ws))[0].state).toBe('SKIPPED');
    await trialStillAvailable(kind, tool, w);
  });

  it.each([
    ['paused', `mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state } } }`],
    ['shut down', `mutation($id: ID!) { shutdownWorker(input: {id: $id}) { worker { state } } }`],
  ])('is given back when the worker running it is %s, and the handed-back task runs it', async (_how, stop) => {
    const { kind, tool, w } = await halfOpenTool();
    const ws = await submit([taskSpec('trial', [], { kind })]);
    const task = await claim(w, [kind]);
    expect(await circuit(tool)).toMatchObject({ circuitState: 'HALF_OPEN', inFlight: 1 });
    await ok(stop, { id: w });
    // Handed back without counting an attempt, and routed again: to the same tool, whose trial slot is free once more.
    expect((await tasksOf(ws))[0]).toMatchObject({ state: 'PENDING', toolId: tool, routeError: null });
    expect(await circuit(tool)).toMatchObject({ circuitState: 'HALF_OPEN', inFlight: 0 });
    const other = await worker([tool]);
    const again = await claim(other, [kind]);
    expect(again.id).toBe(task.id);
    await complete(other, again.id, true, 1);
    expect(await circuit(tool)).toMatchObject({ circuitState: 'CLOSED', inFlight: 0 });
  });

  it('is decided by a crash of the worker running it: the attempt counts as failed and the breaker opens again', async () => {
    const { kind, tool, w } = await halfOpenTool();
    await submit([taskSpec('trial', [], { kind, maxAttempts: 2 })]);
    await claim(w, [kind]);
    await ok(`mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "oom"}) { worker { state } } }`, { id: w });
    expect(await circuit(tool)).toMatchObject({ circuitState: 'OPEN', inFlight: 0 });
  });

  it('is taken at lease time: a second task routed to the tool meanwhile is routed again at claim time, passing it over', async () => {
    const { kind, tool } = await halfOpenTool(true);
    const ws = await submit([taskSpec('one', [], { kind }), taskSpec('two', [], { kind })]);
    // Routing takes no slot: both are routed to the half-open tool, which admits a call.
    expect(ws.tasks.map((t: any) => t.toolId)).toEqual([tool, tool]);
    const any = await worker();
    expect(await claim(any, [kind])).toMatchObject({ specTaskId: 'one', toolId: tool });
    expect(await claim(any, [kind])).toMatchObject({ specTaskId: 'two', toolId: `${tool}-backup` });
    const assignable = await submit([taskSpec('three', [], { kind })]);
    expect(assignable.tasks[0].toolId).toBe(`${tool}-backup`);
  });

  it('assigning a task whose tool takes no call now is refused with NO_ROUTE and writes nothing', async () => {
    const { kind, tool, w } = await halfOpenTool();
    const ws = await submit([taskSpec('one', [], { kind }), taskSpec('two', [], { kind })]);
    await claim(w, [kind]);
    const two = (await tasksOf(ws)).find((t) => t.specTaskId === 'two');
    expect(two).toMatchObject({ state: 'PENDING', toolId: tool });
    const res = await server.gql(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id } } }`, { w: await worker(), t: two.id });
    expect(codes(res)).toEqual(['NO_ROUTE']);
    expect(res.errors?.[0]?.message).toContain('HALF_OPEN');
    expect((await tasksOf(ws)).find((t) => t.specTaskId === 'two')).toMatchObject({ state: 'PENDING', toolId: tool });
  });

  it('a slot whose holder is no longer running on the tool (a path that forgot to free it) is freed when observed', async () => {
    const { kind, tool, w } = await halfOpenTool();
    const em = server.engine.orm.em.fork();
    const { ToolStateSchema } = await import('../../src/engine/routing/entities.js');
    const row = await em.findOneOrFail(ToolStateSchema, { toolId: tool });
    row.breaker = { ...row.breaker, state: 'half_open', trials: ['01JZZZZZZZZZZZZZZZZZZZZZZZ'] };
    await em.flush();
    await trialStillAvailable(kind, tool, w);
  });
});

describe('toolCircuitChanged', () => {
  it('announces OPEN -> HALF_OPEN once per open period, when a routing pass or the routing retry job first sees it', async () => {
    const kind = unique('announce-kind');
    const tool = unique('announced');
    const config = routerConfig() as any;
    config.apps[tool] = { command: 'run', capabilities: { task_kinds: [kind], domains: [] }, limits: { max_parallel: 1, timeout_seconds: 60 } };
    await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: config });
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($t: String) { toolCircuitChanged(toolId: $t) { toolId from to at } }`, { t: tool });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    const w = await worker([tool]);
    const failOnce = async () => {
      await submit([taskSpec('f', [], { kind })]);
      const task = await claim(w, [kind]);
      await complete(w, task.id, false, 1);
    };
    for (let i = 0; i < 5; i++) await failOnce();
    await sub.next(1);
    const openedAt = clock.now().toISOString();

    clock.advance(60_000);
    // The routing retry job (every reaper interval) sees the recovery first; later passes announce nothing more.
    await server.engine.routing.retryWaiting();
    await server.engine.routing.retryWaiting();
    await sub.next(2);
    const halfAt = clock.now().toISOString();
    // The trial fails: open again; after another 60 s, routing a task is what notices it.
    await failOnce();
    await sub.next(3);
    clock.advance(60_000);
    const ws = await submit([taskSpec('trial', [], { kind })]);
    await sub.next(4);
    await server.engine.routing.retryWaiting();
    const secondHalfAt = clock.now().toISOString();
    const trial = await claim(w, [kind]);
    expect(trial.id).toBe(ws.tasks[0].id);
    await complete(w, trial.id, true, 1);
    await sub.next(5);
    await server.engine.routing.retryWaiting();
    expect(sub.results.map((r) => r.data!.toolCircuitChanged)).toEqual([
      { toolId: tool, from: 'CLOSED', to: 'OPEN', at: openedAt },
      { toolId: tool, from: 'OPEN', to: 'HALF_OPEN', at: halfAt },
      { toolId: tool, from: 'HALF_OPEN', to: 'OPEN', at: halfAt },
      { toolId: tool, from: 'OPEN', to: 'HALF_OPEN', at: secondHalfAt },
      { toolId: tool, from: 'HALF_OPEN', to: 'CLOSED', at: secondHalfAt },
    ]);
    sub.stop();
    await client.dispose();
  });
});

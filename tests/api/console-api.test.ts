import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { codes, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';
import { until } from '../helpers/wait.js';

/**
 * What the console's panels read that the API gained for them (issue 19):
 * workstreams with their progress, spend by project and by tool, and the
 * failure rate of recent runs. A real server on the test database.
 */

const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const clock = new ManualClock(new Date(T0).toISOString());
const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

let server: TestServer;
const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

/** Three workstreams, submitted a second apart: A (project pa, a then b), B (project pb, lint l), C (project pa, c). */
const ws: Record<'A' | 'B' | 'C', { id: string; runId: string; toolId?: string; executionRequestId?: string }> = {} as never;
let workerId: string;

async function submit(id: string, projectId: string, tasks: ReturnType<typeof taskSpec>[]) {
  clock.advance(1000);
  const { submitWorkstream } = await ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { id run { id } } } }`, { s: workstreamSpec(tasks, { id, projectId }) });
  return { id: submitWorkstream.workstream.id as string, runId: submitWorkstream.workstream.run.id as string };
}

/** Claims the next task of the run; its attempt's execution request and the tool the router chose. */
async function claim(runId: string) {
  const { claimTask } = await ok(`mutation($w: ID!, $r: ID) { claimTask(input: {workerId: $w, runId: $r}) { task { id executionRequest { id toolId } } } }`, { w: workerId, r: runId });
  return claimTask.task as { id: string; executionRequest: { id: string; toolId: string } };
}

const complete = (taskId: string) =>
  ok(`mutation($w: ID!, $t: ID!) { completeTask(input: {workerId: $w, taskId: $t, success: true, executionTimeSeconds: 10}) { task { state } } }`, { w: workerId, t: taskId });

beforeAll(async () => {
  server = await startTestServer({ clock, jobs: { reaperIntervalMs: 0, revocationPollMs: 0 }, limits: { mutationsPerMinute: 0 } });
  await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: routerConfig() });
  workerId = (await ok(`mutation { registerWorker(input: {type: EXECUTOR, tools: ["coder", "reviewer", "linter"], config: {maxParallelTasks: 5}}) { worker { id } } }`)).registerWorker.worker.id;
  ws.A = await submit('ws-a', 'pa', [taskSpec('a'), taskSpec('b', ['a'])]);
  ws.B = await submit('ws-b', 'pb', [taskSpec('l', [], { kind: 'lint' })]);
  ws.C = await submit('ws-c', 'pa', [taskSpec('c')]);
  // A: a done, b pending. C: c done, so its run SUCCEEDED. B: l running.
  for (const key of ['A', 'C', 'B'] as const) {
    const task = await claim(ws[key].runId);
    Object.assign(ws[key], { toolId: task.executionRequest.toolId, executionRequestId: task.executionRequest.id });
    clock.advance(10_000);
    if (key !== 'B') await complete(task.id);
  }
});
afterAll(() => server.stop());

const PROGRESS = 'total completed failed skipped running pending completionPercent estimatedRemainingSeconds currentTask { id } currentTaskProgress';
const WORKSTREAMS = `query($f: WorkstreamFilter, $n: Int, $after: String) { workstreams(filter: $f, first: $n, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id workstreamId projectId run { id state } progress { ${PROGRESS} } } } } }`;

const names = (data: any) => data.workstreams.edges.map((e: any) => e.node.workstreamId);

describe('workstreams', () => {
  it('lists them newest first, each with the progress runProgress gives for its run', async () => {
    const data = await ok(WORKSTREAMS);
    expect(data.workstreams.totalCount).toBe(3);
    expect(names(data)).toEqual(['ws-c', 'ws-b', 'ws-a']);
    const byName = Object.fromEntries(data.workstreams.edges.map((e: any) => [e.node.workstreamId, e.node]));
    expect(byName['ws-a'].progress).toMatchObject({ total: 2, completed: 1, pending: 1, running: 0, completionPercent: 50, estimatedRemainingSeconds: 10 });
    expect(byName['ws-b'].progress).toMatchObject({ total: 1, completed: 0, running: 1, completionPercent: 0, estimatedRemainingSeconds: null });
    expect(byName['ws-b'].progress.currentTask).not.toBeNull();
    expect(byName['ws-c'].progress).toMatchObject({ total: 1, completed: 1, completionPercent: 100, estimatedRemainingSeconds: 0 });
    expect(byName['ws-c'].run.state).toBe('SUCCEEDED');
    for (const node of Object.values<any>(byName)) {
      const { runProgress } = await ok(`query($r: ID!) { runProgress(runId: $r) { ${PROGRESS} } }`, { r: node.run.id });
      expect(node.progress).toEqual(runProgress);
    }
  });

  it('filters by project and by whether the run is still active', async () => {
    const list = async (f: Record<string, unknown>) => {
      const data = await ok(WORKSTREAMS, { f });
      expect(data.workstreams.totalCount).toBe(data.workstreams.edges.length);
      return names(data);
    };
    expect(await list({ projectId: 'pa' })).toEqual(['ws-c', 'ws-a']);
    expect(await list({ active: true })).toEqual(['ws-b', 'ws-a']);
    expect(await list({ active: false })).toEqual(['ws-c']);
    expect(await list({ projectId: 'pa', active: true })).toEqual(['ws-a']);
    expect(await list({ projectId: 'nobody' })).toEqual([]);
  });

  it('pages with cursors, at most 100 at a time', async () => {
    const first = await ok(WORKSTREAMS, { n: 2 });
    expect(names(first)).toEqual(['ws-c', 'ws-b']);
    expect(first.workstreams.pageInfo.hasNextPage).toBe(true);
    const second = await ok(WORKSTREAMS, { n: 2, after: first.workstreams.pageInfo.endCursor });
    expect(names(second)).toEqual(['ws-a']);
    expect(second.workstreams.pageInfo.hasNextPage).toBe(false);
    expect(codes(await server.gql(WORKSTREAMS, { n: 101 }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await server.gql(WORKSTREAMS, { after: 'bm90IGEgY3Vyc29y' }))).toEqual(['BAD_USER_INPUT']);
  });

  it('reads a page with its runs and progress in the same number of statements for 2 and 3 workstreams', async () => {
    const knex = server.engine.orm.em.getKnex();
    const counts: number[] = [];
    // Both pages hold ws-b, whose running task adds the workers' read: the pages differ only in size.
    for (const n of [2, 3]) {
      const statements: string[] = [];
      const listener = (q: { sql: string }) => statements.push(q.sql);
      knex.on('query', listener);
      try {
        expect(names(await ok(WORKSTREAMS, { n }))).toHaveLength(n);
      } finally {
        knex.off('query', listener);
      }
      counts.push(statements.length);
    }
    expect(counts[0]).toBe(counts[1]);
    // Page, count, runs; progress: runs, tasks, workers (measured: 6).
    expect(counts[1]).toBeLessThanOrEqual(6);
  });
});

describe('toolChanged', () => {
  it('sends the tool as Query.tools shows it when an attempt on it is leased and when it ends, and only on a change', async () => {
    const FIELDS = 'id circuitState successRate p50LatencyMs inFlight';
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription { toolChanged(toolId: "linter") { ${FIELDS} } }`);
    try {
      await until(() => server.engine.openStreams() > streams, 'the stream to open');
      const before = (await ok(`{ tools { ${FIELDS} } }`)).tools.find((t: any) => t.id === 'linter');
      expect(before).toMatchObject({ inFlight: 1, successRate: null });
      // A coder task leased and ended: nothing about linter.
      const other = await submit('ws-tool-other', 'pt', [taskSpec('o')]);
      await complete((await claim(other.runId)).id);
      const lint = await submit('ws-tool', 'pt', [taskSpec('l2', [], { kind: 'lint' })]);
      const task = await claim(lint.runId);
      await sub.next(1);
      expect(sub.results[0]!.data!.toolChanged).toEqual({ ...before, inFlight: 2 });
      clock.advance(2_000);
      await ok(`mutation($w: ID!, $t: ID!) { completeTask(input: {workerId: $w, taskId: $t, success: true, executionTimeSeconds: 2}) { task { state } } }`, { w: workerId, t: task.id });
      await sub.next(2);
      const after = (await ok(`{ tools { ${FIELDS} } }`)).tools.find((t: any) => t.id === 'linter');
      expect(after).toMatchObject({ inFlight: 1, successRate: 1, p50LatencyMs: 2000 });
      expect(sub.results.map((r) => r.data!.toolChanged)).toEqual([{ ...before, inFlight: 2 }, after]);
    } finally {
      sub.stop();
      await client.dispose();
    }
  });
});

describe('spend by project and by tool', () => {
  const SUMMARY = `query($f: CostFilter, $top: Int) { costSummary(filter: $f) { currency total count
    byProject(top: $top) { projectId total count } byTool { toolId total count } } }`;

  beforeAll(async () => {
    const record = (input: Record<string, unknown>) => ok(`mutation($i: RecordCostInput!) { recordCost(input: $i) { cost { id } } }`, { i: { resourceType: 'API_CALL', currency: 'USD', ...input } });
    await record({ runId: ws.A.runId, executionRequestId: ws.A.executionRequestId, amount: '1.5' });
    await record({ runId: ws.C.runId, executionRequestId: ws.C.executionRequestId, amount: '2.25' });
    await record({ runId: ws.B.runId, executionRequestId: ws.B.executionRequestId, amount: '0.125' });
    await record({ projectId: 'pz', amount: '4' });
    await record({ projectId: 'pb', amount: '7', currency: 'EUR' });
  });

  /** The expected spend per tool: A and C may have gone to the same tool (round robin between coder and reviewer). */
  function toolSpend(entries: [string | undefined, number][]) {
    const sums = new Map<string | null, { total: number; count: number }>();
    for (const [tool, amount] of entries) {
      const sum = sums.get(tool ?? null) ?? { total: 0, count: 0 };
      sums.set(tool ?? null, { total: sum.total + amount, count: sum.count + 1 });
    }
    return [...sums.entries()].sort(([a], [b]) => (a === null ? -1 : b === null ? 1 : a.localeCompare(b))).map(([toolId, { total, count }]) => ({ toolId, total: String(total), count }));
  }

  it('sums each currency by project, largest first, and by the tool of the attempt each cost names', async () => {
    const { costSummary } = await ok(SUMMARY);
    expect(costSummary.map((s: any) => s.currency)).toEqual(['EUR', 'USD']);
    const [eur, usd] = costSummary;
    expect(eur).toEqual({ currency: 'EUR', total: '7', count: 1, byProject: [{ projectId: 'pb', total: '7', count: 1 }], byTool: [{ toolId: null, total: '7', count: 1 }] });
    expect(usd.total).toBe('7.875');
    expect(usd.byProject).toEqual([
      { projectId: 'pz', total: '4', count: 1 },
      { projectId: 'pa', total: '3.75', count: 2 },
      { projectId: 'pb', total: '0.125', count: 1 },
    ]);
    expect(ws.B.toolId).toBe('linter');
    expect(usd.byTool).toEqual(
      toolSpend([
        [ws.A.toolId, 1.5],
        [ws.C.toolId, 2.25],
        [ws.B.toolId, 0.125],
        [undefined, 4],
      ]),
    );
  });

  it('applies the filter, and takes 1 to 100 projects', async () => {
    const { costSummary } = await ok(SUMMARY, { f: { projectId: 'pa' }, top: 1 });
    expect(costSummary).toHaveLength(1);
    expect(costSummary[0].byProject).toEqual([{ projectId: 'pa', total: '3.75', count: 2 }]);
    expect(costSummary[0].byTool.some((s: any) => s.toolId === null || s.toolId === 'linter')).toBe(false);
    const top = (await ok(SUMMARY, { top: 2 })).costSummary[1].byProject;
    expect(top.map((s: any) => s.projectId)).toEqual(['pz', 'pa']);
    for (const bad of [0, 101]) expect(codes(await server.gql(SUMMARY, { top: bad }))).toEqual(['BAD_USER_INPUT']);
  });

  it('keeps totals exact past 2^63 nano-units per tool', async () => {
    // 1,100 records of the largest amount overflow a 64-bit sum (exact-sum.ts); on a project of its own.
    const amount = '9007199.254740991';
    for (let i = 0; i < 1100; i++) await server.engine.costs.record(operator, { projectId: 'big', resourceType: 'api_call', currency: 'JPY', amount });
    const [jpy] = (await ok(SUMMARY, { f: { projectId: 'big' } })).costSummary;
    const expected = '9907919180.2150901';
    expect(jpy).toMatchObject({ currency: 'JPY', total: expected, byProject: [{ projectId: 'big', total: expected, count: 1100 }], byTool: [{ toolId: null, total: expected, count: 1100 }] });
  });
});

describe('runSummary.recent', () => {
  const RECENT = `query($w: Int) { runSummary { recent(windowSeconds: $w) { windowSeconds since total succeeded failed failureRate runsByState { state count } } } }`;
  const T1 = T0 + 10 * 86_400_000;

  beforeAll(async () => {
    const runs = server.engine.runs;
    const run = async (end?: 'succeeded' | 'failed' | 'quarantined' | 'canceled' | 'running') => {
      const { id } = await runs.createRun({ projectId: 'recent', phaseId: 'p' });
      if (end === 'canceled') return runs.cancelRun(id, 'test');
      if (!end) return;
      await runs.startRun(id);
      if (end === 'running') return;
      await runs.completeRun({ id, state: end === 'succeeded' ? 'succeeded' : 'failed' });
      if (end === 'quarantined') await runs.quarantineRun(id, 'test');
    };
    clock.set(new Date(T1 - 2 * 86_400_000));
    await run('failed');
    clock.set(new Date(T1 - 3_600_000));
    for (const end of ['succeeded', 'failed', 'quarantined', 'canceled', 'running', undefined] as const) await run(end);
    clock.set(new Date(T1));
  });

  it('counts the runs created in the window, and the failure rate of those that ended', async () => {
    const { recent } = (await ok(RECENT, { w: 86_400 })).runSummary;
    expect(recent).toEqual({
      windowSeconds: 86_400,
      since: new Date(T1 - 86_400_000).toISOString(),
      total: 6,
      succeeded: 1,
      failed: 2,
      failureRate: 2 / 3,
      runsByState: ['CANCELED', 'FAILED', 'PENDING', 'QUARANTINED', 'RUNNING', 'SUCCEEDED'].map((state) => ({ state, count: 1 })),
    });
    expect((await ok(RECENT)).runSummary.recent).toEqual(recent);
    expect((await ok(RECENT, { w: 3 * 86_400 })).runSummary.recent).toMatchObject({ total: 7, succeeded: 1, failed: 3, failureRate: 0.75 });
    expect((await ok(RECENT, { w: 60 })).runSummary.recent).toMatchObject({ total: 0, failureRate: null, runsByState: [] });
  });

  it('looks back 1 second to 30 days', async () => {
    for (const bad of [0, -5, 30 * 86_400 + 1]) {
      const res = await server.gql(RECENT, { w: bad });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors![0]!.message).toContain('windowSeconds');
    }
  });
});

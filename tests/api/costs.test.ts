import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { CostRecordSchema } from '../../src/engine/db/cost-entities.js';
import { codes, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

let server: TestServer;
const clock = new ManualClock('2026-11-20T00:00:00.000Z');
beforeAll(async () => {
  server = await startTestServer({ clock, limits: { mutationsPerMinute: 0 } });
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);
const RECORD = `mutation($input: RecordCostInput!) { recordCost(input: $input) { cost { id amount currency resourceType usage { quantity unit rate } metadata { model tokensInput tokensOutput durationSeconds } run { id } projectId } } }`;
const record = (input: Record<string, unknown>) => server.gql(RECORD, { input: { resourceType: 'API_CALL', currency: 'USD', ...input } });
const costRows = () => server.engine.orm.em.fork().count(CostRecordSchema, {});

async function runningRun(projectId: string): Promise<string> {
  const id = await createRun(server, { projectId });
  await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });
  return id;
}

describe('recording costs', () => {
  it('keeps amounts exact and computes quantity x rate exactly', async () => {
    const runId = await runningRun('costs');
    const direct = await record({ runId, amount: '0.1', metadata: { model: 'gpt-x', tokensInput: 120, tokensOutput: 30, durationSeconds: 1.5 } });
    expect(direct.data!.recordCost.cost).toMatchObject({
      amount: '0.1',
      currency: 'USD',
      resourceType: 'API_CALL',
      usage: null,
      projectId: 'costs',
      run: { id: runId },
      metadata: { model: 'gpt-x', tokensInput: 120, tokensOutput: 30, durationSeconds: 1.5 },
    });
    const usage = await record({ runId, usage: { quantity: '1234', unit: 'tokens', rate: '0.0000015' } });
    expect(usage.data!.recordCost.cost).toMatchObject({ amount: '0.001851', usage: { quantity: '1234', unit: 'tokens', rate: '0.0000015' } });
    // A number literal is read from its exact text.
    const literal = await server.gql(`mutation { recordCost(input: {projectId: "costs", resourceType: STORAGE, amount: 0.30, currency: "EUR"}) { cost { amount } } }`);
    expect(literal.data!.recordCost.cost.amount).toBe('0.3');
  });

  it.each([
    ['a negative amount', { projectId: 'v', amount: '-1' }, 'amount'],
    ['no amount and no usage', { projectId: 'v' }, 'amount'],
    ['an amount that is not quantity x rate', { projectId: 'v', amount: '2', usage: { quantity: '3', unit: 'h', rate: '0.5' } }, 'amount'],
    ['a currency in lower case', { projectId: 'v', amount: '1', currency: 'usd' }, 'currency'],
    ['a four-letter currency', { projectId: 'v', amount: '1', currency: 'EURO' }, 'currency'],
    ['more than 9 decimal places', { projectId: 'v', amount: '0.0000000001' }, 'amount'],
    ['neither run nor project', { amount: '1' }, 'projectId'],
    ['a negative token count', { projectId: 'v', amount: '1', metadata: { tokensInput: -1 } }, 'metadata.tokensInput'],
  ])('refuses %s as BAD_USER_INPUT and writes nothing', async (_name, input, field) => {
    const before = await costRows();
    const res = await record(input);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0].extensions?.field).toBe(field);
    expect(await costRows()).toBe(before);
  });

  it('refuses a Decimal that is not a number before it reaches the engine', async () => {
    const res = await record({ projectId: 'v', amount: 'ten' });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('never mixes currencies in totals', async () => {
    for (const [amount, currency] of [['1.5', 'USD'], ['2.25', 'EUR'], ['0.5', 'USD'], ['100', 'JPY']]) {
      expect((await record({ projectId: 'fx', amount, currency })).errors).toBeUndefined();
    }
    const summary = await ok(`{ costSummary(filter: {projectId: "fx"}) { currency total count } }`);
    expect(summary.costSummary).toEqual([
      { currency: 'EUR', total: '2.25', count: 1 },
      { currency: 'JPY', total: '100', count: 1 },
      { currency: 'USD', total: '2', count: 2 },
    ]);
  });
});

describe('budgets', () => {
  const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { id limit spent remaining thresholds crossedThresholds action exhausted } } }`;

  it('20 concurrent costs that cross 80 % and 100 % together announce each threshold exactly once', async () => {
    const runId = await runningRun('concurrent');
    const { setBudget } = await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', action: 'NOTIFY' } });
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription { budgetAlerts(projectId: "concurrent") { threshold spent limit halted budget { id } run { id } } }`);
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    // 20 x 0.06 = 1.2: the 14th crosses 80 %, the 17th 100 %.
    const results = await Promise.all(Array.from({ length: 20 }, () => record({ runId, amount: '0.06' })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    await sub.next(2);
    await sleep(100);
    const alerts = sub.results.map((r) => r.data!.budgetAlerts);
    expect(alerts.map((a) => [a.threshold, a.spent, a.halted])).toEqual([
      [80, '0.84', false],
      [100, '1.02', false],
    ]);
    expect(alerts.every((a) => a.budget.id === setBudget.budget.id && a.run.id === runId)).toBe(true);
    const budget = await ok(`query($r: ID) { budgets(filter: {runId: $r}) { spent remaining crossedThresholds exhausted } }`, { r: runId });
    expect(budget.budgets).toEqual([{ spent: '1.2', remaining: '0', crossedThresholds: [80, 100], exhausted: true }]);
    const events = await ok(`query($r: ID!) { runEvents(runId: $r, kinds: [BUDGET_THRESHOLD_CROSSED]) { edges { node { payload } } } }`, { r: runId });
    expect(events.runEvents.edges.map((e: any) => e.node.payload.threshold)).toEqual([80, 100]);
    sub.stop();
    await client.dispose();
  });

  it('HALT: crossing 100 % cancels the run, and its new steps and tasks are refused with BUDGET_EXCEEDED', async () => {
    const runId = await runningRun('halting');
    const { createTask } = await ok(`mutation($r: ID!) { createTask(input: {kind: "halt-me", runId: $r}) { task { id } } }`, { r: runId });
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '5', thresholds: [50, 100], action: 'HALT' } });
    await record({ runId, amount: '3' });
    expect((await ok(`query($r: ID!) { run(id: $r) { state } }`, { r: runId })).run.state).toBe('RUNNING');
    await record({ runId, amount: '2.5' });
    const run = await ok(`query($r: ID!) { run(id: $r) { state stateReason } }`, { r: runId });
    expect(run.run.state).toBe('CANCELED');
    expect(run.run.stateReason).toMatch(/^budget .+ exceeded: spent 5.5 of 5 USD$/);

    const step = await server.gql(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "t"}) { step { id } } }`, { r: runId });
    expect(codes(step)).toEqual(['BUDGET_EXCEEDED']);
    const task = await server.gql(`mutation($r: ID!) { createTask(input: {kind: "more", runId: $r}) { task { id } } }`, { r: runId });
    expect(codes(task)).toEqual(['BUDGET_EXCEEDED']);
    // The task it had queued is skipped with the run, so no worker claims it; assigning it is refused the same way.
    const pending = await ok(`query($t: ID!) { task(id: $t) { state error } }`, { t: createTask.task.id });
    expect(pending.task.state).toBe('SKIPPED');
    expect(pending.task.error).toContain('exceeded');
    const { registerWorker } = await ok(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`);
    const claim = await ok(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["halt-me"]}) { task { id } } }`, { w: registerWorker.worker.id });
    expect(claim.claimTask.task).toBeNull();
    const assign = await server.gql(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id } } }`, {
      w: registerWorker.worker.id,
      t: createTask.task.id,
    });
    expect(codes(assign)).toEqual(['BUDGET_EXCEEDED']);
    const events = await ok(`query($r: ID!) { runEvents(runId: $r) { edges { node { kind payload } } } }`, { r: runId });
    expect(events.runEvents.edges.map((e: any) => e.node.kind)).toEqual([
      'RUN_CREATED',
      'RUN_STARTED',
      'TASK_CREATED',
      'BUDGET_THRESHOLD_CROSSED',
      'RUN_STATE_CHANGED',
      'TASK_SKIPPED',
      'BUDGET_THRESHOLD_CROSSED',
    ]);
  });

  it('a project HALT budget stops the project\'s active runs', async () => {
    const [a, b] = [await runningRun('halt-project'), await runningRun('halt-project')];
    await ok(SET, { input: { scope: 'PROJECT', projectId: 'halt-project', currency: 'EUR', limit: '1', action: 'HALT' } });
    await record({ runId: a, amount: '1', currency: 'EUR' });
    const runs = await ok(`{ runs(filter: {projectId: "halt-project"}) { edges { node { id state } } } }`);
    expect(runs.runs.edges.map((e: any) => e.node.state)).toEqual(['CANCELED', 'CANCELED']);
    const fresh = await runningRun('halt-project');
    expect(codes(await server.gql(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "t"}) { step { id } } }`, { r: fresh }))).toEqual(['BUDGET_EXCEEDED']);
    expect(b).toBeTruthy();
  });

  it('a budget set after spending counts what was spent, and re-arms thresholds when the limit is raised', async () => {
    const runId = await runningRun('late');
    await record({ runId, amount: '9' });
    const first = await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '10', action: 'NOTIFY' } });
    expect(first.setBudget.budget).toMatchObject({ spent: '9', remaining: '1', crossedThresholds: [80] });
    const raised = await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '100', action: 'NOTIFY' } });
    expect(raised.setBudget.budget).toMatchObject({ id: first.setBudget.budget.id, limit: '100', crossedThresholds: [] });
    expect(codes(await server.gql(SET, { input: { scope: 'RUN', currency: 'USD', limit: '1', action: 'NOTIFY' } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await server.gql(SET, { input: { scope: 'PROJECT', projectId: 'p', currency: 'USD', limit: '0', action: 'NOTIFY' } }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('costSummary against a hand-computed fixture', () => {
  it('totals, breakdowns, top runs and hour and day series', async () => {
    clock.set('2026-11-22T00:00:00.000Z');
    const runs = [await createRun(server, { projectId: 'summary' }), await createRun(server, { projectId: 'summary' }), await createRun(server, { projectId: 'summary' })];
    const models = ['alpha', 'beta', null];
    const types = ['API_CALL', 'COMPUTE_TIME', 'TOOL_USAGE'];
    // 300 records, one every 20 minutes from 2026-11-22T00:00Z: 100 hours, 5 days (the last partly).
    const expected = { usd: 0n, eur: 0n, byType: new Map<string, bigint>(), byModel: new Map<string | null, bigint>(), byRun: new Map<string, bigint>(), hours: new Map<string, bigint>(), days: new Map<string, bigint>() };
    const add = <K>(map: Map<K, bigint>, key: K, value: bigint) => map.set(key, (map.get(key) ?? 0n) + value);
    for (let i = 0; i < 300; i++) {
      const at = new Date(Date.parse('2026-11-22T00:00:00.000Z') + i * 20 * 60_000);
      clock.set(at);
      const cents = BigInt((i % 7) + 1 + (i % 3)); // 0.01 .. 0.09, more for the later runs
      const currency = i % 10 === 0 ? 'EUR' : 'USD';
      const input: Record<string, unknown> = { runId: runs[i % 3], resourceType: types[i % 3], amount: `0.0${cents}`, currency };
      if (models[i % 3]) input.metadata = { model: models[i % 3] };
      const res = await record(input);
      expect(res.errors).toBeUndefined();
      const nanos = cents * 10_000_000n;
      if (currency === 'EUR') {
        expected.eur += nanos;
        continue;
      }
      expected.usd += nanos;
      add(expected.byType, types[i % 3], nanos);
      add(expected.byModel, models[i % 3], nanos);
      add(expected.byRun, runs[i % 3], nanos);
      add(expected.hours, at.toISOString().slice(0, 13) + ':00:00.000Z', nanos);
      add(expected.days, at.toISOString().slice(0, 10) + 'T00:00:00.000Z', nanos);
    }
    const money = (nanos: bigint) => {
      const whole = nanos / 1_000_000_000n;
      const frac = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
      return frac ? `${whole}.${frac}` : `${whole}`;
    };
    const data = await ok(`{ costSummary(filter: {projectId: "summary"}) {
      currency total count
      byResourceType { resourceType total }
      byModel { model total }
      byRun(top: 2) { run { id } total }
      hours: series(bucket: HOUR) { start total }
      days: series(bucket: DAY) { start total count }
    } }`);
    const [eur, usd] = data.costSummary;
    expect(eur).toMatchObject({ currency: 'EUR', total: money(expected.eur), count: 30 });
    expect(usd).toMatchObject({ currency: 'USD', total: money(expected.usd), count: 270 });
    const sorted = <K>(map: Map<K, bigint>) => [...map.entries()].sort(([a], [b]) => String(a ?? '').localeCompare(String(b ?? '')));
    expect(usd.byResourceType).toEqual(sorted(expected.byType).map(([resourceType, n]) => ({ resourceType, total: money(n) })));
    expect(usd.byModel).toEqual(sorted(expected.byModel).map(([model, n]) => ({ model, total: money(n) })));
    const top = [...expected.byRun.entries()].sort(([, a], [, b]) => (a === b ? 0 : a > b ? -1 : 1)).slice(0, 2);
    expect(usd.byRun).toEqual(top.map(([id, n]) => ({ run: { id }, total: money(n) })));
    expect(usd.hours).toEqual(sorted(expected.hours).map(([start, n]) => ({ start, total: money(n) })));
    expect(usd.hours).toHaveLength(100);
    expect(usd.days.map((d: any) => d.start)).toEqual(['2026-11-22T00:00:00.000Z', '2026-11-23T00:00:00.000Z', '2026-11-24T00:00:00.000Z', '2026-11-25T00:00:00.000Z', '2026-11-26T00:00:00.000Z']);
    expect(usd.days.map((d: any) => d.total)).toEqual(sorted(expected.days).map(([, n]) => money(n)));
    expect(usd.days.reduce((sum: number, d: any) => sum + d.count, 0)).toBe(270);

    // The same, narrowed by time and model: an id range and an index, no other records read.
    const narrowed = await ok(`{ costSummary(filter: {projectId: "summary", model: "alpha", from: "2026-11-23T00:00:00.000Z", to: "2026-11-24T00:00:00.000Z"}) { currency count } }`);
    const inDay = Array.from({ length: 300 }, (_, i) => i).filter((i) => i >= 72 && i < 144 && i % 3 === 0);
    expect(narrowed.costSummary).toEqual([
      { currency: 'EUR', count: inDay.filter((i) => i % 10 === 0).length },
      { currency: 'USD', count: inDay.filter((i) => i % 10 !== 0).length },
    ]);
    const page = await ok(`{ costs(first: 5, filter: {projectId: "summary", resourceType: TOOL_USAGE}) { totalCount edges { node { resourceType } } } }`);
    expect(page.costs.totalCount).toBe(100);
  });
});

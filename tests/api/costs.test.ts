import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { CostRecordSchema } from '../../src/engine/costs/entities.js';
import { codes, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';
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
    expect(res.errors?.[0]?.extensions?.field).toBe(field);
    expect(await costRows()).toBe(before);
  });

  it('refuses a Decimal that is not a number before it reaches the engine', async () => {
    const res = await record({ projectId: 'v', amount: 'ten' });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('never mixes currencies in totals', async () => {
    for (const [amount, currency] of [
      ['1.5', 'USD'],
      ['2.25', 'EUR'],
      ['0.5', 'USD'],
      ['100', 'JPY'],
    ]) {
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

  it("a project HALT budget stops the project's active runs", async () => {
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

describe('HALT is always announced, once, by the crossing that halts', () => {
  const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { id limit thresholds crossedThresholds exhausted } } }`;

  /** budgetAlerts of one project, open before anything is recorded. */
  async function alertsOf(projectId: string) {
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($p: ID) { budgetAlerts(projectId: $p) { threshold spent halted run { id } } }`, { p: projectId });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    return {
      sub,
      /** [threshold, spent, halted] of every alert so far, after a pause for any stray one. */
      seen: async (count: number) => {
        await sub.next(count);
        await sleep(100);
        return sub.results.map((r) => [r.data!.budgetAlerts.threshold, r.data!.budgetAlerts.spent, r.data!.budgetAlerts.halted]);
      },
      stop: async () => {
        sub.stop();
        await client.dispose();
      },
    };
  }
  const crossedEvents = async (runId: string) =>
    (await ok(`query($r: ID!) { runEvents(runId: $r, kinds: [BUDGET_THRESHOLD_CROSSED]) { edges { node { payload } } } }`, { r: runId })).runEvents.edges.map((e: any) => [
      e.node.payload.threshold,
      e.node.payload.halted,
    ]);
  const stateOf = async (runId: string) => (await ok(`query($r: ID!) { run(id: $r) { state } }`, { r: runId })).run.state;

  it('a HALT budget whose thresholds leave out 100 % still announces the halt, with halted true', async () => {
    const runId = await runningRun('halt-50');
    const alerts = await alertsOf('halt-50');
    const { setBudget } = await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '5', thresholds: [50], action: 'HALT' } });
    expect(setBudget.budget).toMatchObject({ thresholds: [50], crossedThresholds: [] });
    await record({ runId, amount: '3' });
    await record({ runId, amount: '2.5' });
    expect(await stateOf(runId)).toBe('CANCELED');
    await record({ runId, amount: '1' });
    expect(await alerts.seen(2)).toEqual([
      [50, '3', false],
      [100, '5.5', true],
    ]);
    expect(await crossedEvents(runId)).toEqual([
      [50, false],
      [100, true],
    ]);
    const budget = await ok(`query($r: ID) { budgets(filter: {runId: $r}) { thresholds crossedThresholds exhausted } }`, { r: runId });
    expect(budget.budgets).toEqual([{ thresholds: [50], crossedThresholds: [50, 100], exhausted: true }]);
    await alerts.stop();
  });

  it('20 concurrent costs through 80, 100 and 150 %: one alert each, and only the 100 % one says halted', async () => {
    const runId = await runningRun('halt-150');
    const alerts = await alertsOf('halt-150');
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', thresholds: [80, 150], action: 'HALT' } });
    // 20 x 0.1 = 2: the 8th reaches 80 %, the 10th 100 %, the 15th 150 % (later costs of work under way still count).
    const results = await Promise.all(Array.from({ length: 20 }, () => record({ runId, amount: '0.1' })));
    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(await alerts.seen(3)).toEqual([
      [80, '0.8', false],
      [100, '1', true],
      [150, '1.5', false],
    ]);
    expect(await crossedEvents(runId)).toEqual([
      [80, false],
      [100, true],
      [150, false],
    ]);
    expect(await stateOf(runId)).toBe('CANCELED');
    await alerts.stop();
  });

  it('one cost that jumps past every threshold at once: 100 % alone says halted', async () => {
    const runId = await runningRun('halt-jump');
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', thresholds: [80, 150], action: 'HALT' } });
    await record({ runId, amount: '1.6' });
    expect(await crossedEvents(runId)).toEqual([
      [80, false],
      [100, true],
      [150, false],
    ]);
  });

  it('turning a spent NOTIFY budget to HALT halts at once and announces it, once', async () => {
    const runId = await runningRun('halt-late');
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', action: 'NOTIFY' } });
    await record({ runId, amount: '1.2' });
    expect(await stateOf(runId)).toBe('RUNNING');
    const alerts = await alertsOf('halt-late');
    const halted = await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', action: 'HALT' } });
    expect(halted.setBudget.budget.crossedThresholds).toEqual([80, 100]);
    expect(await stateOf(runId)).toBe('CANCELED');
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', action: 'HALT' } });
    expect(await alerts.seen(1)).toEqual([[100, '1.2', true]]);
    expect(await crossedEvents(runId)).toEqual([
      [80, false],
      [100, false],
      [100, true],
    ]);
    await alerts.stop();
  });
});

describe('budget limits', () => {
  const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { limit spent remaining } } }`;

  it('takes a limit far above one record (10,000,000 JPY), and counts spend against it exactly', async () => {
    const runId = await runningRun('big-budget');
    const { setBudget } = await ok(SET, { input: { scope: 'RUN', runId, currency: 'JPY', limit: '10000000', action: 'HALT' } });
    expect(setBudget.budget).toEqual({ limit: '10000000', spent: '0', remaining: '10000000' });
    await record({ runId, amount: '9000000', currency: 'JPY' });
    await record({ runId, amount: '999999.999999999', currency: 'JPY' });
    const budget = await ok(`query($r: ID) { budgets(filter: {runId: $r}) { spent remaining exhausted } }`, { r: runId });
    expect(budget.budgets).toEqual([{ spent: '9999999.999999999', remaining: '0.000000001', exhausted: false }]);
    expect((await ok(`query($r: ID!) { run(id: $r) { state } }`, { r: runId })).run.state).toBe('RUNNING');
  });

  it('takes up to a tenth of the largest 64-bit integer of nano-units, and refuses one nano-unit more', async () => {
    const max = await ok(SET, { input: { scope: 'PROJECT', projectId: 'huge-budget', currency: 'IDR', limit: '922337203.68547758', action: 'NOTIFY' } });
    expect(max.setBudget.budget.limit).toBe('922337203.68547758');
    const before = await ok(`{ budgets(filter: {projectId: "huge-budget"}) { limit } }`);
    const over = await server.gql(SET, { input: { scope: 'PROJECT', projectId: 'huge-budget', currency: 'IDR', limit: '922337203.685477581', action: 'NOTIFY' } });
    expect(codes(over)).toEqual(['BAD_USER_INPUT']);
    expect(over.errors?.[0]?.extensions?.field).toBe('limit');
    expect(await ok(`{ budgets(filter: {projectId: "huge-budget"}) { limit } }`)).toEqual(before);
  });
});

describe('claims and HALT budgets', () => {
  const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { id exhausted } } }`;
  const CLAIM = `mutation($w: ID!, $k: [String!], $r: ID) { claimTask(input: {workerId: $w, kinds: $k, runId: $r}) { task { id } } }`;
  const worker = async () => (await ok(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 5}}) { worker { id } } }`)).registerWorker.worker.id as string;
  const createTask = async (kind: string, runId?: string) =>
    (await ok(`mutation($k: String!, $r: ID) { createTask(input: {kind: $k, runId: $r, maxAttempts: 3}) { task { id } } }`, { k: kind, r: runId })).createTask.task.id as string;
  const taskState = async (id: string) => (await ok(`query($t: ID!) { task(id: $t) { state } }`, { t: id })).task.state;

  it('a task of a halted run whose attempt fails after the halt is skipped, never leased, nor in the way of other tasks', async () => {
    const runId = await runningRun('halt-requeue');
    const held = await createTask('requeued-after-halt', runId);
    const first = await worker();
    expect((await ok(CLAIM, { w: first, k: ['requeued-after-halt'] })).claimTask.task).toEqual({ id: held });
    const other = await createTask('requeued-after-halt');
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'USD', limit: '1', action: 'HALT' } });
    await record({ runId, amount: '1' });
    // The attempt under way at the halt fails: its run has ended (canceled) and takes no new work, so the task is skipped, not put back.
    await ok(`mutation($w: ID!, $t: ID!) { completeTask(input: {workerId: $w, taskId: $t, success: false, error: "boom"}) { task { id } } }`, { w: first, t: held });
    expect(await taskState(held)).toBe('SKIPPED');

    const second = await worker();
    expect((await ok(CLAIM, { w: second, k: ['requeued-after-halt'] })).claimTask.task).toEqual({ id: other });
    expect((await ok(CLAIM, { w: second, k: ['requeued-after-halt'] })).claimTask.task).toBeNull();
    expect(codes(await server.gql(CLAIM, { w: second, k: ['requeued-after-halt'], r: runId }))).toEqual(['BUDGET_EXCEEDED']);
    expect(await taskState(held)).toBe('SKIPPED');
  });

  it("a workstream submitted after its project's HALT budget is spent waits unclaimed until the limit is raised", async () => {
    await ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: routerConfig() });
    await ok(SET, { input: { scope: 'PROJECT', projectId: 'halt-ws', currency: 'EUR', limit: '1', action: 'HALT' } });
    await record({ projectId: 'halt-ws', amount: '1', currency: 'EUR' });
    const spec = workstreamSpec([taskSpec('lint-it', [], { kind: 'lint' })], { id: 'halt-ws-1', projectId: 'halt-ws' });
    const { submitWorkstream } = await ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } tasks { id } } } }`, { s: spec });
    const runId = submitWorkstream.workstream.run.id;
    const w = await worker();
    expect((await ok(CLAIM, { w, k: ['lint'] })).claimTask.task).toBeNull();
    const refused = await server.gql(CLAIM, { w, k: ['lint'], r: runId });
    expect(codes(refused)).toEqual(['BUDGET_EXCEEDED']);
    expect(refused.errors?.[0]?.message).toContain(runId);

    await ok(SET, { input: { scope: 'PROJECT', projectId: 'halt-ws', currency: 'EUR', limit: '10', action: 'HALT' } });
    expect((await ok(CLAIM, { w, k: ['lint'], r: runId })).claimTask.task).toEqual({ id: submitWorkstream.workstream.tasks[0].id });
  });

  it("a claim for one run takes only that run's tasks", async () => {
    const [a, b] = [await runningRun('claim-by-run'), await runningRun('claim-by-run')];
    const taskA = await createTask('by-run', a);
    const taskB = await createTask('by-run', b);
    const w = await worker();
    expect((await ok(CLAIM, { w, k: ['by-run'], r: b })).claimTask.task).toEqual({ id: taskB });
    expect((await ok(CLAIM, { w, k: ['by-run'], r: b })).claimTask.task).toBeNull();
    expect((await ok(CLAIM, { w, k: ['by-run'] })).claimTask.task).toEqual({ id: taskA });
  });
});

describe('costSummary against a hand-computed fixture', () => {
  it('totals, breakdowns, top runs and hour and day series', async () => {
    clock.set('2026-11-22T00:00:00.000Z');
    const runs = [await createRun(server, { projectId: 'summary' }), await createRun(server, { projectId: 'summary' }), await createRun(server, { projectId: 'summary' })];
    const models = ['alpha', 'beta', null];
    const types = ['API_CALL', 'COMPUTE_TIME', 'TOOL_USAGE'];
    // 300 records, one every 20 minutes from 2026-11-22T00:00Z: 100 hours, 5 days (the last partly).
    const expected = {
      usd: 0n,
      eur: 0n,
      byType: new Map<string, bigint>(),
      byModel: new Map<string | null, bigint>(),
      byRun: new Map<string, bigint>(),
      hours: new Map<string, bigint>(),
      days: new Map<string, bigint>(),
    };
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

    // Only the latest buckets, still oldest first; `last` is bounded, and the cost analysis counts it past a page.
    const latest = await ok(`{ costSummary(filter: {projectId: "summary"}) { series(bucket: HOUR, last: 3) { start total } } }`);
    expect(latest.costSummary[1].series).toEqual(usd.hours.slice(-3));
    for (const last of [0, 501]) expect(codes(await server.gql(`{ costSummary { series(bucket: DAY, last: ${last}) { start } } }`))).toEqual(['BAD_USER_INPUT']);
    const twoSeries = (last: number) => server.gql(`{ costSummary { a: series(bucket: HOUR, last: ${last}) { start total count } b: series(bucket: DAY, last: ${last}) { start total count } } }`);
    expect((await twoSeries(100)).errors).toBeUndefined();
    expect(codes(await twoSeries(500))).toEqual(['QUERY_LIMIT_EXCEEDED']);

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

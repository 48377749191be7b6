import { describe, expect, it } from 'vitest';
import { engineForFile, operator, refused, runLog, runningRun, type TestEngine } from '../helpers/domain.js';

// Cost records and budgets (docs/domain.md#costs-and-budgets) through the engine: the rules, without HTTP.
const engine = engineForFile('2026-11-20T00:00:00.000Z');

type CostInput = Parameters<TestEngine['costs']['record']>[1];
type BudgetInput = Parameters<TestEngine['costs']['set']>[0];
type SetInput = Partial<BudgetInput> & Pick<BudgetInput, 'limit'>;
type Alert = { budgetId: string; threshold: number; halted: boolean; runId: string | null; spentNanos: string };

const record = (input: Partial<CostInput>) => engine().costs.record(operator, { resourceType: 'api_call', currency: 'USD', ...input });
const setBudget = (input: SetInput) => engine().costs.set({ scope: 'run', currency: 'USD', action: 'notify', ...input });
const runOf = async (id: string) => (await engine().queries.runsByIds([id]))[0]!;
const costCount = async (projectId: string) => (await engine().costQueries.totals({ projectId })).reduce((n, t) => n + t.count, 0);
const crossedEvents = async (runId: string) => (await runLog(engine(), runId)).filter((e) => e.kind === 'budget_threshold_crossed').map((e) => e.payload);

/** The budget alerts published while `work` runs. */
async function alertsDuring(work: () => Promise<unknown>): Promise<Alert[]> {
  const heard: Alert[] = [];
  const stop = engine().bus.subscribe('budget.alert', (alert) => heard.push(alert));
  try {
    await work();
  } finally {
    stop();
  }
  return heard;
}

describe('recording costs', () => {
  it('keeps amounts exact: usage is quantity x rate, to the nano-unit', async () => {
    const runId = await runningRun(engine(), 'costs');
    const direct = await record({ runId, amount: '0.1', metadata: { model: 'gpt-x', tokensInput: 120, tokensOutput: 30, durationSeconds: 1.5 } });
    expect(direct).toMatchObject({ amountNanos: '100000000', projectId: 'costs', runId, model: 'gpt-x', usage: null });
    expect(direct.metadata).toEqual({ model: 'gpt-x', tokens_input: 120, tokens_output: 30, duration_seconds: 1.5 });
    const usage = await record({ runId, usage: { quantity: '1234', unit: 'tokens', rate: '0.0000015' } });
    expect(usage).toMatchObject({ amountNanos: '1851000', usage: { quantity: '1234', unit: 'tokens', rate: '0.0000015' } });
    const both = await record({ runId, amount: '1.5', usage: { quantity: '3', unit: 'h', rate: '0.5' } });
    expect(both.amountNanos).toBe('1500000000');
  });

  it.each([
    ['a negative amount', { projectId: 'v', amount: '-1' }, 'amount'],
    ['no amount and no usage', { projectId: 'v' }, 'amount'],
    ['an amount that is not quantity x rate', { projectId: 'v', amount: '2', usage: { quantity: '3', unit: 'h', rate: '0.5' } }, 'amount'],
    ['a currency in lower case', { projectId: 'v', amount: '1', currency: 'usd' }, 'currency'],
    ['more than 9 decimal places', { projectId: 'v', amount: '0.0000000001' }, 'amount'],
    ['neither run nor project', { amount: '1' }, 'projectId'],
    ['a negative token count', { projectId: 'v', amount: '1', metadata: { tokensInput: -1 } }, 'metadata.tokensInput'],
    ['an unknown resource type', { projectId: 'v', amount: '1', resourceType: 'gpu' as never }, 'resourceType'],
  ])('refuses %s as BAD_USER_INPUT and writes nothing', async (_name, input, field) => {
    const before = await costCount('v');
    const error = await refused(() => record(input), 'BAD_USER_INPUT');
    expect(error.details.field).toBe(field);
    expect(await costCount('v')).toBe(before);
  });

  it('a cost of an unknown run is NOT_FOUND, and one naming another project BAD_USER_INPUT; nothing is written', async () => {
    const runId = await runningRun(engine(), 'costs-own');
    await refused(() => record({ runId: '01JDQZ0000000000000000NONE', amount: '1' }), 'NOT_FOUND');
    const other = await refused(() => record({ runId, projectId: 'elsewhere', amount: '1' }), 'BAD_USER_INPUT');
    expect(other.details.field).toBe('projectId');
    expect(await costCount('costs-own')).toBe(0);
    expect(await costCount('elsewhere')).toBe(0);
  });

  it('totals never mix currencies, and a budget counts only its own currency', async () => {
    const budget = await setBudget({ scope: 'project', projectId: 'fx', limit: '10' });
    for (const [amount, currency] of [
      ['1.5', 'USD'],
      ['2.25', 'EUR'],
      ['0.5', 'USD'],
      ['100', 'JPY'],
    ] as const)
      await record({ projectId: 'fx', amount, currency });
    expect(await engine().costQueries.totals({ projectId: 'fx' })).toEqual([
      { currency: 'EUR', totalNanos: '2250000000', count: 1 },
      { currency: 'JPY', totalNanos: '100000000000', count: 1 },
      { currency: 'USD', totalNanos: '2000000000', count: 2 },
    ]);
    expect((await engine().costs.budgetsByIds([budget.id]))[0]!.spentNanos).toBe('2000000000');
  });
});

describe('budget thresholds', () => {
  it('20 concurrent costs that cross 80 % and 100 % together announce each threshold exactly once, as alert and run event', async () => {
    const runId = await runningRun(engine(), 'thresholds');
    const budget = await setBudget({ runId, limit: '1', thresholds: [80, 100] });
    const alerts = await alertsDuring(() => Promise.all(Array.from({ length: 20 }, () => record({ runId, amount: '0.06' }))));
    expect(alerts.map((a) => [a.threshold, a.halted, a.budgetId, a.runId])).toEqual([
      [80, false, budget.id, runId],
      [100, false, budget.id, runId],
    ]);
    const [after] = await engine().costs.budgetsByIds([budget.id]);
    expect(after).toMatchObject({ spentNanos: '1200000000', crossed: [80, 100] });
    expect((await crossedEvents(runId)).map((p) => p.threshold)).toEqual([80, 100]);
    // Spending on past the last threshold announces nothing more; a NOTIFY budget stops nothing.
    expect(await alertsDuring(() => record({ runId, amount: '5' }))).toEqual([]);
    expect((await runOf(runId)).state).toBe('running');
  });

  it('a budget set after spending counts what was spent; raising the limit re-arms the thresholds the spend is below', async () => {
    const runId = await runningRun(engine(), 'late');
    await record({ runId, amount: '9' });
    const first = await setBudget({ runId, limit: '10' });
    expect(first).toMatchObject({ spentNanos: '9000000000', crossed: [80], thresholds: [80, 100] });
    const raised = await setBudget({ runId, limit: '100' });
    expect(raised).toMatchObject({ id: first.id, limitNanos: '100000000000', crossed: [] });
    // Re-armed: crossing 80 % of the new limit announces it again.
    const alerts = await alertsDuring(() => record({ runId, amount: '71' }));
    expect(alerts.map((a) => a.threshold)).toEqual([80]);
    expect((await crossedEvents(runId)).map((p) => p.threshold)).toEqual([80, 80]);
  });

  it.each([
    ['a limit of 0', { scope: 'project', projectId: 'p', limit: '0' }, 'limit'],
    ['a threshold of 0 %', { scope: 'project', projectId: 'p', limit: '1', thresholds: [0] }, 'thresholds'],
    ['a threshold above 1000 %', { scope: 'project', projectId: 'p', limit: '1', thresholds: [1001] }, 'thresholds'],
    ['a fractional threshold', { scope: 'project', projectId: 'p', limit: '1', thresholds: [50.5] }, 'thresholds'],
    ['a RUN budget without its run', { scope: 'run', limit: '1' }, 'runId'],
    ['a PROJECT budget naming a run', { scope: 'project', projectId: 'p', runId: '01JDQZ0000000000000000NONE', limit: '1' }, 'runId'],
  ] as [string, SetInput, string][])('refuses %s as BAD_USER_INPUT, and creates no budget', async (_name, input, field) => {
    const error = await refused(() => setBudget(input), 'BAD_USER_INPUT');
    expect(error.details.field).toBe(field);
    expect(await engine().costs.list({ projectId: 'p' })).toEqual([]);
  });
});

describe('HALT budgets', () => {
  it('crossing 100 % cancels the run once, and its new steps are refused with BUDGET_EXCEEDED', async () => {
    const runId = await runningRun(engine(), 'halting');
    const budget = await setBudget({ runId, limit: '5', thresholds: [50, 100], action: 'halt' });
    await record({ runId, amount: '3' });
    expect((await runOf(runId)).state).toBe('running');
    const alerts = await alertsDuring(() => record({ runId, amount: '2.5' }));
    expect(alerts.map((a) => [a.threshold, a.halted])).toEqual([[100, true]]);
    const run = await runOf(runId);
    expect(run).toMatchObject({ state: 'canceled', haltedByBudgetId: budget.id, stateReason: `budget ${budget.id} exceeded: spent 5.5 of 5 USD` });
    await refused(() => engine().runs.startStep(operator, { runId, toolId: 't' }), 'BUDGET_EXCEEDED');
    // Costs still count after the halt (work already done is paid for), without halting or announcing again.
    expect(await alertsDuring(() => record({ runId, amount: '1' }))).toEqual([]);
    expect((await runLog(engine(), runId)).map((e) => e.kind)).toEqual(['run_created', 'run_started', 'budget_threshold_crossed', 'run_state_changed', 'budget_threshold_crossed']);
  });

  it("a project HALT budget stops all the project's active runs, and refuses steps of runs started after", async () => {
    const [a, b] = [await runningRun(engine(), 'halt-project'), await runningRun(engine(), 'halt-project')];
    await setBudget({ scope: 'project', projectId: 'halt-project', currency: 'EUR', limit: '1', action: 'halt' });
    await record({ runId: a, amount: '1', currency: 'EUR' });
    expect([(await runOf(a)).state, (await runOf(b)).state]).toEqual(['canceled', 'canceled']);
    const fresh = await runningRun(engine(), 'halt-project');
    await refused(() => engine().runs.startStep(operator, { runId: fresh, toolId: 't' }), 'BUDGET_EXCEEDED');
  });

  it('a HALT budget whose thresholds leave out 100 % still announces the halt, once, with halted true', async () => {
    const runId = await runningRun(engine(), 'halt-silent');
    await setBudget({ runId, limit: '1', thresholds: [50], action: 'halt' });
    const alerts = await alertsDuring(async () => {
      await record({ runId, amount: '0.6' });
      await record({ runId, amount: '0.6' });
      await record({ runId, amount: '0.6' });
    });
    expect(alerts.map((a) => [a.threshold, a.halted])).toEqual([
      [50, false],
      [100, true],
    ]);
  });

  it('20 concurrent costs through 80, 100 and 150 %: one alert each, and only the 100 % one says halted', async () => {
    const runId = await runningRun(engine(), 'halt-race');
    await setBudget({ runId, limit: '1', thresholds: [80, 100, 150], action: 'halt' });
    const alerts = await alertsDuring(() => Promise.all(Array.from({ length: 20 }, () => record({ runId, amount: '0.08' }))));
    expect(alerts.map((a) => [a.threshold, a.halted])).toEqual([
      [80, false],
      [100, true],
      [150, false],
    ]);
    expect((await runLog(engine(), runId)).filter((e) => e.kind === 'run_state_changed')).toHaveLength(1);
  });

  it('one cost that jumps past every threshold at once: 100 % alone says halted', async () => {
    const runId = await runningRun(engine(), 'halt-jump');
    await setBudget({ runId, limit: '1', thresholds: [50, 80, 120], action: 'halt' });
    const alerts = await alertsDuring(() => record({ runId, amount: '2' }));
    expect(alerts.map((a) => [a.threshold, a.halted])).toEqual([
      [50, false],
      [80, false],
      [100, true],
      [120, false],
    ]);
  });

  it('turning a spent NOTIFY budget to HALT halts at once and announces it, once', async () => {
    const runId = await runningRun(engine(), 'halt-turn');
    await setBudget({ runId, limit: '1' });
    expect((await alertsDuring(() => record({ runId, amount: '1' }))).map((a) => [a.threshold, a.halted])).toEqual([
      [80, false],
      [100, false],
    ]);
    expect((await runOf(runId)).state).toBe('running');
    const alerts = await alertsDuring(() => setBudget({ runId, limit: '1', action: 'halt' }));
    expect(alerts.map((a) => [a.threshold, a.halted])).toEqual([[100, true]]);
    expect((await runOf(runId)).state).toBe('canceled');
    expect(await alertsDuring(() => setBudget({ runId, limit: '1', action: 'halt' }))).toEqual([]);
  });
});

describe('budget limits', () => {
  it('takes up to a tenth of the largest 64-bit integer of nano-units, and refuses one nano-unit more', async () => {
    const max = '922337203.685477580';
    const budget = await setBudget({ scope: 'project', projectId: 'big', limit: max });
    expect(budget.limitNanos).toBe('922337203685477580');
    const error = await refused(() => setBudget({ scope: 'project', projectId: 'big', limit: '922337203.685477581' }), 'BAD_USER_INPUT');
    expect(error.details.field).toBe('limit');
    expect((await engine().costs.budgetsByIds([budget.id]))[0]!.limitNanos).toBe('922337203685477580');
  });
});

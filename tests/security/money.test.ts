import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TOTAL_NANOS } from '../../src/engine/budgets/money.js';
import { BudgetSchema } from '../../src/engine/budgets/entities.js';
import { CostRecordSchema } from '../../src/engine/costs/entities.js';
import { RunEventSchema } from '../../src/engine/runs/entities.js';
import { codes, createRun, startTestServer, type TestServer } from '../helpers/server.js';
import { expectBystanderServed, underAttack } from './bystander.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);
const RECORD = `mutation($input: RecordCostInput!) { recordCost(input: $input) { cost { id amount } } }`;
const SET = `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { spent crossedThresholds exhausted } } }`;
// XTS is ISO 4217's code for testing: no other test's totals mix in.
const record = (input: Record<string, unknown>) => server.gql(RECORD, { input: { resourceType: 'API_CALL', currency: 'XTS', ...input } });

/** The largest amount one record may carry (2^53 - 1 nano-units): 1,025 of them pass 2^63. */
const LARGEST = '9007199.254740991';
const LARGEST_NANOS = 2n ** 53n - 1n;

/** Nano-units as a decimal, written out here rather than with the code under test. */
function decimal(nanos: bigint): string {
  const fraction = (nanos % 10n ** 9n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${nanos / 10n ** 9n}${fraction ? `.${fraction}` : ''}`;
}

/** Runs `count` calls of `call`, `parallel` at a time. */
async function inParallel<T>(count: number, parallel: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await call(i);
      }
    }),
  );
  return results;
}

async function startedRun(projectId: string): Promise<string> {
  const id = await createRun(server, { projectId });
  await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });
  return id;
}

const counts = async () => {
  const em = server.engine.orm.em.fork();
  return { costs: await em.count(CostRecordSchema, {}), events: await em.count(RunEventSchema, {}) };
};

describe('money never overflows', () => {
  it('1,025 records of the largest amount on one project: every summary and setBudget stay exact (the finding)', async () => {
    // Two runs: the second is created later (its id sorts after) and spends one nano-unit more,
    // a difference no float of this size holds, so only an exact order puts it first.
    const first = await startedRun('money-flood');
    const second = await startedRun('money-flood');
    const calls = [
      ...Array.from({ length: 512 }, () => ({ runId: first, amount: LARGEST })),
      ...Array.from({ length: 512 }, () => ({ runId: second, amount: LARGEST })),
      { runId: second, amount: '0.000000001' },
      { projectId: 'money-flood', amount: LARGEST },
    ];
    // Four at a time already keeps the one writer busy (SQLite takes one write at a time).
    const attack = await underAttack(server, () => inParallel(calls.length, 4, (i) => record(calls[i]!)));
    expectBystanderServed(`1,025 recordCost of ${LARGEST} XTS, 4 at a time`, attack);
    expect(attack.result.flatMap((res) => res.errors ?? [])).toEqual([]);

    const runNanos = 512n * LARGEST_NANOS;
    const total = decimal(1025n * LARGEST_NANOS + 1n);
    expect(1025n * LARGEST_NANOS).toBeGreaterThan(2n ** 63n - 1n);
    const summary = await underAttack(server, () =>
      ok(
        `{ costSummary { currency total count byResourceType { resourceType total count } byModel { model total count } byRun(top: 3) { run { id } total count } series(bucket: DAY) { total count } } }`,
      ),
    );
    expectBystanderServed('costSummary (no filter, every breakdown) over 1,026 records that pass 2^63', summary);
    const xts = summary.result.costSummary.find((s: any) => s.currency === 'XTS');
    expect(xts).toEqual({
      currency: 'XTS',
      total,
      count: 1026,
      byResourceType: [{ resourceType: 'API_CALL', total, count: 1026 }],
      byModel: [{ model: null, total, count: 1026 }],
      byRun: [
        { run: { id: second }, total: decimal(runNanos + 1n), count: 513 },
        { run: { id: first }, total: decimal(runNanos), count: 512 },
      ],
      series: expect.any(Array),
    });
    // The records may fall into two days at midnight; together the buckets are the total.
    const buckets = xts.series.map((b: any) => b.total.split('.'));
    const summed = buckets.reduce((sum: bigint, [whole = '0', part = '']: string[]) => sum + BigInt(whole) * 10n ** 9n + BigInt(part.padEnd(9, '0')), 0n);
    expect(decimal(summed)).toBe(total);

    const byProject = await ok(`{ costSummary(filter: {projectId: "money-flood"}) { currency total count } }`);
    expect(byProject.costSummary).toEqual([{ currency: 'XTS', total, count: 1026 }]);
    const { setBudget } = await ok(SET, { input: { scope: 'PROJECT', projectId: 'money-flood', currency: 'XTS', limit: '1000', action: 'NOTIFY' } });
    expect(setBudget.budget).toEqual({ spent: total, crossedThresholds: [80, 100], exhausted: true });
    const runBudget = await ok(SET, { input: { scope: 'RUN', runId: second, currency: 'XTS', limit: '1000', action: 'NOTIFY' } });
    expect(runBudget.setBudget.budget.spent).toBe(decimal(runNanos + 1n));

    // And the project keeps recording: its budget counts on, exactly.
    expect((await record({ runId: first, amount: LARGEST })).errors).toBeUndefined();
    const after = await ok(`{ budgets(filter: {projectId: "money-flood"}) { scope spent } }`);
    expect(after.budgets).toEqual([
      { scope: 'PROJECT', spent: decimal(1026n * LARGEST_NANOS + 1n) },
      { scope: 'RUN', spent: decimal(runNanos + 1n) },
    ]);
  }, 120_000);

  it('ranks top runs by their exact totals, however the digits of their amounts add up', async () => {
    // Created in the reverse of their rank. Digit by digit (10^6 nano-units each), without
    // carrying, W (1000.001) would pass X (2 x 999.999) and U (0.001000001) would pass V (2 x 0.000999999).
    const [u, v, w, x] = [await startedRun('money-carry'), await startedRun('money-carry'), await startedRun('money-carry'), await startedRun('money-carry')];
    for (const [runId, amount] of [
      [u, '0.001000001'],
      [v, '0.000999999'],
      [v, '0.000999999'],
      [w, '1000.001'],
      [x, '999.999'],
      [x, '999.999'],
    ]) {
      expect((await record({ runId, amount })).errors).toBeUndefined();
    }
    const { costSummary } = await ok(`{ costSummary(filter: {projectId: "money-carry"}) { byRun(top: 4) { run { id } total } } }`);
    expect(costSummary[0].byRun).toEqual([
      { run: { id: x }, total: '1999.998' },
      { run: { id: w }, total: '1000.001' },
      { run: { id: v }, total: '0.001999998' },
      { run: { id: u }, total: '0.001000001' },
    ]);
  });

  it('refuses, as BAD_USER_INPUT and writing nothing, a cost that would take a budget past the largest total', async () => {
    const runId = await startedRun('money-cap');
    await ok(SET, { input: { scope: 'RUN', runId, currency: 'XTS', limit: '1', thresholds: [50, 100], action: 'NOTIFY' } });
    // A budget one nano-unit short of the largest total, its thresholds not yet announced:
    // a cost that went through would announce both as run events.
    await server.engine.orm.em.fork().nativeUpdate(BudgetSchema, { projectId: 'money-cap' }, { spentNanos: (MAX_TOTAL_NANOS - 1n).toString(), crossed: [] });
    const before = await counts();

    const refused = await record({ runId, amount: '0.000000002' });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0]?.extensions?.field).toBe('amount');
    expect(refused.errors?.[0]?.message).toContain(decimal(MAX_TOTAL_NANOS));
    expect(await counts()).toEqual(before);
    const unchanged = await ok(`{ budgets(filter: {projectId: "money-cap"}) { spent crossedThresholds } }`);
    expect(unchanged.budgets).toEqual([{ spent: decimal(MAX_TOTAL_NANOS - 1n), crossedThresholds: [] }]);

    // Up to the largest total exactly is still taken.
    expect((await record({ runId, amount: '0.000000001' })).errors).toBeUndefined();
    expect(await counts()).toEqual({ costs: before.costs + 1, events: before.events + 2 });
    const full = await ok(`{ budgets(filter: {projectId: "money-cap"}) { spent crossedThresholds } }`);
    expect(full.budgets).toEqual([{ spent: decimal(MAX_TOTAL_NANOS), crossedThresholds: [50, 100] }]);
  });
});

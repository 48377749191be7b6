import { describe, expect, it } from 'vitest';
import { CostRecordSchema } from '../../src/engine/costs/entities.js';
import { MAX_BUDGET_NANOS, MAX_RECORD_NANOS, formatNanos, multiply, parseCurrency, parseDecimal, toNanos } from '../../src/engine/budgets/money.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { createTestEngine } from '../helpers/engine.js';
import { onPostgres } from '../helpers/database.js';

/** Reports as an operator would (on any run). */
const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

const nanos = (text: unknown) => toNanos('amount', parseDecimal('amount', text));

describe('exact money', () => {
  it.each([
    ['0.1', 100_000_000n, '0.1'],
    ['12', 12_000_000_000n, '12'],
    ['12.500', 12_500_000_000n, '12.5'],
    ['0.000000001', 1n, '0.000000001'],
    ['1e-7', 100n, '0.0000001'],
    ['2.5E+3', 2_500_000_000_000n, '2500'],
    [0.1, 100_000_000n, '0.1'],
    [1e-7, 100n, '0.0000001'],
  ] as const)('%s reads as %s nano-units and prints as %s', (input, expected, printed) => {
    expect(nanos(input)).toBe(expected);
    expect(formatNanos(expected)).toBe(printed);
  });

  it.each([['-1'], ['abc'], ['1.2.3'], [''], ['0.0000000001'], [Number.NaN], [null], ['9007199.254740992']])('refuses %s', (input) => {
    expect(() => nanos(input)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('multiplies quantity by rate exactly, refusing a product finer than a nano-unit', () => {
    expect(toNanos('usage', multiply(parseDecimal('q', '1234'), parseDecimal('r', '0.0000015')))).toBe(1_851_000n);
    expect(toNanos('usage', multiply(parseDecimal('q', '0.1'), parseDecimal('r', '0.3')))).toBe(30_000_000n);
    expect(() => toNanos('usage', multiply(parseDecimal('q', '1'), parseDecimal('r', '0.0000000015')))).toThrow(/at most 9 decimal places/);
  });

  it('takes only ISO 4217 codes', () => {
    expect(parseCurrency('currency', 'EUR')).toBe('EUR');
    for (const bad of ['eur', 'EURO', 'E1R', '', 5]) expect(() => parseCurrency('currency', bad)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('bounds a budget limit so that spend of 1000 % of it still sums in 64-bit integers, in the database too', async () => {
    const limit = (text: string) => toNanos('limit', parseDecimal('limit', text), MAX_BUDGET_NANOS);
    // Far above what one record may carry.
    expect(() => nanos('10000000')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(limit('10000000')).toBe(10_000_000_000_000_000n);
    expect(formatNanos(MAX_BUDGET_NANOS)).toBe('922337203.68547758');
    expect(limit('922337203.68547758')).toBe(MAX_BUDGET_NANOS);
    expect(() => limit('922337203.685477581')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    const INT64_MAX = 2n ** 63n - 1n;
    expect(MAX_BUDGET_NANOS * 10n <= INT64_MAX && (MAX_BUDGET_NANOS + 1n) * 10n > INT64_MAX).toBe(true);
    // Records (each at most MAX_RECORD_NANOS) that add up to 1000 % of the largest limit: SQLite's sum() stays exact.
    const engine = await createTestEngine();
    try {
      const amounts = [...Array<bigint>(1024).fill(MAX_RECORD_NANOS), MAX_BUDGET_NANOS * 10n - 1024n * MAX_RECORD_NANOS];
      await engine.orm.em.fork().insertMany(
        CostRecordSchema,
        amounts.map((amount, i) => ({
          id: `01KBUDGET${String(i).padStart(17, '0')}`,
          projectId: 'limit',
          resourceType: 'custom' as const,
          amountNanos: amount.toString(),
          currency: 'IDR',
          recordedAt: new Date('2026-11-24T12:00:00.000Z'),
          metadata: {},
        })),
      );
      expect(await engine.costQueries.totals({ projectId: 'limit' })).toEqual([{ currency: 'IDR', totalNanos: (MAX_BUDGET_NANOS * 10n).toString(), count: 1025 }]);
    } finally {
      await engine.dispose();
    }
  });

  // 10,000 transactions: on PostgreSQL (network round trips each) this can take longer than the default 30 s on a loaded machine.
  it('10,000 records of 0.1 sum to exactly 1000, in the database', { timeout: 120_000 }, async () => {
    const engine = await createTestEngine();
    try {
      // PostgreSQL spreads concurrent writes over its pool; SQLite has one connection, where they would only queue.
      const atOnce = onPostgres ? 8 : 1;
      const record = () => engine.costs.record(operator, { projectId: 'sum', resourceType: 'api_call', amount: '0.1', currency: 'USD' });
      for (let i = 0; i < 10_000; i += atOnce) await Promise.all(Array.from({ length: atOnce }, record));
      const [usd] = await engine.costQueries.totals({ projectId: 'sum' });
      expect(usd).toEqual({ currency: 'USD', totalNanos: '1000000000000', count: 10_000 });
      expect(formatNanos(BigInt(usd!.totalNanos))).toBe('1000');
      // What floating point would have said.
      expect(
        Array(10_000)
          .fill(0.1)
          .reduce((a: number, b: number) => a + b, 0),
      ).not.toBe(1000);
    } finally {
      await engine.dispose();
    }
  });
});

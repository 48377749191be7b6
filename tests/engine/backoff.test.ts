import { describe, expect, it } from 'vitest';
import { describeExhausted, retryDelayMs, type RetryStrategy } from '../../src/engine/routing/backoff.js';

const low = () => 0;
const high = () => 0.999999;

describe('retry delays', () => {
  it('none: no retry', () => {
    expect(retryDelayMs('none', 1)).toBeNull();
    expect(retryDelayMs('none', 7)).toBeNull();
  });

  it('fixed: 1 s by default, every attempt, no jitter', () => {
    for (const attempt of [1, 2, 10]) expect(retryDelayMs('fixed', attempt, high)).toBe(1_000);
    expect(retryDelayMs('fixed', 3, low, { fixedMs: 2_500 })).toBe(2_500);
  });

  it('exponential: equal jitter between half the step and the step, base 1 s, factor 2, cap 60 s', () => {
    const steps = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000];
    const attempts = steps.map((_, i) => i + 1);
    expect(attempts.map((a) => retryDelayMs('exponential', a, low))).toEqual(steps.map((s) => s / 2));
    expect(attempts.map((a) => retryDelayMs('exponential', a, high))).toEqual(steps.map((s) => Math.floor(s / 2 + 0.999999 * (s / 2))));
    // Just under the step, never above it.
    expect(attempts.map((a) => steps[a - 1]! - retryDelayMs('exponential', a, high)!)).toEqual(steps.map(() => 1));
  });

  it('exponential: an integer within bounds for any random value, and never above the cap', () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      for (const r of [0, 0.123456789, 0.5, 0.777, 0.999999]) {
        const delay = retryDelayMs('exponential', attempt, () => r)!;
        const step = Math.min(60_000, 1_000 * 2 ** (attempt - 1));
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
      }
    }
    expect(retryDelayMs('exponential', 1_000_000, high)).toBeLessThanOrEqual(60_000);
    // A random source outside [0, 1) cannot break the cap.
    expect(retryDelayMs('exponential', 20, () => 5)).toBe(60_000);
  });

  it('exponential: other base, factor and cap', () => {
    const options = { baseMs: 250, factor: 3, capMs: 5_000 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs('exponential', a, low, options))).toEqual([125, 375, 1_125, 2_500, 2_500]);
    expect(retryDelayMs('exponential', 4, () => 0.5, options)).toBe(3_750);
    expect(retryDelayMs('exponential', 5_000, high, { baseMs: 0 })).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses attempt %s as BAD_USER_INPUT', (attempt) => {
    for (const strategy of ['fixed', 'exponential', 'none'] as RetryStrategy[]) {
      expect(() => retryDelayMs(strategy, attempt)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'attempt: must be a positive integer (1 = the first retry)' }));
    }
  });

  it('refuses bad options and an unknown strategy', () => {
    expect(() => retryDelayMs('fixed', 1, low, { fixedMs: -1 })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'fixedMs: must be a non-negative number' }));
    expect(() => retryDelayMs('exponential', 1, low, { capMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => retryDelayMs('linear' as RetryStrategy, 1)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

describe('describeExhausted', () => {
  it('reports how many attempts were made and the last error', () => {
    expect(describeExhausted(3, 'exit code 2: ruff found 4 errors')).toBe('failed after 3 attempts: exit code 2: ruff found 4 errors');
    expect(describeExhausted(1, 'timed out after 600 s')).toBe('failed after 1 attempt: timed out after 600 s');
  });
});

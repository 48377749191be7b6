import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BREAKER,
  admit,
  currentState,
  newBreaker,
  recordFailure,
  recordSuccess,
  type Breaker,
  type BreakerSettings,
} from '../../src/engine/routing/circuit-breaker.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function failTimes(b: Breaker, times: number, now = T0, s?: BreakerSettings): Breaker {
  for (let i = 0; i < times; i++) b = recordFailure(b, now, s);
  return b;
}

/** A breaker opened at T0 by the default threshold of failures. */
const opened = () => failTimes(newBreaker(), DEFAULT_BREAKER.failureThreshold);

describe('circuit breaker', () => {
  it('defaults to 5 failures, 60 s, 1 trial call', () => {
    expect(DEFAULT_BREAKER).toEqual({ failureThreshold: 5, recoveryTimeoutMs: 60_000, halfOpenMaxCalls: 1 });
    expect(newBreaker()).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null, halfOpenCalls: 0 });
  });

  it('opens exactly at the threshold, not before', () => {
    const four = failTimes(newBreaker(), 4);
    expect(four).toEqual({ state: 'closed', consecutiveFailures: 4, openedAt: null, halfOpenCalls: 0 });
    expect(admit(four, T0).allowed).toBe(true);
    const five = recordFailure(four, T0 + 5);
    expect(five).toEqual({ state: 'open', consecutiveFailures: 5, openedAt: T0 + 5, halfOpenCalls: 0 });
    expect(admit(five, T0 + 5).allowed).toBe(false);
  });

  it('honours other settings', () => {
    const s: BreakerSettings = { failureThreshold: 2, recoveryTimeoutMs: 1_000, halfOpenMaxCalls: 3 };
    expect(failTimes(newBreaker(), 1, T0, s).state).toBe('closed');
    const b = failTimes(newBreaker(), 2, T0, s);
    expect(currentState(b, T0 + 999, s)).toBe('open');
    expect(currentState(b, T0 + 1_000, s)).toBe('half_open');
  });

  it('a success in closed resets the consecutive failures', () => {
    const b = recordSuccess(failTimes(newBreaker(), 4), T0);
    expect(b).toEqual(newBreaker());
    // Four more failures do not open it: the count started again.
    expect(failTimes(b, 4).state).toBe('closed');
    expect(failTimes(b, 5).state).toBe('open');
  });

  it('stays open until the recovery timeout, which is inclusive: at openedAt + 60 s it half-opens', () => {
    const b = opened();
    for (const at of [T0, T0 + 1, T0 + 59_999]) {
      expect(currentState(b, at)).toBe('open');
      expect(admit(b, at)).toEqual({ allowed: false, breaker: b });
    }
    expect(currentState(b, T0 + 60_000)).toBe('half_open');
    expect(currentState(b, T0 + 3_600_000)).toBe('half_open');
  });

  it('half-opens and admits exactly halfOpenMaxCalls trial calls', () => {
    const first = admit(opened(), T0 + 60_000);
    expect(first).toEqual({ allowed: true, breaker: { state: 'half_open', consecutiveFailures: 5, openedAt: T0, halfOpenCalls: 1 } });
    expect(admit(first.breaker, T0 + 60_001).allowed).toBe(false);

    const s: BreakerSettings = { ...DEFAULT_BREAKER, halfOpenMaxCalls: 3 };
    let b = opened();
    const allowed: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const result = admit(b, T0 + 60_000 + i, s);
      allowed.push(result.allowed);
      b = result.breaker;
    }
    expect(allowed).toEqual([true, true, true, false, false]);
    expect(b.halfOpenCalls).toBe(3);
  });

  it('a trial success closes it and resets the count', () => {
    const trial = admit(opened(), T0 + 60_000).breaker;
    const closed = recordSuccess(trial, T0 + 61_000);
    expect(closed).toEqual(newBreaker());
    expect(admit(closed, T0 + 61_000).allowed).toBe(true);
    expect(failTimes(closed, 4, T0 + 62_000).state).toBe('closed');
  });

  it('a trial failure opens it again with a fresh recovery timer', () => {
    const trial = admit(opened(), T0 + 60_000).breaker;
    const reopened = recordFailure(trial, T0 + 61_000);
    expect(reopened).toEqual({ state: 'open', consecutiveFailures: 6, openedAt: T0 + 61_000, halfOpenCalls: 0 });
    expect(currentState(reopened, T0 + 120_000)).toBe('open');
    expect(currentState(reopened, T0 + 121_000)).toBe('half_open');
    expect(admit(reopened, T0 + 121_000).allowed).toBe(true);
  });

  it('ignores a late result reported while open, even once the timeout has passed but no trial was admitted', () => {
    const b = opened();
    for (const at of [T0 + 10_000, T0 + 70_000]) {
      expect(recordSuccess(b, at)).toEqual(b);
      expect(recordFailure(b, at)).toEqual(b);
    }
  });

  it('never mutates its input and round-trips through JSON', () => {
    const b = failTimes(newBreaker(), 4);
    const frozen = Object.freeze({ ...b });
    expect(recordFailure(frozen, T0)).not.toBe(frozen);
    expect(recordSuccess(frozen, T0)).not.toBe(frozen);
    expect(admit(frozen, T0).breaker).not.toBe(frozen);
    expect(frozen).toEqual(b);
    const trial = admit(opened(), T0 + 60_000).breaker;
    const stored = JSON.parse(JSON.stringify(trial)) as Breaker;
    expect(admit(stored, T0 + 60_001).allowed).toBe(false);
    expect(recordSuccess(stored, T0 + 60_002).state).toBe('closed');
  });
});

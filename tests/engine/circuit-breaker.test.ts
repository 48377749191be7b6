import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BREAKER,
  admit,
  currentState,
  keepTrials,
  newBreaker,
  normalBreaker,
  observe,
  recordFailure,
  recordSuccess,
  release,
  wouldAdmit,
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
    expect(newBreaker()).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null, trials: [] });
  });

  it('opens exactly at the threshold, not before', () => {
    const four = failTimes(newBreaker(), 4);
    expect(four).toEqual({ state: 'closed', consecutiveFailures: 4, openedAt: null, trials: [] });
    expect(admit(four, T0, 'c').allowed).toBe(true);
    const five = recordFailure(four, T0 + 5);
    expect(five).toEqual({ state: 'open', consecutiveFailures: 5, openedAt: T0 + 5, trials: [] });
    expect(admit(five, T0 + 5, 'c').allowed).toBe(false);
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
      expect(admit(b, at, 'c')).toEqual({ allowed: false, breaker: b });
    }
    expect(currentState(b, T0 + 60_000)).toBe('half_open');
    expect(currentState(b, T0 + 3_600_000)).toBe('half_open');
  });

  it("half-opens and admits exactly halfOpenMaxCalls trial calls, each in its caller's name", () => {
    const first = admit(opened(), T0 + 60_000, 'task-1');
    expect(first).toEqual({ allowed: true, breaker: { state: 'half_open', consecutiveFailures: 5, openedAt: T0, trials: ['task-1'] } });
    expect(admit(first.breaker, T0 + 60_001, 'task-2').allowed).toBe(false);
    expect(wouldAdmit(first.breaker, T0 + 60_001)).toBe(false);

    const s: BreakerSettings = { ...DEFAULT_BREAKER, halfOpenMaxCalls: 3 };
    let b = opened();
    const allowed: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const result = admit(b, T0 + 60_000 + i, `task-${i}`, s);
      allowed.push(result.allowed);
      b = result.breaker;
    }
    expect(allowed).toEqual([true, true, true, false, false]);
    expect(b.trials).toEqual(['task-0', 'task-1', 'task-2']);
  });

  it('a trial success closes it and resets the count', () => {
    const trial = admit(opened(), T0 + 60_000, 'trial').breaker;
    const closed = recordSuccess(trial, T0 + 61_000, undefined, 'trial');
    expect(closed).toEqual(newBreaker());
    expect(admit(closed, T0 + 61_000, 'c').allowed).toBe(true);
    expect(failTimes(closed, 4, T0 + 62_000).state).toBe('closed');
  });

  it('a trial failure opens it again with a fresh recovery timer', () => {
    const trial = admit(opened(), T0 + 60_000, 'trial').breaker;
    const reopened = recordFailure(trial, T0 + 61_000, undefined, 'trial');
    expect(reopened).toEqual({ state: 'open', consecutiveFailures: 6, openedAt: T0 + 61_000, trials: [] });
    expect(currentState(reopened, T0 + 120_000)).toBe('open');
    expect(currentState(reopened, T0 + 121_000)).toBe('half_open');
    expect(admit(reopened, T0 + 121_000, 'next').allowed).toBe(true);
  });

  it('ignores a late result from a call holding no trial slot, while open and while half_open', () => {
    const b = opened();
    expect(recordSuccess(b, T0 + 10_000)).toEqual(b);
    expect(recordFailure(b, T0 + 10_000)).toEqual(b);
    // Past the timeout, with or without a trial admitted: only the trial decides.
    const recovered = observe(b, T0 + 70_000);
    expect(recovered).toEqual({ ...b, state: 'half_open', trials: [] });
    expect(recordSuccess(b, T0 + 70_000)).toEqual(recovered);
    expect(recordFailure(b, T0 + 70_000)).toEqual(recovered);
    const trial = admit(b, T0 + 70_000, 'trial').breaker;
    expect(recordSuccess(trial, T0 + 71_000, undefined, 'straggler')).toEqual(trial);
    expect(recordFailure(trial, T0 + 71_000, undefined, 'straggler')).toEqual(trial);
  });

  it('a trial that ends without an outcome gives its slot back, and only its own', () => {
    const s: BreakerSettings = { ...DEFAULT_BREAKER, halfOpenMaxCalls: 2 };
    let b = admit(opened(), T0 + 60_000, 'a', s).breaker;
    b = admit(b, T0 + 60_000, 'b', s).breaker;
    expect(wouldAdmit(b, T0 + 60_000, s)).toBe(false);
    expect(release(b, 'someone-else')).toEqual(b);
    const freed = release(b, 'a');
    expect(freed).toEqual({ ...b, trials: ['b'] });
    expect(admit(freed, T0 + 60_001, 'c', s)).toEqual({ allowed: true, breaker: { ...b, trials: ['b', 'c'] } });
    // A released slot's holder is no longer a trial: its late result is ignored.
    expect(recordFailure(freed, T0 + 60_002, s, 'a')).toEqual(freed);
    // Slots whose holders are gone can be dropped wholesale.
    expect(keepTrials(b, (id) => id === 'b').trials).toEqual(['b']);
  });

  it('observe stores an open breaker past its timeout as half_open once, and leaves anything else alone', () => {
    const b = opened();
    expect(observe(b, T0 + 59_999)).toEqual(b);
    const half = observe(b, T0 + 60_000);
    expect(half.state).toBe('half_open');
    const trial = admit(half, T0 + 60_001, 't').breaker;
    expect(observe(trial, T0 + 600_000)).toEqual(trial);
    expect(observe(newBreaker(), T0)).toEqual(newBreaker());
  });

  it('reads a row stored before trial slots had names as having every slot free', () => {
    const legacy = { state: 'half_open', consecutiveFailures: 5, openedAt: T0, halfOpenCalls: 1 } as unknown as Breaker;
    expect(normalBreaker(legacy)).toEqual({ state: 'half_open', consecutiveFailures: 5, openedAt: T0, trials: [] });
    expect(wouldAdmit(legacy, T0 + 90_000)).toBe(true);
    expect(admit(legacy, T0 + 90_000, 'x').breaker.trials).toEqual(['x']);
  });

  it('never mutates its input and round-trips through JSON', () => {
    const b = failTimes(newBreaker(), 4);
    const frozen = Object.freeze({ ...b, trials: Object.freeze([]) as unknown as string[] });
    expect(recordFailure(frozen, T0)).not.toBe(frozen);
    expect(recordSuccess(frozen, T0)).not.toBe(frozen);
    expect(admit(frozen, T0, 'c').breaker).not.toBe(frozen);
    expect(frozen).toEqual(b);
    const trial = admit(opened(), T0 + 60_000, 'trial').breaker;
    const stored = JSON.parse(JSON.stringify(trial)) as Breaker;
    expect(admit(stored, T0 + 60_001, 'other').allowed).toBe(false);
    expect(recordSuccess(stored, T0 + 60_002, undefined, 'trial').state).toBe('closed');
    expect(release(Object.freeze(stored), 'trial')).not.toBe(stored);
  });
});

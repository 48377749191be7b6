/**
 * DOMAIN.md 8: one circuit breaker per tool, as a plain JSON value so it can
 * be stored in a database row. Every function returns a new object.
 *
 * - closed: calls go through; failureThreshold consecutive failures open it.
 * - open: refuses calls for recoveryTimeoutMs, i.e. over [openedAt, openedAt + recoveryTimeoutMs);
 *   from that instant on it reads half_open.
 * - half_open: admit() hands out halfOpenMaxCalls trial slots (the stored state
 *   turns half_open with the first); a success closes it, a failure opens it
 *   again with a fresh openedAt.
 *
 * A result reported while the stored state is open comes from a call admitted
 * before the breaker opened and finishing late (no trial has been admitted
 * yet), and is ignored: a straggler's success says nothing about the tool
 * after the failures that opened it, and a straggler's failure must not push
 * the recovery back, or a burst of them could keep the tool out indefinitely.
 * A trial holds its slot until it reports, so report a timed-out call as a failure.
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

export interface BreakerSettings {
  failureThreshold: number;
  recoveryTimeoutMs: number;
  halfOpenMaxCalls: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { failureThreshold: 5, recoveryTimeoutMs: 60_000, halfOpenMaxCalls: 1 };

export interface Breaker {
  state: CircuitState;
  consecutiveFailures: number;
  /** Epoch ms of the latest opening; null while closed. */
  openedAt: number | null;
  /** Trial calls admitted in this half_open spell. */
  halfOpenCalls: number;
}

export function newBreaker(): Breaker {
  return { state: 'closed', consecutiveFailures: 0, openedAt: null, halfOpenCalls: 0 };
}

/** The state as of `now`: an open breaker whose recovery timeout has passed reads as half_open. */
export function currentState(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER): CircuitState {
  // An open row without openedAt (hand-edited) recovers rather than staying shut for good.
  return b.state === 'open' && now >= (b.openedAt ?? 0) + s.recoveryTimeoutMs ? 'half_open' : b.state;
}

/** A call asks to go through; in half_open an allowed call takes one of the trial slots. */
export function admit(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER): { allowed: boolean; breaker: Breaker } {
  const state = currentState(b, now, s);
  if (state === 'closed') return { allowed: true, breaker: { ...b } };
  if (state === 'open' || b.halfOpenCalls >= s.halfOpenMaxCalls) return { allowed: false, breaker: { ...b } };
  return { allowed: true, breaker: { ...b, state: 'half_open', halfOpenCalls: b.halfOpenCalls + 1 } };
}

/** Closes the breaker and clears the failure count, unless it is (stored) open: see above. `now` and `s` only keep the signatures alike. */
export function recordSuccess(b: Breaker, _now: number, _s: BreakerSettings = DEFAULT_BREAKER): Breaker {
  return b.state === 'open' ? { ...b } : newBreaker();
}

/** Counts a failure: the threshold-th in a row, or any in half_open, opens the breaker from `now`. */
export function recordFailure(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER): Breaker {
  if (b.state === 'open') return { ...b };
  const consecutiveFailures = b.consecutiveFailures + 1;
  if (b.state === 'half_open' || consecutiveFailures >= s.failureThreshold) {
    return { state: 'open', consecutiveFailures, openedAt: now, halfOpenCalls: 0 };
  }
  return { ...b, consecutiveFailures };
}

/**
 * docs/domain.md#circuit-breakers-and-retries: one circuit breaker per tool, as a plain JSON value so it can
 * be stored in a database row. Every function returns a new object.
 *
 * - closed: calls go through; failureThreshold consecutive failures open it.
 * - open: refuses calls for recoveryTimeoutMs, i.e. over [openedAt, openedAt + recoveryTimeoutMs);
 *   from that instant on it reads half_open, and observe() stores it so.
 * - half_open: admit() hands out halfOpenMaxCalls trial slots, each to a named
 *   call (the caller's task id). A trial's success closes it, its failure opens
 *   it again with a fresh openedAt; a trial that ends without an outcome (its
 *   worker paused or shut down) gives its slot back with release().
 *
 * A result from a call that holds no trial slot, reported while the breaker is
 * open or half_open, comes from a call admitted before the breaker opened and
 * finishing late, and is ignored: a straggler's success says nothing about the
 * tool after the failures that opened it, and a straggler's failure must not
 * push the recovery back, or a burst of them could keep the tool out
 * indefinitely. A trial holds its slot until it reports or is released, so
 * report a timed-out call as a failure.
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
  /** The calls holding a trial slot in this half_open spell (at most halfOpenMaxCalls); empty otherwise. */
  trials: string[];
}

export function newBreaker(): Breaker {
  return { state: 'closed', consecutiveFailures: 0, openedAt: null, trials: [] };
}

/**
 * A stored value in this shape. Rows written before trial slots were held by
 * name count them in `halfOpenCalls` instead; those slots are taken as free
 * (their holders cannot be told apart, and the old reservations could leak).
 */
export function normalBreaker(b: Breaker | (Omit<Breaker, 'trials'> & { trials?: unknown })): Breaker {
  const trials = Array.isArray(b.trials) ? b.trials.filter((t): t is string => typeof t === 'string') : [];
  return { state: b.state, consecutiveFailures: b.consecutiveFailures ?? 0, openedAt: b.openedAt ?? null, trials };
}

/** The state as of `now`: an open breaker whose recovery timeout has passed reads as half_open. */
export function currentState(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER): CircuitState {
  // An open row without openedAt (hand-edited) recovers rather than staying shut for good.
  return b.state === 'open' && now >= (b.openedAt ?? 0) + s.recoveryTimeoutMs ? 'half_open' : b.state;
}

/**
 * The breaker as of `now`, to be stored: an open one whose recovery timeout
 * has passed becomes half_open with every trial slot free. The stored state is
 * then what was last announced, and the OPEN -> HALF_OPEN move is seen once per
 * open period, by whoever observes it first.
 */
export function observe(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER): Breaker {
  const n = normalBreaker(b);
  return n.state === 'open' && currentState(n, now, s) === 'half_open' ? { ...n, state: 'half_open', trials: [] } : n;
}

/** Whether a call would be let through now (closed, or half_open with a trial slot free); takes nothing. */
export function wouldAdmit(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER): boolean {
  const state = currentState(b, now, s);
  if (state === 'closed') return true;
  return state === 'half_open' && observe(b, now, s).trials.length < s.halfOpenMaxCalls;
}

/** Call `callId` asks to go through; in half_open an allowed call takes one of the trial slots, in its name. */
export function admit(b: Breaker, now: number, callId: string, s: BreakerSettings = DEFAULT_BREAKER): { allowed: boolean; breaker: Breaker } {
  const seen = observe(b, now, s);
  if (!wouldAdmit(seen, now, s)) return { allowed: false, breaker: seen };
  if (seen.state === 'closed') return { allowed: true, breaker: seen };
  return { allowed: true, breaker: { ...seen, trials: [...seen.trials, callId] } };
}

/** A trial call ended without an outcome: its slot is free for another call. Anything else is unchanged. */
export function release(b: Breaker, callId: string): Breaker {
  const n = normalBreaker(b);
  const at = n.trials.indexOf(callId);
  return at < 0 ? n : { ...n, trials: n.trials.filter((_, i) => i !== at) };
}

/** Frees the trial slots of calls that `holds` says no longer hold one (a safety net for a slot never given back). */
export function keepTrials(b: Breaker, holds: (callId: string) => boolean): Breaker {
  const n = normalBreaker(b);
  return { ...n, trials: n.trials.filter(holds) };
}

const isTrial = (b: Breaker, callId: string | null) => callId !== null && b.trials.includes(callId);

/**
 * Closes the breaker and clears the failure count, unless it is open or
 * half_open and `callId` holds no trial slot: see above.
 */
export function recordSuccess(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER, callId: string | null = null): Breaker {
  const seen = observe(b, now, s);
  if (seen.state === 'closed' || (seen.state === 'half_open' && isTrial(seen, callId))) return newBreaker();
  return seen;
}

/** Counts a failure: the threshold-th in a row while closed, or a trial's in half_open, opens the breaker from `now`. */
export function recordFailure(b: Breaker, now: number, s: BreakerSettings = DEFAULT_BREAKER, callId: string | null = null): Breaker {
  const seen = observe(b, now, s);
  if (seen.state === 'open' || (seen.state === 'half_open' && !isTrial(seen, callId))) return seen;
  const consecutiveFailures = seen.consecutiveFailures + 1;
  if (seen.state === 'half_open' || consecutiveFailures >= s.failureThreshold) {
    return { state: 'open', consecutiveFailures, openedAt: now, trials: [] };
  }
  return { ...seen, consecutiveFailures };
}

import { badInput } from '../core/errors.js';

/** task_spec's execution.retry_strategy. */
export type RetryStrategy = 'fixed' | 'exponential' | 'none';

export interface BackoffOptions {
  /** fixed: the delay (default 1 s). */
  fixedMs?: number;
  /** exponential: the first retry's step (default 1 s), multiplied by factor (default 2) per retry, capped at capMs (default 60 s). */
  baseMs?: number;
  factor?: number;
  capMs?: number;
}

/**
 * The wait before retry `attempt` (1 = the first retry) in whole ms, or null
 * for no retry (strategy none). exponential uses "equal jitter": of the step
 * min(cap, base x factor^(attempt-1)), half is always waited and the other
 * half is random. Full jitter (anywhere in [0, step)) spreads retries a little
 * more but may retry almost at once even late in the sequence, which against
 * a rate-limited or overloaded tool wastes an attempt; equal jitter keeps the
 * waits growing and still pulls apart tasks that failed together. The result
 * never exceeds the cap. A bad attempt number is the caller's mistake and is
 * refused as BAD_USER_INPUT.
 */
export function retryDelayMs(strategy: RetryStrategy, attempt: number, random: () => number = Math.random, options: BackoffOptions = {}): number | null {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw badInput('attempt', 'must be a positive integer (1 = the first retry)', { attempt });
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw badInput(name, 'must be a non-negative number', { value });
  }
  const { fixedMs = 1_000, baseMs = 1_000, factor = 2, capMs = 60_000 } = options;
  switch (strategy) {
    case 'none':
      return null;
    case 'fixed':
      return Math.floor(fixedMs);
    case 'exponential': {
      // factor ** (attempt - 1) may overflow to Infinity, which the cap absorbs (0 x Infinity would not).
      const half = Math.min(capMs, baseMs === 0 ? 0 : baseMs * factor ** (attempt - 1)) / 2;
      // Clamped so that a random source outside [0, 1) cannot break the cap.
      return Math.floor(half + Math.min(Math.max(random(), 0), 1) * half);
    }
    default:
      throw badInput('retry_strategy', `unknown strategy "${String(strategy)}" (fixed, exponential or none)`);
  }
}

/** docs/domain.md#circuit-breakers-and-retries: what a task reports once its attempts are exhausted. */
export function describeExhausted(attempts: number, lastError: string): string {
  return `failed after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}: ${lastError}`;
}

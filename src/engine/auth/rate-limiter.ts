import type { Clock } from '../core/clock.js';

/** Where the counters live: in memory, or in Redis when several instances share the load (redis-rate-limit-store.ts). */
export interface RateLimitStore {
  /** Counts one hit on `key` in the window starting at `windowStart`; returns the hits so far in it. */
  hit(key: string, windowStart: number, windowMs: number): number | Promise<number>;
}

/** Fixed windows in a map; a window's entry is dropped once the next one starts. */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { start: number; hits: number }>();

  hit(key: string, windowStart: number, windowMs: number): number {
    const entry = this.windows.get(key);
    if (!entry || entry.start !== windowStart) {
      this.windows.set(key, { start: windowStart, hits: 1 });
      if (this.windows.size > 10_000) this.sweep(windowStart, windowMs);
      return 1;
    }
    entry.hits += 1;
    return entry.hits;
  }

  private sweep(now: number, windowMs: number): void {
    for (const [key, entry] of this.windows) if (entry.start + windowMs <= now) this.windows.delete(key);
  }
}

export interface RateLimit {
  /** Allowed hits per window; 0 turns the limit off. */
  limit: number;
  windowMs: number;
}

export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window resets. */
  retryAfterMs: number;
}

export class RateLimiter {
  constructor(
    private readonly clock: Clock,
    private readonly store: RateLimitStore = new MemoryRateLimitStore(),
  ) {}

  async take(key: string, { limit, windowMs }: RateLimit): Promise<RateDecision> {
    if (limit <= 0) return { allowed: true, retryAfterMs: 0 };
    const now = this.clock.now().getTime();
    const windowStart = now - (now % windowMs);
    const hits = await this.store.hit(key, windowStart, windowMs);
    return hits <= limit ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: windowStart + windowMs - now };
  }
}

import type { Redis } from 'ioredis';
import { MemoryRateLimitStore, type RateLimitStore } from './rate-limiter.js';

/**
 * Rate-limit windows in Redis, so that a token's budget is one budget
 * across every instance: INCR on a key per token and window, which expires
 * with its window. While Redis cannot be reached the instance counts alone
 * in memory (a budget per instance instead of none: requests keep being
 * served) and reports the outage once.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly fallback = new MemoryRateLimitStore();
  private degraded = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  async hit(key: string, windowStart: number, windowMs: number): Promise<number> {
    const redisKey = `${this.prefix}rate:${key}:${windowStart}`;
    try {
      const [[incrError, hits], [expireError]] = (await this.redis.multi().incr(redisKey).pexpire(redisKey, windowMs).exec()) as [[Error | null, number], [Error | null, unknown]];
      const failed = incrError ?? expireError;
      if (failed) throw failed;
      this.degraded = false;
      return hits;
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true;
        this.onError(new Error(`rate limits counted per instance until Redis is back (${String(error)})`));
      }
      return this.fallback.hit(key, windowStart, windowMs);
    }
  }
}

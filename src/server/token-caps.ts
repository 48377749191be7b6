import { GraphQLError } from 'graphql';
import type { Identity } from '../engine/auth/identity.js';

/**
 * How many of something each token holds on this instance (WebSockets,
 * live subscriptions), kept at most `max` (0: no cap). The UET_ADMIN_TOKEN
 * secret has no id: it counts under its name.
 */
export class PerTokenCap {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Whether the token is at the cap: a cheap check before costlier work (take still decides). */
  full(identity: Identity): boolean {
    return this.max > 0 && (this.counts.get(keyOf(identity)) ?? 0) >= this.max;
  }

  /** Takes one more for `identity`: its release function (idempotent), or null when the token is at the cap. */
  take(identity: Identity): (() => void) | null {
    if (this.full(identity)) return null;
    const key = keyOf(identity);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}

const keyOf = (identity: Identity) => identity.tokenId ?? identity.tokenName;

/**
 * Live subscriptions per token on this instance, graphql-ws and SSE
 * together, at most UET_MAX_SUBSCRIPTIONS_PER_TOKEN: each holds a bus
 * listener and buffers, so one token could otherwise take the memory of
 * everyone (the security review's 10,000 cost about 490 MB).
 */
export class LiveSubscriptions extends PerTokenCap {
  /**
   * The error a subscription over the cap gets: made once, as a flood of
   * refusals spent most of its time building GraphQLErrors (their stacks).
   */
  readonly refusal: GraphQLError;

  constructor(max: number) {
    super(max);
    this.refusal = new GraphQLError(`at most ${max} live subscriptions at once per token (UET_MAX_SUBSCRIPTIONS_PER_TOKEN); end one before starting another`, {
      extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit: 'maxSubscriptionsPerToken', max },
    });
  }
}

/** `result` with `release` called once when its stream ends (done, returned or failed); at once when it is no stream. */
export function releasedWhenDone<T>(result: T, release: () => void): T {
  if (result === null || typeof result !== 'object' || !(Symbol.asyncIterator in result)) {
    release();
    return result;
  }
  const source = result as unknown as AsyncIterableIterator<unknown>;
  const wrapped: AsyncIterableIterator<unknown> = {
    async next() {
      try {
        const item = await source.next();
        if (item.done) release();
        return item;
      } catch (error) {
        release();
        throw error;
      }
    },
    return(value) {
      release();
      return source.return?.(value) ?? Promise.resolve({ value, done: true });
    },
    throw(error) {
      release();
      return source.throw?.(error) ?? Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return wrapped as T;
}

import type { OutputRef } from '@pothos/core';
import type { GraphQLSchema } from 'graphql';
import type { GatewayContext } from './context.js';
import { refreshLoaders } from './loaders.js';

/**
 * How the server treats a root field, set on the field as `extensions` and
 * read by the server's plugins from the schema (as list-size.ts does for the
 * cost analysis), so that a new field states its policy where it is declared.
 */
export type FieldPolicy = {
  /**
   * A subscription whose stream carries only what happens after it starts
   * (no replay, no initial value), and whose results depend on the caller
   * only through its scopes and token name: identical subscriptions share one
   * execution per event (src/server/shared-subscriptions.ts). A field that
   * filtered by token id (say, a worker token seeing only its own workers)
   * must not set it. A replay (an `after` argument given) is never shared.
   */
  liveOnly?: boolean;
  /** The per-token budget a root mutation counts against (src/server/rate-limit.ts): the general one unless set. */
  rateBudget?: 'heartbeat' | 'logAppend';
};

/** The policy of a root field of `root`, empty for a field that states none (or no such field). */
export function fieldPolicy(schema: GraphQLSchema, root: 'mutation' | 'subscription', name: string): FieldPolicy {
  const type = root === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return (type?.getFields()[name]?.extensions ?? {}) as FieldPolicy;
}

/** The policy of a mutation a worker sends often (heartbeat): its own, higher budget. */
export const heartbeatBudget: FieldPolicy = { rateBudget: 'heartbeat' };

/** The policy of appendStepLog, which a worker sends several times a second per running tool: its own budget. */
export const logAppendBudget: FieldPolicy = { rateBudget: 'logAppend' };

const liveOnly: FieldPolicy = { liveOnly: true };

/**
 * The options every live subscription field of `type` shares: it is
 * live-only, and each event it delivers is resolved with fresh loaders, since
 * a subscription keeps one context for its whole life and nested fields must
 * show current rows. Spread into the field's options:
 * `t.field({ ...liveSubscription(RunRef), description, args, subscribe })`.
 */
export function liveSubscription<Shape>(type: OutputRef<Shape>) {
  return {
    type,
    extensions: liveOnly,
    resolve(event: Shape, _args: unknown, ctx: GatewayContext): Shape {
      refreshLoaders(ctx);
      return event;
    },
  };
}

import { GraphQLError, Kind, getOperationAST, type DocumentNode, type FieldNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';
import type { Engine } from '../engine/index.js';
import type { GatewayContext } from '../schema/context.js';
import { fieldPolicy } from '../schema/field-policy.js';

const WINDOW_MS = 60_000;

/**
 * Per-token budgets for mutations, one hit per root mutation field: a
 * general one, and separate, higher ones for heartbeats and step log appends
 * (the fields that declare `rateBudget`: field-policy.ts). Over budget, the
 * whole operation is refused with RATE_LIMITED and how long to wait.
 */
export function useMutationRateLimit(engine: Engine, limits: Limits): Plugin<GatewayContext> {
  const perMinute = { mutation: limits.mutationsPerMinute, heartbeat: limits.heartbeatsPerMinute, logAppend: limits.logAppendsPerMinute };
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const identity = (args.contextValue as GatewayContext).identity;
      const operation = getOperationAST(args.document, args.operationName);
      // Without a token the fields refuse the call themselves (UNAUTHENTICATED).
      if (!identity || operation?.operation !== 'mutation') return;
      const caller = identity.tokenId ?? identity.tokenName;
      for (const selection of rootFields(operation.selectionSet, args.document)) {
        const budget = fieldPolicy(args.schema, 'mutation', selection.name.value).rateBudget ?? 'mutation';
        const decision = await engine.rateLimiter.take(`${budget}:${caller}`, { limit: perMinute[budget], windowMs: WINDOW_MS });
        if (!decision.allowed) {
          const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
          setResultAndStopExecution({
            errors: [
              new GraphQLError(`rate limit exceeded: retry in ${retryAfterSeconds} s`, {
                extensions: { code: 'RATE_LIMITED', retryAfterSeconds },
              }),
            ],
          });
          return;
        }
      }
    },
  };
}

/**
 * The root fields an operation selects, including those inside inline
 * fragments and fragment spreads (`... on Mutation { createRun }` must count
 * like `createRun`). Fields under @skip/@include count too: a budget errs on
 * the side of the server.
 */
function rootFields(selectionSet: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) fields.push(...rootFields(selection.selectionSet, document, seen));
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) fields.push(...rootFields(fragment.selectionSet, document, seen));
    }
  }
  return fields;
}

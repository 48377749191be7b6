import { GraphQLError, isObjectType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { unauthenticated } from '../engine/auth/refusal.js';
import { grantedScopes, type AuthScope } from '../schema/builder.js';
import { holdsAny, missingScope, scopesOf, staticScopeMap } from '../schema/scope-refusal.js';
import type { GatewayContext } from '../schema/context.js';

/**
 * Fields of object types that state `authScopes` (those that read beyond
 * one task: schema/task-scope.ts) are checked again, by Pothos, as they
 * resolve; that is too late for a mutation, which has committed by the
 * time its payload resolves. So an operation that selects a field whose
 * scopes the caller holds none of is refused here, before anything runs:
 * FORBIDDEN, naming each field and the scopes it needs. One walk of the
 * document (bounded by the query limits), no query, and only for a caller
 * that lacks the scopes of some such field (a WORKER-only token): read and
 * operate tokens skip it.
 * Root fields are left to Pothos (a refused one nulls only itself).
 */
export function useFieldScopesUpFront(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as unknown as GatewayContext;
      const granted = grantedScopes(context.identity ?? null);
      if (scopeMapsOf(args.schema).every((scopes) => holdsAny(scopes, granted))) return;
      const refused = refusedFields(args.schema, args.document, granted);
      if (refused.length === 0) return;
      const identity = context.identity;
      // Without a token, the one error says why there is none (root fields refuse such callers too).
      const errors = identity
        ? refused.map(({ field, needed }) => missingScope(identity, field, needed, 'leave it out of the selection'))
        : [unauthenticated(context.authRefusal ?? { reason: 'MISSING_TOKEN' })];
      setResultAndStopExecution({ errors: errors.map((error) => new GraphQLError(error.message, { extensions: { code: error.code, ...error.details } })) });
    },
  };
}

/** Every selected non-root field ("Type.field") whose static scopes the caller has none of, with those scopes. */
function refusedFields(schema: GraphQLSchema, document: DocumentNode, granted: Record<AuthScope, boolean>): { field: string; needed: string[] }[] {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  const typeInfo = new TypeInfo(schema);
  const refused = new Map<string, string[]>();
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const scopes = staticScopeMap(typeInfo.getFieldDef()?.extensions);
        if (!parent || roots.has(parent as never) || !scopes) return;
        if (!holdsAny(scopes, granted)) refused.set(`${parent.name}.${typeInfo.getFieldDef()!.name}`, scopesOf(scopes));
      },
    }),
  );
  return [...refused].map(([field, needed]) => ({ field, needed }));
}

const scopeMaps = new WeakMap<GraphQLSchema, Record<string, boolean>[]>();

/** The static scope maps of the schema's non-root fields, found once per schema. */
function scopeMapsOf(schema: GraphQLSchema): Record<string, boolean>[] {
  let maps = scopeMaps.get(schema);
  if (!maps) {
    const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
    maps = Object.values(schema.getTypeMap())
      .filter(isObjectType)
      .filter((type) => !roots.has(type))
      .flatMap((type) => Object.values(type.getFields()))
      .map((field) => staticScopeMap(field.extensions))
      .filter((scopes) => scopes !== null);
    scopeMaps.set(schema, maps);
  }
  return maps;
}

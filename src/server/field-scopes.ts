import { GraphQLError, isObjectType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { grantedScopes, type AuthScope } from '../schema/builder.js';
import type { GatewayContext } from '../schema/context.js';

/**
 * Fields of object types that state `authScopes` (those that read beyond
 * one task: schema/task-scope.ts) are checked again, by Pothos, as they
 * resolve; that is too late for a mutation, which has committed by the
 * time its payload resolves. So an operation that selects a field whose
 * scopes the caller holds none of is refused here, before anything runs:
 * FORBIDDEN, naming each field. One walk of the document (bounded by the
 * query limits), no query, and only for a caller that lacks the scopes of
 * some such field (a WORKER-only token): read and operate tokens skip it.
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
      setResultAndStopExecution({
        errors: refused.map(
          (field) =>
            new GraphQLError(`token "${context.identity?.tokenName ?? '(none)'}" may not use ${field}: it needs the read or operate scope; leave it out of the selection`, {
              extensions: { code: context.identity ? 'FORBIDDEN' : 'UNAUTHENTICATED', field },
            }),
        ),
      });
    },
  };
}

/** "Type.field" of every selected non-root field whose static scopes the caller has none of. */
function refusedFields(schema: GraphQLSchema, document: DocumentNode, granted: Record<AuthScope, boolean>): string[] {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  const typeInfo = new TypeInfo(schema);
  const refused = new Set<string>();
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const scopes = staticScopes(typeInfo.getFieldDef()?.extensions);
        if (!parent || roots.has(parent as never) || !isScopeMap(scopes)) return;
        if (!holdsAny(scopes, granted)) {
          refused.add(`${parent.name}.${typeInfo.getFieldDef()!.name}`);
        }
      },
    }),
  );
  return [...refused];
}

/** The `authScopes` a field states in Pothos (read from its extensions). */
function staticScopes(extensions: { pothosOptions?: unknown } | undefined): unknown {
  return (extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
}

/** Whether the caller holds one of the scopes the map asks for. */
function holdsAny(scopes: Record<string, boolean>, granted: Record<AuthScope, boolean>): boolean {
  return Object.entries(scopes).some(([scope, needed]) => needed && granted[scope as AuthScope]);
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
      .map((field) => staticScopes(field.extensions))
      .filter(isScopeMap);
    scopeMaps.set(schema, maps);
  }
  return maps;
}

/** A plain map of scopes (`{ read: true, ... }`); functions and `$any`/`$all` forms are left to Pothos. */
function isScopeMap(scopes: unknown): scopes is Record<string, boolean> {
  return typeof scopes === 'object' && scopes !== null && Object.entries(scopes).every(([key, value]) => !key.startsWith('$') && typeof value === 'boolean');
}

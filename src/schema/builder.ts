import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { hasScope } from '../engine/auth/identity.js';
import { DomainError, badInput } from '../engine/core/errors.js';
import type { GatewayContext } from './context.js';

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    Decimal: { Input: string; Output: string };
  };
  Connection: { totalCount: () => Promise<number> };
  DefaultFieldNullability: false;
  AuthScopes: { read: boolean; operate: boolean; worker: boolean; admin: boolean; authenticated: boolean };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  defaultFieldNullability: false,
  // Every root field states the scopes it needs (Query and Subscription
  // fields need `read` unless they say otherwise); `admin` holds them all.
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      read: hasScope(ctx.identity, 'read'),
      operate: hasScope(ctx.identity, 'operate'),
      worker: hasScope(ctx.identity, 'worker'),
      admin: hasScope(ctx.identity, 'admin'),
      authenticated: ctx.identity !== null,
    }),
    unauthorizedError: (_parent, ctx, info) =>
      ctx.identity
        ? new DomainError('FORBIDDEN', `token "${ctx.identity.tokenName}" may not use ${info.parentType.name}.${info.fieldName}`, {
            field: `${info.parentType.name}.${info.fieldName}`,
          })
        : new DomainError('UNAUTHENTICATED', 'send a token: Authorization: Bearer <token>'),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // A refused mutation nulls only its own field, not the results of the
    // mutations before it in the same document (which have committed).
    relayMutationFieldOptions: { nullable: true },
    encodeGlobalID: (typename, id) => encodeGlobalId(typename, String(id)),
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalId(globalID, 'id');
      if (!NODE_TYPES.has(decoded.typename)) throw badInput('id', `"${globalID}" is not a valid ID`);
      return decoded;
    },
  },
});

/** The types that implement Node (a test checks this against the schema). */
export const NODE_TYPES: ReadonlySet<string> = new Set(['Run', 'StepAttempt', 'RunEvent', 'Worker', 'Task', 'Patch', 'LedgerEntry', 'TestGate', 'CostRecord', 'Workstream', 'ExecutionRequest']);

/** IDs are opaque to clients: base64url of "<Type>:<ULID>". */
export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`).toString('base64url');
}

export function decodeGlobalId(globalId: string, field: string): { typename: string; id: string } {
  const text = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1 || encodeGlobalId(text.slice(0, colon), text.slice(colon + 1)) !== globalId) {
    throw badInput(field, `"${globalId}" is not a valid ID`);
  }
  return { typename: text.slice(0, colon), id: text.slice(colon + 1) };
}

/** The entity id inside a global id that must name `typename`. */
export function parseId(globalId: string, typename: string, field: string): string {
  const decoded = decodeGlobalId(globalId, field);
  if (decoded.typename !== typename) throw badInput(field, `"${globalId}" is not a ${typename} ID`);
  return decoded.id;
}

export function parseOptionalId(globalId: string | null | undefined, typename: string, field: string): string | null {
  return globalId == null ? null : parseId(globalId, typename, field);
}

builder.queryType({ authScopes: { read: true } });
builder.mutationType({ authScopes: { authenticated: true } });
builder.subscriptionType({ authScopes: { read: true } });

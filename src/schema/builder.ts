import SchemaBuilder, { brandWithType, getTypeBrand } from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { hasScope, type Identity } from '../engine/auth/identity.js';
import { unauthenticated } from '../engine/auth/refusal.js';
import { badInput } from '../engine/core/errors.js';
import { isUlid } from '../engine/core/ids.js';
import { MAX_PAGE_SIZE } from '../engine/core/pagination.js';
import type { GatewayContext } from './context.js';
import './sync-node-ids.js';
import { failedScopes, holdsAny, missingScope, scopesOf, staticScopeMap, useTokenWith } from './scope-refusal.js';

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
  AuthScopes: Record<AuthScope, boolean>;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, 'syncNodeIds'],
  defaultFieldNullability: false,
  // Every root field states the scopes it needs (Query and Subscription
  // fields need `read` unless they say otherwise); `admin` holds them all.
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => grantedScopes(ctx.identity),
    // FORBIDDEN names the scopes the field accepts; UNAUTHENTICATED says why the request has no identity.
    unauthorizedError: (_parent, ctx, info, result) => {
      if (!ctx.identity) return unauthenticated(ctx.authRefusal ?? { reason: 'MISSING_TOKEN' });
      // The type's scopes are checked first: when the field's own are missing too, those are the ones to name (apiTokens: admin, not read).
      const own = staticScopeMap(info.parentType.getFields()[info.fieldName]?.extensions);
      const needed = own && !holdsAny(own, grantedScopes(ctx.identity)) ? scopesOf(own) : failedScopes(result.failure);
      return missingScope(ctx.identity, `${info.parentType.name}.${info.fieldName}`, needed, useTokenWith(needed));
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // A refused mutation nulls only its own field, not the results of the
    // mutations before it in the same document (which have committed).
    relayMutationFieldOptions: { nullable: true },
    // Descriptions of the types and fields the relay plugin generates.
    mutationInputArgOptions: { description: "The mutation's arguments as one input object (see its type for each field)." },
    pageInfoTypeOptions: { description: 'Where a page sits in its list, and the cursors to fetch the pages around it.' },
    hasNextPageFieldOptions: {
      description: 'Whether items follow this page in the list order: fetch them with first and after: endCursor.',
    },
    hasPreviousPageFieldOptions: {
      description: 'Whether items precede this page in the list order: fetch them with last and before: startCursor (where the list pages backwards).',
    },
    startCursorFieldOptions: { description: "The first item's cursor; null when the page is empty." },
    endCursorFieldOptions: { description: "The last item's cursor: pass it as `after` for the next page; null when the page is empty." },
    pageInfoFieldOptions: { description: 'Whether more items precede or follow this page, and its first and last cursors.' },
    edgesFieldOptions: {
      description: 'The items of this page in list order, each with its cursor.',
      // The connection field counts the page size (src/server/cost.ts).
      extensions: { listSize: 1 },
    },
    nodeFieldOptions: { description: 'The item at this position of the list.' },
    cursorFieldOptions: { description: 'Opaque position of this item: pass it as `after` (or `before`) to page on from it.' },
    firstArgOptions: {
      description: 'Page size walking forwards from `after` (or from the start): 20 when not given, at most 100 (more is BAD_USER_INPUT).',
    },
    afterArgOptions: { description: 'A cursor (an edge cursor or pageInfo.endCursor): the page starts right after that item.' },
    lastArgOptions: {
      description: 'Page size walking backwards from `before` (or from the end): 20 when not given, at most 100; not combined with first/after.',
    },
    beforeArgOptions: { description: 'A cursor (an edge cursor or pageInfo.startCursor): the page ends right before that item; use with last.' },
    nodeTypeOptions: {
      description: 'An object with an opaque global id that node(id:) and nodes(ids:) load, whatever its type.',
    },
    idFieldOptions: {
      description: 'Opaque global id: pass it to node(id:), or to any argument that takes an id of this type (such an argument also takes the bare ULID inside it).',
    },
    nodeQueryOptions: {
      description:
        'Loads any Node (run, step attempt, run event, worker, task, patch, ledger entry, test gate, cost record, workstream, ' + 'execution request) by its global id; null when none has that id.',
      args: { id: { description: 'A global id; one that names no Node type is BAD_USER_INPUT.' } },
      resolve: async (_root, { id }, _ctx, _info, resolveNode) => brandedAs(await resolveNode(id), id.typename),
    },
    nodesQueryOptions: {
      description: `Loads several Nodes by their global ids, in the order given; null in place of each id that names nothing. At most ${MAX_PAGE_SIZE} ids.`,
      args: { ids: { description: `Global ids, at most ${MAX_PAGE_SIZE} (more is BAD_USER_INPUT); one that names no Node type is BAD_USER_INPUT.` } },
      extensions: { listSizeArg: 'ids' },
      resolve: (_root, { ids }, _ctx, _info, resolveNodes) => {
        if (ids.length > MAX_PAGE_SIZE) throw badInput('ids', `at most ${MAX_PAGE_SIZE} ids at once, got ${ids.length}: split them over several requests`);
        return resolveNodes(ids).then((nodes) => nodes.map(async (node, i) => brandedAs(await node, ids[i]!.typename)));
      },
    },
    encodeGlobalID: (typename, id) => encodeGlobalId(typename, String(id)),
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalId(globalID, 'id');
      if (!NODE_TYPES.has(decoded.typename)) throw badInput('id', `${quoted(globalID)} names a type node(id:) does not load (${quoted(decoded.typename)})`);
      return decoded;
    },
  },
});

/**
 * A loaded node, branded with the type its global id named. The relay plugin
 * brands what it loads only after the load, while a second lookup of the same
 * id in one request (node and nodes both asking for it) takes the cached
 * promise: without this, that one could reach Node's resolveType unbranded
 * ("Abstract type Node must resolve to an Object type").
 */
function brandedAs(node: unknown, typename: string): unknown {
  if (node !== null && typeof node === 'object' && !getTypeBrand(node)) brandWithType(node, typename as Parameters<typeof brandWithType>[1]);
  return node;
}

/** The auth scopes a caller holds, as field and type `authScopes` name them. */
export function grantedScopes(identity: Identity | null): Record<AuthScope, boolean> {
  return {
    read: hasScope(identity, 'read'),
    operate: hasScope(identity, 'operate'),
    worker: hasScope(identity, 'worker'),
    admin: hasScope(identity, 'admin'),
    authenticated: identity !== null,
  };
}

export type AuthScope = 'read' | 'operate' | 'worker' | 'admin' | 'authenticated';

/** The types that implement Node (a test checks this against the schema). */
export const NODE_TYPES: ReadonlySet<string> = new Set(['Run', 'StepAttempt', 'RunEvent', 'Worker', 'Task', 'Patch', 'LedgerEntry', 'TestGate', 'CostRecord', 'Workstream', 'ExecutionRequest']);

/** IDs are opaque to clients: base64url of "<Type>:<ULID>". */
export function encodeGlobalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`).toString('base64url');
}

/** The type and entity id a global id names, or null when it is not one. */
function decoded(globalId: string): { typename: string; id: string } | null {
  const text = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1 || encodeGlobalId(text.slice(0, colon), text.slice(colon + 1)) !== globalId) return null;
  return { typename: text.slice(0, colon), id: text.slice(colon + 1) };
}

/** A refused value as messages quote it: enough to recognise, never a whole request body echoed back. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** A global id of any type (node, nodes): a bare ULID does not say which type it is. */
export function decodeGlobalId(globalId: string, field: string): { typename: string; id: string } {
  const found = decoded(globalId);
  if (found) return found;
  throw badInput(
    field,
    isUlid(globalId)
      ? `${quoted(globalId)} is a bare ULID, which does not say its type: pass the id field a query returned (a global id), or use a field for one type, e.g. run(id:)`
      : `${quoted(globalId)} is not a valid ID: pass the id field a query returned (a global id)`,
  );
}

/**
 * The entity id of an argument that takes one type: its global id, or the
 * bare ULID inside it (as logs, the engine's messages and the database hold
 * it), which is unambiguous once the argument names the type. Global ids
 * are far longer than 26 characters, so the two forms never collide.
 */
export function parseId(globalId: string, typename: string, field: string): string {
  if (isUlid(globalId)) return globalId;
  const found = decoded(globalId);
  if (!found) throw badInput(field, `${quoted(globalId)} is not a valid ${typename} ID: pass a ${typename}'s id field (a global id) or the bare ULID inside it`);
  if (found.typename !== typename) {
    const named = NODE_TYPES.has(found.typename) || found.typename === 'ApiToken' ? ` (it is a ${found.typename} ID)` : '';
    throw badInput(field, `${quoted(globalId)} is not a ${typename} ID${named}`);
  }
  return found.id;
}

export function parseOptionalId(globalId: string | null | undefined, typename: string, field: string): string | null {
  return globalId == null ? null : parseId(globalId, typename, field);
}

builder.queryType({
  description: 'Reads. Every field needs a token with the read scope, except viewer (any valid token), apiTokens (admin) and tools (read or worker).',
  authScopes: { read: true },
});
builder.mutationType({
  description: 'Writes, each in one transaction: a refused mutation writes nothing and nulls only its own payload, not the results of the mutations before it.',
  authScopes: { authenticated: true },
});
builder.subscriptionType({
  description:
    'Live streams over graphql-ws or Server-Sent Events, filtered on the server; every field needs the read scope, except runStateChanged and workerStateChanged, ' +
    "which a worker token may use for its own workers' run and worker.",
  authScopes: { read: true },
});

import type { Identity } from '../engine/auth/identity.js';
import type { ApiToken } from '../engine/auth/entities.js';
import { builder, encodeGlobalId } from './builder.js';

export const ScopeEnum = builder.enumType('Scope', {
  description:
    'What a token may do. Each root field names the scopes it accepts; scopes do not include one another except ADMIN, ' +
    'which holds them all (an OPERATE-only token cannot query). A call whose token lacks the scope is FORBIDDEN.',
  values: {
    READ: { value: 'read', description: 'Every query and subscription (apiTokens excepted).' },
    OPERATE: {
      value: 'operate',
      description: 'Operator writes: runs, steps and notes, tasks and workstreams, patch ledger moves, test gates, costs, and steering any worker.',
    },
    WORKER: {
      value: 'worker',
      description: "A worker's own calls: registerWorker, then heartbeat, claim and complete tasks for the workers this token registered; " + 'also its reports (steps, patches, gate results, costs).',
    },
    ADMIN: { value: 'admin', description: 'Every scope, plus API tokens, patch policies, budgets and the router configuration.' },
  } as const,
});

export const ViewerRef = builder.objectRef<Identity>('Viewer').implement({
  description: 'The token this request was made with.',
  fields: (t) => ({
    tokenName: t.exposeString('tokenName', { description: 'The name the token was created with (bootstrap-admin for the first-start token, UET_ADMIN_TOKEN for that environment secret).' }),
    scopes: t.field({ type: [ScopeEnum], description: 'What the token may do; ADMIN holds every scope.', resolve: (identity) => [...identity.scopes] }),
  }),
});

export const ApiTokenRef = builder.objectRef<ApiToken>('ApiToken').implement({
  description: 'An API token. Its secret is shown once, by createApiToken, and never stored.',
  authScopes: { admin: true },
  fields: (t) => ({
    id: t.id({ description: 'Opaque id: pass it to revokeApiToken.', resolve: (token) => encodeGlobalId('ApiToken', token.id) }),
    name: t.exposeString('name', { description: 'A label for people (e.g. "ci"); not unique and not secret.' }),
    scopes: t.field({ type: [ScopeEnum], description: 'What requests made with it may do.', resolve: (token) => token.scopes }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When a request last used it, updated at most once a minute; null if never used.',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'From this instant it is refused; null: it does not expire.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked (refused from then on); null while it is not.' }),
  }),
});

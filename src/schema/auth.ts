import type { Identity } from '../engine/auth/identity.js';
import type { ApiToken } from '../engine/db/entities.js';
import { builder, encodeGlobalId } from './builder.js';

export const ScopeEnum = builder.enumType('Scope', {
  description: 'READ: queries and subscriptions. OPERATE: run and step mutations. WORKER: worker reports. ADMIN: everything.',
  values: { READ: { value: 'read' }, OPERATE: { value: 'operate' }, WORKER: { value: 'worker' }, ADMIN: { value: 'admin' } } as const,
});

export const ViewerRef = builder.objectRef<Identity>('Viewer').implement({
  description: 'The token this request was made with.',
  fields: (t) => ({
    tokenName: t.exposeString('tokenName'),
    scopes: t.field({ type: [ScopeEnum], resolve: (identity) => [...identity.scopes] }),
  }),
});

export const ApiTokenRef = builder.objectRef<ApiToken>('ApiToken').implement({
  description: 'An API token. Its secret is shown once, by createApiToken, and never stored.',
  authScopes: { admin: true },
  fields: (t) => ({
    id: t.id({ resolve: (token) => encodeGlobalId('ApiToken', token.id) }),
    name: t.exposeString('name'),
    scopes: t.field({ type: [ScopeEnum], resolve: (token) => token.scopes }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated at most once a minute.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

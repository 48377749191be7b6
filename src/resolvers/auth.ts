import { builder, parseId } from '../schema/builder.js';
import { ApiTokenRef, ScopeEnum, ViewerRef } from '../schema/auth.js';
import { ADMIN } from './scopes.js';

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: 'Who the request is authenticated as (any valid token).',
    skipTypeScopes: true,
    authScopes: { authenticated: true },
    resolve: (_, __, ctx) => ctx.identity!,
  }),
  apiTokens: t.connection(
    {
      type: ApiTokenRef,
      description: 'Every token, newest first.',
      authScopes: ADMIN,
      resolve: (_, page, ctx) => ctx.engine.tokens.list(page),
    },
    { name: 'ApiTokenConnection', fields: (c) => ({ totalCount: c.int({ resolve: (conn) => conn.totalCount() }) }) },
    { name: 'ApiTokenEdge' },
  ),
}));

builder.relayMutationField(
  'createApiToken',
  {
    inputFields: (t) => ({
      name: t.string({ required: true }),
      scopes: t.field({ type: [ScopeEnum], required: true }),
      expiresAt: t.field({ type: 'DateTime' }),
    }),
  },
  {
    authScopes: ADMIN,
    resolve: async (_, { input }, ctx) => {
      const { secret, token } = await ctx.engine.tokens.create(input);
      return { token: secret, apiToken: token };
    },
  },
  {
    outputFields: (t) => ({
      token: t.string({ description: 'The secret: shown here once, never again.', resolve: (p) => p.token }),
      apiToken: t.field({ type: ApiTokenRef, resolve: (p) => p.apiToken }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiToken',
  { inputFields: (t) => ({ id: t.id({ required: true }) }) },
  {
    authScopes: ADMIN,
    description: 'Revokes a token at once: requests fail and its open subscriptions are closed.',
    resolve: async (_, { input }, ctx) => ({ apiToken: await ctx.engine.tokens.revoke(parseId(input.id, 'ApiToken', 'id')) }),
  },
  { outputFields: (t) => ({ apiToken: t.field({ type: ApiTokenRef, resolve: (p) => p.apiToken }) }) },
);

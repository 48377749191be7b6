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
      description: 'Every stored API token, revoked and expired ones included, newest first (the UET_ADMIN_TOKEN secret is not one). Needs ADMIN.',
      authScopes: ADMIN,
      resolve: (_, page, ctx) => ctx.engine.tokens.list(page),
    },
    {
      name: 'ApiTokenConnection',
      description: 'A page of API tokens, newest first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Stored tokens in all, on every page.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'ApiTokenEdge', description: 'An API token and its cursor.' },
  ),
}));

builder.relayMutationField(
  'createApiToken',
  {
    description: 'The name, scopes and optional expiry of a new token.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'A label for people (e.g. "ci"), 1 to 200 characters; need not be unique.' }),
      scopes: t.field({ type: [ScopeEnum], required: true, description: 'What it may do: at least one scope (an empty list is BAD_USER_INPUT); repeats are dropped.' }),
      expiresAt: t.field({ type: 'DateTime', description: 'When it stops working; must be in the future (else BAD_USER_INPUT). Never when omitted.' }),
    }),
  },
  {
    authScopes: ADMIN,
    description: 'Creates an API token and returns its secret, the only time it is shown (only a hash is stored). Needs ADMIN.',
    resolve: async (_, { input }, ctx) => {
      const { secret, token } = await ctx.engine.tokens.create(input);
      return { token: secret, apiToken: token };
    },
  },
  {
    description: 'What createApiToken returns: the secret and the stored token.',
    outputFields: (t) => ({
      token: t.string({ description: 'The secret (uet_...): send it as Authorization: Bearer <token>. Shown here once, never again.', resolve: (p) => p.token }),
      apiToken: t.field({ type: ApiTokenRef, description: 'The token as stored: its id, name, scopes and expiry.', resolve: (p) => p.apiToken }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiToken',
  {
    description: 'Which token to revoke.',
    inputFields: (t) => ({ id: t.id({ required: true, description: "The token's id (ApiToken.id)." }) }),
  },
  {
    authScopes: ADMIN,
    description:
      'Revokes a token at once: its requests fail, its WebSockets close with 4403 and its SSE subscriptions end before their next event. ' +
      'Revoking again keeps the first revokedAt. NOT_FOUND for an unknown token. Needs ADMIN.',
    resolve: async (_, { input }, ctx) => ({ apiToken: await ctx.engine.tokens.revoke(parseId(input.id, 'ApiToken', 'id')) }),
  },
  {
    description: 'What revokeApiToken returns.',
    outputFields: (t) => ({ apiToken: t.field({ type: ApiTokenRef, description: 'The token, with revokedAt set.', resolve: (p) => p.apiToken }) }),
  },
);

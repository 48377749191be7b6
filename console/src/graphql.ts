// Typed documents: gql.tada checks each document against ../schema.graphql (through src/graphql-env.d.ts, which
// `npm run typecheck` generates), so a field the API lacks fails the type check.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; Decimal: string; JSON: unknown };
}>();

export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';

// Typed documents: gql.tada checks each document against ../../schema.graphql (through graphql-env.d.ts, which
// `npm run typecheck` generates), so a document naming a field the API lacks fails the type check.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.js';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; Decimal: string; JSON: unknown };
  // The worker reads a task the same way wherever it comes from (a claim, the held-tasks query): no fragment masking.
  disableMasking: true;
}>();

export type { ResultOf, VariablesOf, TadaDocumentNode } from 'gql.tada';

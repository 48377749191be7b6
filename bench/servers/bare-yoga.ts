/**
 * The floor any GraphQL mutation pays: a bare graphql-yoga server with a
 * trivial schema (`mutation { ping(n: 1) }`) on node:http, also speaking
 * graphql-ws (graphql-transport-ws) on the same path the way graphql-yoga's
 * own example wires it, i.e. the way the gateway does minus its plugins,
 * auth and engine. Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { createSchema, createYoga } from 'graphql-yoga';
import { serveYoga } from './serve-yoga.js';

const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { ok: Boolean } type Mutation { ping(n: Int): Int }',
    resolvers: { Query: { ok: () => true }, Mutation: { ping: (_: unknown, { n }: { n: number | null }) => n } },
  }),
  logging: false,
  landingPage: false,
  graphiql: false,
});
await serveYoga(yoga);

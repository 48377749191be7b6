/**
 * The floor any GraphQL mutation pays: a bare graphql-yoga server with a
 * trivial schema (`mutation { ping(n: 1) }`) on node:http, also speaking
 * graphql-ws (graphql-transport-ws) on the same path the way graphql-yoga's
 * own example wires it, i.e. the way the gateway does minus its plugins,
 * auth and engine. Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';

const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Query { ok: Boolean } type Mutation { ping(n: Int): Int }',
    resolvers: { Query: { ok: () => true }, Mutation: { ping: (_: unknown, { n }: { n: number | null }) => n } },
  }),
  logging: false,
  landingPage: false,
  graphiql: false,
});
const server = createServer(yoga);
const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
type Enveloped = ReturnType<typeof yoga.getEnveloped>;
useServer(
  {
    execute: (args) => (args.rootValue as Enveloped).execute(args),
    subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
    onSubscribe: async (ctx, _id, params) => {
      const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
      const args: ExecutionArgs = {
        schema: enveloped.schema,
        operationName: params.operationName,
        document: enveloped.parse(params.query),
        variableValues: params.variables,
        contextValue: await enveloped.contextFactory(),
        rootValue: enveloped,
      };
      const errors = enveloped.validate(args.schema, args.document);
      return errors.length > 0 ? errors : args;
    },
  },
  wss,
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}` }));

process.once('SIGTERM', () => {
  for (const socket of wss.clients) socket.close(1001);
  wss.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

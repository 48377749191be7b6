/**
 * GraphQL without the gateway: a bare graphql-yoga server (no plugins, no
 * auth, no database) over a small schema with the shapes of the gateway's
 * `runs` query, whose one resolver returns a page captured from the gateway
 * (the JSON file BENCH_DATA_FILE: the `data` of a response). Every other
 * field uses the default resolver, so a request costs parse, validate,
 * execute and serialize of the same query and payload, and nothing else.
 * Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { createSchema, createYoga } from 'graphql-yoga';

let data: { runs: unknown } = { runs: null };
const load = (path: string) => {
  data = JSON.parse(readFileSync(path, 'utf8')) as { runs: unknown };
};
if (process.env.BENCH_DATA_FILE) load(process.env.BENCH_DATA_FILE);
createInterface({ input: process.stdin }).on('line', (line) => {
  load((JSON.parse(line) as { load: string }).load);
  console.log(JSON.stringify({ ok: true }));
});

const typeDefs = /* GraphQL */ `
  scalar DateTime
  enum RunState {
    PENDING
    RUNNING
    SUCCEEDED
    FAILED
    QUARANTINED
    CANCELED
  }
  enum StepState {
    RUNNING
    SUCCEEDED
    FAILED
    CANCELED
  }
  input RunFilter {
    projectId: String
    phaseId: String
    workstreamId: String
    states: [RunState!]
    createdAfter: DateTime
    createdBefore: DateTime
  }
  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }
  type RunCounters {
    stepAttempts: Int!
    patchesCreated: Int!
    patchesApplied: Int!
    errors: Int!
  }
  type StepAttempt {
    id: ID!
    sequence: Int!
    toolId: String!
    state: StepState!
    startedAt: DateTime!
    endedAt: DateTime
  }
  type StepAttemptEdge {
    cursor: String!
    node: StepAttempt!
  }
  type StepAttemptConnection {
    edges: [StepAttemptEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type Run {
    id: ID!
    projectId: String!
    phaseId: String!
    state: RunState!
    createdAt: DateTime!
    startedAt: DateTime
    endedAt: DateTime
    counters: RunCounters!
    steps(first: Int, after: String): StepAttemptConnection!
  }
  type RunEdge {
    cursor: String!
    node: Run!
  }
  type RunConnection {
    edges: [RunEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type Query {
    runs(first: Int, after: String, last: Int, before: String, filter: RunFilter): RunConnection!
  }
`;

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers: { Query: { runs: () => data.runs } } }),
  logging: false,
  landingPage: false,
  graphiql: false,
});
const server = createServer(yoga); // eslint-disable-line @typescript-eslint/no-misused-promises -- Yoga's documented node:http wiring: it answers its own errors
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}${yoga.graphqlEndpoint}` }));

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

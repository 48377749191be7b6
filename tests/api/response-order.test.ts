import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';

let server: TestServer;
let runId: string;
let eventId: string;
beforeAll(async () => {
  server = await startTestServer();
  runId = await createRun(server);
  const data = await server.ok(`query($runId: ID!) { runEvents(runId: $runId, first: 1) { edges { node { id } } } }`, { runId });
  eventId = data.runEvents.edges[0].node.id;
});
afterAll(() => server.stop());

/** Every object's keys, in order, all the way down (key order is what is under test: toEqual ignores it on objects, not on arrays). */
function keyOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(keyOrder);
  if (value === null || typeof value !== 'object') return null;
  return Object.entries(value).map(([key, child]) => [key, keyOrder(child)]);
}

// Asynchronous fields (totalCount, events, runSummary, node, counters) before and between synchronous ones, nested, aliased, in fragments.
const QUERY = `
  query Mixed($id: ID!, $ids: [ID!]!, $withState: Boolean = true) {
    summary: runSummary { activeRuns }
    node(id: $id) {
      ... on Run {
        events(first: 1) { totalCount edges { node { kind } cursor } }
        ...RunTail
      }
    }
    nodes(ids: $ids) {
      ... on Run { id cursor: projectId }
      ... on RunEvent { cursor id }
    }
    runs(first: 1) { totalCount edges { node { counters { errors } createdAt: id } } }
  }
  fragment RunTail on Run {
    state @include(if: $withState)
    projectId
    id
    c: counters { stepAttempts errors }
  }
`;

/** What QUERY returns, with every key in document order (the leaves' values do not matter here). */
const EXPECTED = {
  summary: { activeRuns: 0 },
  node: {
    events: { totalCount: 0, edges: [{ node: { kind: '' }, cursor: '' }] },
    state: '',
    projectId: '',
    id: '',
    c: { stepAttempts: 0, errors: 0 },
  },
  // The same two keys, in the order each type's fragment asks for them.
  nodes: [
    { id: '', cursor: '' },
    { cursor: '', id: '' },
  ],
  runs: { totalCount: 0, edges: [{ node: { counters: { errors: 0 }, createdAt: '' } }] },
};

describe('response keys in document order', () => {
  it('over HTTP: synchronous and asynchronous fields, nested, aliased, in fragments and per runtime type', async () => {
    const res = await server.gql(QUERY, { id: runId, ids: [runId, eventId] });
    expect(res.errors).toBeUndefined();
    expect(keyOrder(res.data)).toEqual(keyOrder(EXPECTED));
  });

  it('applies @skip/@include with variable defaults', async () => {
    const res = await server.gql(QUERY, { id: runId, ids: [runId, eventId], withState: false });
    expect(res.errors).toBeUndefined();
    const { state: _state, ...node } = EXPECTED.node;
    expect(keyOrder(res.data)).toEqual(keyOrder({ ...EXPECTED, node }));
  });

  it('over graphql-ws, for a query and for each subscription event', async () => {
    const client = server.wsClient();
    const query = subscribe(client, QUERY, { id: runId, ids: [runId, eventId] });
    await query.done;
    expect(keyOrder(query.results[0]!.data)).toEqual(keyOrder(EXPECTED));

    const id = await createRun(server);
    const open = server.engine.openStreams();
    const events = subscribe(client, `subscription($id: ID) { runEvents(runId: $id) { run { counters { errors } state events(first: 1) { totalCount } id } kind cursor } }`, { id });
    while (server.engine.openStreams() === open) await new Promise((r) => setTimeout(r, 5));
    await server.ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });
    await events.next(1);
    events.stop();
    const event = { run: { counters: { errors: 0 }, state: '', events: { totalCount: 0 }, id: '' }, kind: '', cursor: '' };
    expect(keyOrder(events.results[0]!.data)).toEqual(keyOrder({ runEvents: event }));
  });
});

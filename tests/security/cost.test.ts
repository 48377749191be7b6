import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient as createSseClient } from 'graphql-sse';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PersistedOperations } from '../../src/server/persisted-operations.js';
import { encodeGlobalId } from '../../src/schema/builder.js';
import { TASK_LINKS_CAP, WORKSTREAM_TASKS_CAP } from '../../src/schema/list-size.js';
import { ADMIN_SECRET, codes, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';
import { expectBystanderServed, underAttack } from './bystander.js';

/** The review's shape: three levels of events, each `first: $n`, through each event's run. */
const NESTED_EVENTS = `query($r: ID!, $n: Int) { runEvents(runId: $r, first: $n) { edges { node { run { events(first: $n) { edges { node { run { events(first: $n) { edges { node { kind } } } } } } } } } } } }`;
const THREE_ALIASES = `query($r: ID!, $n: Int) {
  a: runEvents(runId: $r, first: $n) { edges { node { run { events(first: $n) { edges { node { run { events(first: $n) { edges { node { kind } } } } } } } } } } }
  b: runEvents(runId: $r, first: $n) { edges { node { run { events(first: $n) { edges { node { run { events(first: $n) { edges { node { kind } } } } } } } } } } }
  c: runEvents(runId: $r, first: $n) { edges { node { run { events(first: $n) { edges { node { run { events(first: $n) { edges { node { kind } } } } } } } } } } } }`;
const DENSE_GRAPH = `query($id: ID!) { workstream(id: $id) { tasks { dependents { dependents { id } } } } }`;
const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;
/** A newcomer's dashboard page, refused at the default limit before the cost analysis counted lists. */
const DASHBOARD = `{ runs(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { node { id state createdAt
  steps(first: 20) { totalCount edges { node { id state toolId startedAt } } }
  events(first: 10) { edges { node { id kind ts } } } } } } }`;

/** A refusal answers fast: the whole round trip stays well under the bystander's bound. */
const REFUSAL_MS = 1000;

function expectCostRefusal(res: GraphQLResponse, field: string): void {
  expect(res.data ?? undefined).toBeUndefined();
  expect(codes(res)).toEqual(['QUERY_LIMIT_EXCEEDED']);
  const error = res.errors![0]!;
  expect(error.message).toContain('UET_MAX_COST');
  expect(error.message).toContain('25000');
  expect(error.extensions!.maxCost).toBe(25_000);
  expect(error.extensions!.cost).toBeGreaterThan(25_000);
  expect((error.extensions!.fields as { field: string }[])[0]?.field).toContain(field);
}

/** One operation over graphql-ws: its result, or `{ errors }` when refused with an `error` message. */
function wsOnce(client: Client, query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    let result: GraphQLResponse | null = null;
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = value as GraphQLResponse),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
        complete: () => resolve(result!),
      },
    );
  });
}

/** One operation over SSE (graphql-sse client, distinct connections). */
function sseOnce(server: TestServer, query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const client = createSseClient({ url: server.url, headers: { authorization: `Bearer ${ADMIN_SECRET}` }, retryAttempts: 0 });
  return new Promise<GraphQLResponse>((resolve, reject) => {
    let result: GraphQLResponse | null = null;
    client.subscribe({ query, variables }, { next: (value) => (result = value as GraphQLResponse), error: reject, complete: () => resolve(result!) });
  }).finally(() => client.dispose());
}

describe('cost analysis: lists are counted, whatever gives their size', () => {
  let server: TestServer;
  let runId: string;
  let workstreamId: string;

  beforeAll(async () => {
    server = await startTestServer();
    const run = await server.engine.runs.createRun({ projectId: 'cost', phaseId: 'p' });
    await server.engine.runs.startRun(run.id);
    // RUN_CREATED, RUN_STARTED and 108 notes: 110 events.
    for (let i = 0; i < 108; i++) await server.engine.runs.addRunNote({ runId: run.id, message: `note ${i}` });
    runId = encodeGlobalId('Run', run.id);
    // The densest graph: every task depends on every earlier one.
    const ids = Array.from({ length: 150 }, (_, i) => `t${i}`);
    const ws = await server.engine.workstreams.submit(
      workstreamSpec(
        ids.map((id, i) => taskSpec(id, ids.slice(0, i))),
        { id: 'dense' },
      ),
    );
    workstreamId = encodeGlobalId('Workstream', ws.id);
  }, 60_000);
  afterAll(() => server.stop());

  it('the run holds 110 events, and a page of 100 of them is answered', async () => {
    const res = await server.gql(`query($r: ID!, $n: Int) { runEvents(runId: $r, first: $n) { totalCount edges { node { kind } } } }`, { r: runId, n: 100 });
    expect(res.errors).toBeUndefined();
    expect(res.data.runEvents.totalCount).toBe(110);
    expect(res.data.runEvents.edges).toHaveLength(100);
  });

  it('nested events with first: $n = 100 over HTTP: QUERY_LIMIT_EXCEEDED naming the limit, the cost and the field; the bystander is served', async () => {
    const report = await underAttack(server, () => server.gql(NESTED_EVENTS, { r: runId, n: 100 }));
    expectCostRefusal(report.result, 'runEvents');
    expect(report.result.errors?.[0]?.extensions!.cost).toBe(1 + 100 * (1 + 1 + (1 + 1 + 100 * (1 + 1 + (1 + 1 + 100 * 3)))));
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: nested events via $n=100 (HTTP)', report);
    // The same shape with literals is refused the same way.
    expectCostRefusal(await server.gql(NESTED_EVENTS.replaceAll('$n', '100').replace(', 100: Int', ''), { r: runId }), 'runEvents');
  });

  it('a document without variables, sent again and again: refused every time over the limit, answered every time under it', async () => {
    const costly = NESTED_EVENTS.replace('query($r: ID!, $n: Int) ', '').replace('$r', JSON.stringify(runId)).replaceAll('$n', '100');
    for (let i = 0; i < 3; i++) expectCostRefusal(await server.gql(costly), 'runEvents');
    // The analysis of a document that passed is reused (cost.ts): the same answer.
    const cheap = costly.replaceAll('first: 100', 'first: 2');
    for (let i = 0; i < 3; i++) {
      const res = await server.gql(cheap);
      expect(res.errors).toBeUndefined();
      expect(res.data.runEvents.edges).toHaveLength(2);
    }
  });

  it('the same document with its size variable alternating: refused at 100, answered at 2, every time', async () => {
    for (let i = 0; i < 3; i++) {
      expectCostRefusal(await server.gql(NESTED_EVENTS, { r: runId, n: 100 }), 'runEvents');
      const res = await server.gql(NESTED_EVENTS, { r: runId, n: 2 });
      expect(res.errors).toBeUndefined();
      expect(res.data.runEvents.edges).toHaveLength(2);
    }
    // Left out after it passed: its default page (20) counts again.
    expectCostRefusal(await server.gql(NESTED_EVENTS, { r: runId }), 'runEvents');
  });

  it('a field skipped by a variable costs nothing only while it is skipped', async () => {
    const skippable = `query($r: ID!, $skip: Boolean!) { cheap: runEvents(runId: $r, first: 1) { totalCount } costly: runEvents(runId: $r, first: 100) @skip(if: $skip) { edges { node { run { events(first: 100) { edges { node { run { events(first: 100) { edges { node { kind } } } } } } } } } } } }`;
    for (let i = 0; i < 2; i++) {
      expect((await server.gql(skippable, { r: runId, skip: true })).errors).toBeUndefined();
      expectCostRefusal(await server.gql(skippable, { r: runId, skip: false }), 'runEvents');
    }
  });

  it('a variable left out counts its default page (20): nested events are still refused', async () => {
    expectCostRefusal(await server.gql(NESTED_EVENTS, { r: runId }), 'runEvents');
  });

  it('nested events with $n = 100 over graphql-ws: refused', async () => {
    const client = server.wsClient();
    const report = await underAttack(server, () => wsOnce(client, NESTED_EVENTS, { r: runId, n: 100 }));
    expectCostRefusal(report.result, 'runEvents');
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: nested events via $n=100 (graphql-ws)', report);
    await client.dispose();
  });

  it('nested events with $n = 100 over SSE: refused', async () => {
    const report = await underAttack(server, () => sseOnce(server, NESTED_EVENTS, { r: runId, n: 100 }));
    expectCostRefusal(report.result, 'runEvents');
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: nested events via $n=100 (SSE)', report);
  });

  it('three aliased copies: refused, the three named with their costs', async () => {
    const report = await underAttack(server, () => server.gql(THREE_ALIASES, { r: runId, n: 100 }));
    expectCostRefusal(report.result, 'runEvents');
    expect((report.result.errors?.[0]?.extensions!.fields as { field: string }[]).map((f) => f.field).sort()).toEqual(['a: runEvents', 'b: runEvents', 'c: runEvents']);
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: three aliased nested events via $n=100 (HTTP)', report);
  });

  it('the dense 150-task graph: tasks { dependents { dependents } } is refused; one level of links is answered, capped at 100 tasks and 50 links', async () => {
    const report = await underAttack(server, () => server.gql(DENSE_GRAPH, { id: workstreamId }));
    expectCostRefusal(report.result, 'workstream');
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: dense 150-task workstream, dependents of dependents (HTTP)', report);

    const started = performance.now();
    const res = await server.gql(`query($id: ID!) { workstream(id: $id) { tasks { specTaskId dependsOn { specTaskId } dependents { specTaskId } } } }`, { id: workstreamId });
    console.info(`[security] cost: dense workstream, one level of links: ${(performance.now() - started).toFixed(0)} ms, ${JSON.stringify(res).length} bytes`);
    expect(res.errors).toBeUndefined();
    const tasks = res.data.workstream.tasks as { specTaskId: string; dependsOn: { specTaskId: string }[]; dependents: unknown[] }[];
    // The first 100 of 150 tasks; t99 depends on 99 tasks and t0 has 149 dependents: each list stops at its cap.
    expect(tasks.map((t) => t.specTaskId)).toEqual(Array.from({ length: WORKSTREAM_TASKS_CAP }, (_, i) => `t${i}`));
    expect(tasks[99]?.dependsOn.map((t) => t.specTaskId)).toEqual(Array.from({ length: TASK_LINKS_CAP }, (_, i) => `t${i}`));
    expect(tasks[0]?.dependents).toHaveLength(TASK_LINKS_CAP);
    expect(tasks[1]?.dependsOn).toEqual([{ specTaskId: 't0' }]);
  });

  it('nodes(ids:) with 20,000 ids is BAD_USER_INPUT, fast; 100 ids are answered', async () => {
    const id = encodeGlobalId('Run', '01J00000000000000000000000');
    const report = await underAttack(server, () => server.gql(NODES, { ids: Array(20_000).fill(id) }));
    expect(report.result.data?.nodes ?? null).toBeNull();
    expect(codes(report.result)).toEqual(['BAD_USER_INPUT']);
    expect(report.result.errors?.[0]?.message).toContain('at most 100 ids');
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: nodes(ids:) with 20,000 ids (HTTP)', report);

    const hundred = await server.gql(NODES, { ids: [runId, ...Array(99).fill(id)] });
    expect(hundred.errors).toBeUndefined();
    expect(hundred.data.nodes).toHaveLength(100);
    expect(hundred.data.nodes[0]).toEqual({ id: runId });
  });

  it('fragments that spread the one below 25 times, 3 levels (25^3 fields to walk, in 200 tokens): refused, fast', async () => {
    const fragments = Array.from({ length: 4 }, (_, i) => (i === 0 ? 'fragment F0 on Query { viewer { tokenName } }' : `fragment F${i} on Query { ${`...F${i - 1} `.repeat(25)}}`));
    const report = await underAttack(server, () => server.gql(`query { ...F3 } ${fragments.join(' ')}`));
    expect(report.result.data ?? undefined).toBeUndefined();
    expect(codes(report.result)).toEqual(['QUERY_LIMIT_EXCEEDED']);
    expect(report.result.errors?.[0]?.message).toContain('more than 10000 fields');
    expect(report.attackMs).toBeLessThan(REFUSAL_MS);
    expectBystanderServed('cost: fragments spread 25 times per level, 3 levels (HTTP)', report);
  });

  it("a newcomer's dashboard page (runs 50, steps 20, events 10 each) passes at the default limit", async () => {
    const res = await server.gql(DASHBOARD);
    expect(res.errors).toBeUndefined();
    expect(res.data.runs.edges.length).toBeGreaterThan(0);
    expect(res.data.runs.edges[0].node.events.edges.length).toBeGreaterThan(0);
  });
});

describe('cost analysis in persisted-operations mode', () => {
  let server: TestServer;
  let dir: string;
  let runId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'uet-cost-persisted-'));
    const file = join(dir, 'operations.json');
    writeFileSync(file, JSON.stringify({ [PersistedOperations.idOf(NESTED_EVENTS)]: NESTED_EVENTS }));
    server = await startTestServer({ persistedOperationsFile: file });
    const run = await server.engine.runs.createRun({ projectId: 'cost', phaseId: 'p' });
    runId = encodeGlobalId('Run', run.id);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a listed operation with $n = 100 is refused; with $n = 2 it runs', async () => {
    const send = (n: number) =>
      fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_SECRET}` },
        body: JSON.stringify({ documentId: PersistedOperations.idOf(NESTED_EVENTS), variables: { r: runId, n } }),
      }).then((res) => res.json() as Promise<GraphQLResponse>);
    const report = await underAttack(server, () => send(100));
    expectCostRefusal(report.result, 'runEvents');
    expectBystanderServed('cost: persisted nested events via $n=100 (HTTP)', report);
    const small = await send(2);
    expect(small.errors).toBeUndefined();
    expect(small.data.runEvents.edges).toHaveLength(1);
  });
});

describe('cost analysis of subscriptions, shared ones included', () => {
  let server: TestServer;
  let runId: string;
  beforeAll(async () => {
    server = await startTestServer();
    const run = await server.engine.runs.createRun({ projectId: 'cost', phaseId: 'p' });
    runId = encodeGlobalId('Run', run.id);
  });
  afterAll(() => server.stop());

  const COSTLY = `subscription($r: ID, $n: Int) { runEvents(runId: $r) { run { events(first: $n) { edges { node { run { events(first: $n) { edges { node { kind } } } } } } } } } }`;

  it('an expensive live subscription is refused for every subscriber over graphql-ws, and over SSE', async () => {
    const [a, b] = [server.wsClient(), server.wsClient()];
    const results = await Promise.all([wsOnce(a, COSTLY, { r: runId, n: 100 }), wsOnce(b, COSTLY, { r: runId, n: 100 })]);
    for (const res of results) expectCostRefusal(res, 'runEvents');
    expectCostRefusal(await sseOnce(server, COSTLY, { r: runId, n: 100 }), 'runEvents');
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it('runEventBatches counts a full batch of events: a selection that runEvents may run is refused per batch', async () => {
    const selection = `run { events(first: 20) { edges { node { kind } } } }`;
    const client = server.wsClient();
    const batched = await wsOnce(client, `subscription($r: ID) { runEventBatches(runId: $r) { cursor events { ${selection} } } }`, { r: runId });
    expectCostRefusal(batched, 'runEventBatches');
    const open = server.engine.openStreams();
    const single = subscribe(client, `subscription($r: ID) { runEvents(runId: $r, follow: true) { ${selection} } }`, { r: runId });
    while (server.engine.openStreams() === open) await new Promise((r) => setTimeout(r, 5));
    await server.gql(`mutation($r: ID!) { addRunNote(input: {runId: $r, message: "m"}) { event { id } } }`, { r: runId });
    await single.next(1);
    expect(single.results[0]!.errors).toBeUndefined();
    single.stop();
    await client.dispose();
  });
});

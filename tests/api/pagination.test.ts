import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalId } from '../../src/schema/builder.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { codes, startTestServer, type TestServer } from '../helpers/server.js';

/** Reports as an operator would (on any run). */
const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

type State = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
interface Seeded {
  id: string;
  gid: string;
  projectId: string;
  phaseId: string;
  workstreamId: string | null;
  state: State;
  createdAt: string;
}
type Filter = Partial<Pick<Seeded, 'projectId' | 'phaseId' | 'workstreamId'>> & { states?: string[]; createdAfter?: string; createdBefore?: string };
type Ends = { newest: string; oldest: string };
interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}
interface Conn<N = any> {
  totalCount: number;
  pageInfo: PageInfo;
  edges: { cursor: string; node: N }[];
}

const PROJECTS = ['proj-a', 'proj-b', 'proj-c'];
const PHASES = ['plan', 'build'];
const WORKSTREAMS = [null, 'ws-1', 'ws-2', 'ws-1'];
const STATES: State[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'];
const BATCHES = 5;
const PER_BATCH = 50;
const CONN = (node: string) => `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { ${node} } }`;
const RUNS_QUERY = `query($filter: RunFilter, $first: Int, $after: String, $last: Int, $before: String) {
  runs(filter: $filter, first: $first, after: $after, last: $last, before: $before) { ${CONN('id createdAt')} } }`;

let server: TestServer;
const seeded: Seeded[] = [];
const bounds = { after: '', before: '' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gql(query: string, variables?: Record<string, unknown>) {
  const res = await server.gql(query, variables);
  expect(res.errors).toBeUndefined();
  return res.data;
}
const runsPage = async (variables: Record<string, unknown>): Promise<Conn> => (await gql(RUNS_QUERY, variables)).runs;

/** Creates run number `i` through the engine, drives it to its state and remembers it. */
async function seedRun(i: number, overrides: Partial<Pick<Seeded, 'projectId'>> = {}): Promise<Seeded> {
  const runs = server.engine.runs;
  const input = { projectId: PROJECTS[i % 3]!, phaseId: PHASES[i % 2]!, workstreamId: WORKSTREAMS[i % 4]!, ...overrides };
  const run = await runs.createRun(input);
  const state = STATES[i % STATES.length]!;
  if (state === 'CANCELED') await runs.cancelRun(run.id, 'seed');
  else if (state !== 'PENDING') await runs.startRun(run.id);
  if (state === 'SUCCEEDED' || state === 'FAILED') await runs.completeRun({ id: run.id, state: state === 'FAILED' ? 'failed' : 'succeeded' });
  const record = { ...input, id: run.id, gid: encodeGlobalId('Run', run.id), state, createdAt: run.createdAt.toISOString() };
  seeded.push(record);
  return record;
}

/** Global ids of the seeded runs that `filter` matches (RunFilter semantics, exclusive time bounds), newest first. */
function expectedIds(f: Filter): string[] {
  const match = (r: Seeded) =>
    (['projectId', 'phaseId', 'workstreamId'] as const).every((k) => f[k] == null || r[k] === f[k]) &&
    (f.states == null || f.states.includes(r.state)) &&
    (f.createdAfter == null || r.createdAt > f.createdAfter) &&
    (f.createdBefore == null || r.createdAt < f.createdBefore);
  return seeded
    .filter(match)
    .sort((a, b) => (a.id < b.id ? 1 : -1))
    .map((r) => r.gid);
}

/** Fetches pages until the walking direction says nothing more; pages in fetch order. */
async function walk(fetch: (cursor: string | null) => Promise<Conn>, backward = false, between?: () => Promise<unknown>): Promise<Conn[]> {
  const pages: Conn[] = [];
  for (let cursor: string | null = null; ;) {
    const page = await fetch(cursor);
    pages.push(page);
    if (!(backward ? page.pageInfo.hasPreviousPage : page.pageInfo.hasNextPage) || pages.length > 300) return pages;
    cursor = backward ? page.pageInfo.startCursor : page.pageInfo.endCursor;
    await between?.();
  }
}

/** Checks every page of a walk over `count` items (sizes, flags, cursors, totalCount); returns the nodes in list order. */
function checkWalk(pages: Conn[], o: { size: number; count: number; total?: (page: number) => number; backward?: boolean }): any[] {
  const last = pages.length - 1;
  expect(pages.length).toBe(Math.max(1, Math.ceil(o.count / o.size)));
  pages.forEach((page, i) => {
    expect(page.totalCount).toBe(o.total ? o.total(i) : o.count);
    expect(page.edges.length).toBe(i < last ? o.size : o.count - o.size * last);
    const [isFirst, isLast] = [i === 0, i === last];
    expect(page.pageInfo).toEqual({
      hasNextPage: o.backward ? !isFirst : !isLast,
      hasPreviousPage: o.backward ? !isLast : !isFirst,
      startCursor: page.edges[0]?.cursor ?? null,
      endCursor: page.edges.at(-1)?.cursor ?? null,
    });
    for (const edge of page.edges) if (edge.node.cursor !== undefined) expect(edge.node.cursor).toBe(edge.cursor);
  });
  return (o.backward ? [...pages].reverse() : pages).flatMap((p) => p.edges.map((e) => e.node));
}

beforeAll(async () => {
  server = await startTestServer();
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < PER_BATCH; i++) await seedRun(b * PER_BATCH + i);
    await sleep(5);
  }
  // createdAt as the API reports it; the batch boundaries become the time-range bounds.
  // nodes(ids:) takes at most 100 ids.
  for (let start = 0; start < seeded.length; start += 100) {
    const batch = seeded.slice(start, start + 100);
    const { nodes } = await gql(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Run { id createdAt } } }`, { ids: batch.map((r) => r.gid) });
    nodes.forEach((n: { id: string; createdAt: string }, i: number) => Object.assign(batch[i]!, { createdAt: n.createdAt }));
  }
  bounds.after = seeded[PER_BATCH - 1]!.createdAt; // last run of batch 1
  bounds.before = seeded[3 * PER_BATCH]!.createdAt; // first run of batch 4
});
afterAll(() => server.stop());

const FILTERS: { name: string; filter: () => Filter }[] = [
  { name: 'no filter', filter: () => ({}) },
  { name: 'projectId', filter: () => ({ projectId: 'proj-b' }) },
  { name: 'phaseId + states', filter: () => ({ phaseId: 'build', states: ['RUNNING', 'SUCCEEDED'] }) },
  { name: 'workstreamId', filter: () => ({ workstreamId: 'ws-1' }) },
  { name: 'states only', filter: () => ({ states: ['PENDING', 'CANCELED', 'FAILED'] }) },
  { name: 'createdAfter', filter: () => ({ createdAfter: bounds.after }) },
  { name: 'createdBefore', filter: () => ({ createdBefore: bounds.before }) },
  { name: 'createdAfter + createdBefore', filter: () => ({ createdAfter: bounds.after, createdBefore: bounds.before }) },
  { name: 'createdAfter + projectId + states', filter: () => ({ createdAfter: bounds.after, projectId: 'proj-c', states: ['FAILED', 'PENDING'] }) },
];
/** 7 leaves a partial last page; 25 divides 250 (the last page is exactly full); 100 is the maximum. */
const WALKS = [...FILTERS.flatMap((f) => [7, 100].map((size) => ({ ...f, size }))), { ...FILTERS[0]!, size: 25 }];

describe('runs: keyset pagination', () => {
  it.each(WALKS)('$name, pages of $size: forwards and backwards', async ({ filter, size }) => {
    const expected = expectedIds(filter());
    expect(expected.length).toBeGreaterThan(0);
    for (const backward of [false, true]) {
      const args = (cursor: string | null) => (backward ? { last: size, before: cursor } : { first: size, after: cursor });
      const pages = await walk((cursor) => runsPage({ filter: filter(), ...args(cursor) }), backward);
      const nodes = checkWalk(pages, { size, count: expected.length, backward });
      expect(nodes.map((n) => n.id)).toEqual(expected);
      const createdAt = nodes.map((n) => n.createdAt);
      expect(createdAt).toEqual([...createdAt].sort().reverse());
    }
  });

  it('the seeded batches are apart in time, so the bounds split them', () => {
    expect(expectedIds({ createdAfter: bounds.after })).toHaveLength(4 * PER_BATCH);
    expect(expectedIds({ createdBefore: bounds.before })).toHaveLength(3 * PER_BATCH);
  });

  it.each([
    { name: 'unknown projectId', filter: () => ({ projectId: 'nope' }) },
    { name: 'projectId + states with no match', filter: () => ({ projectId: 'proj-a', states: ['QUARANTINED'] }) },
    { name: 'createdAfter the newest run', filter: () => ({ createdAfter: seeded.at(-1)!.createdAt }) },
    { name: 'createdBefore the oldest run', filter: () => ({ createdBefore: seeded[0]!.createdAt }) },
    { name: 'empty time range', filter: () => ({ createdAfter: bounds.before, createdBefore: bounds.after }) },
  ])('empty result: $name', async ({ filter }) => {
    expect(expectedIds(filter())).toEqual([]);
    for (const args of [{ first: 7 }, { last: 7 }, {}]) {
      expect(await runsPage({ filter: filter(), ...args })).toEqual({
        totalCount: 0,
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    }
  });

  it.each([
    { name: 'first: 0', args: () => ({ first: 0 }), hasNextPage: true, hasPreviousPage: false },
    { name: 'first: 0 after the newest', args: (c: Ends) => ({ first: 0, after: c.newest }), hasNextPage: true, hasPreviousPage: true },
    { name: 'first: 0 after the oldest', args: (c: Ends) => ({ first: 0, after: c.oldest }), hasNextPage: false, hasPreviousPage: true },
    { name: 'first: 0, nothing matches', args: () => ({ first: 0, filter: { projectId: 'nope' } }), hasNextPage: false, hasPreviousPage: false },
    { name: 'last: 0', args: () => ({ last: 0 }), hasNextPage: false, hasPreviousPage: true },
    { name: 'last: 0 before the newest', args: (c: Ends) => ({ last: 0, before: c.newest }), hasNextPage: true, hasPreviousPage: false },
  ])('$name returns no edges and says what lies beyond', async ({ args, hasNextPage, hasPreviousPage }) => {
    const ends = { newest: (await runsPage({ first: 1 })).edges[0]!.cursor, oldest: (await runsPage({ last: 1 })).edges[0]!.cursor };
    const page = await runsPage(args(ends));
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage, hasPreviousPage, startCursor: null, endCursor: null });
  });

  it.each([
    { args: {}, edges: 20 },
    { args: { first: 100 }, edges: 100 },
    { args: { last: 100 }, edges: 100 },
    { args: { first: 101 }, error: 'first' },
    { args: { last: 101 }, error: 'last' },
    { args: { first: -1 }, error: 'first' },
    { args: { first: 5, last: 5 }, error: 'first' },
  ])('page size $args: default 20, at most 100', async ({ args, edges, error }) => {
    const res = await server.gql(RUNS_QUERY, args);
    if (error) expect(res.errors?.[0]).toMatchObject({ message: expect.stringMatching(new RegExp(`^${error}:`)), extensions: { code: 'BAD_USER_INPUT' } });
    else expect(res.data.runs.edges).toHaveLength(edges!);
  });

  // Last in this block: it adds runs, which later tests see through `seeded`.
  it('a forward walk yields each run once while newer matching runs are created between pages', async () => {
    const expected = expectedIds({ projectId: 'proj-a' });
    const created: Seeded[] = [];
    const pages = await walk(
      (cursor) => runsPage({ filter: { projectId: 'proj-a' }, first: 7, after: cursor }),
      false,
      async () => created.push(await seedRun(created.length, { projectId: 'proj-a' })),
    );
    const nodes = checkWalk(pages, { size: 7, count: expected.length, total: (i) => expected.length + i });
    expect(nodes.map((n) => n.id)).toEqual(expected);
    const head = await runsPage({ filter: { projectId: 'proj-a' }, first: created.length });
    expect(head.edges.map((e) => e.node.id)).toEqual(created.map((r) => r.gid).reverse());
  });
});

// Its runs are created when this block starts, after the `runs` block has checked its totals.
describe('nested and event-log connections', () => {
  const STEPS = 12;
  const ids = { a: '', b: '' };
  /** Run A's log in order, as `KIND#stepSequence`. */
  const logA: string[] = ['RUN_CREATED#0', 'RUN_STARTED#0'];

  beforeAll(async () => {
    const runs = server.engine.runs;
    for (const key of ['a', 'b'] as const) ids[key] = (await runs.createRun({ projectId: 'nested', phaseId: 'p' })).id;
    for (const id of Object.values(ids)) await runs.startRun(id);
    // Interleave the two runs so that run A's events are not contiguous in the log.
    for (let s = 1; s <= STEPS; s++) {
      for (const id of Object.values(ids)) {
        const step = await runs.startStep(operator, { runId: id, toolId: `tool-${s}` });
        await runs.completeStep(operator, { id: step.id, state: s % 4 === 0 ? 'failed' : 'succeeded' });
      }
      logA.push(`TOOL_CALL_STARTED#${s}`, `${s % 4 === 0 ? 'TOOL_CALL_ERROR' : 'TOOL_CALL_COMPLETED'}#${s}`);
    }
  });

  const EVENT_NODE = 'id cursor kind step { sequence }';
  const eventKey = (n: any) => `${n.kind}#${n.step?.sequence ?? 0}`;
  const onRun = (field: string, node: string) => `query($id: ID!, $first: Int, $after: String) { run(id: $id) { conn: ${field}(first: $first, after: $after) { ${CONN(node)} } } }`;
  const CONNECTIONS = {
    'Run.steps': { query: onRun('steps', 'id sequence'), pick: (d: any) => d.run.conn, key: (n: any) => String(n.sequence) },
    'Run.events': { query: onRun('events', EVENT_NODE), pick: (d: any) => d.run.conn, key: eventKey },
    runEvents: {
      query: `query($id: ID!, $first: Int, $after: String, $kinds: [RunEventKind!]) {
        conn: runEvents(runId: $id, first: $first, after: $after, kinds: $kinds) { ${CONN(EVENT_NODE)} } }`,
      pick: (d: any) => d.conn,
      key: eventKey,
    },
  };
  const allSteps = () => Array.from({ length: STEPS }, (_, i) => String(i + 1));
  const ofKinds =
    (...kinds: string[]) =>
    () =>
      logA.filter((k) => kinds.includes(k.split('#')[0]!));

  it.each([
    ...[1, 5, 6, 12, 100].map((size) => ({ conn: 'Run.steps' as const, size, kinds: undefined, expected: allSteps })),
    ...[4, 13, 26, 100].map((size) => ({ conn: 'Run.events' as const, size, kinds: undefined, expected: () => logA })),
    { conn: 'runEvents' as const, size: 7, kinds: undefined, expected: () => logA },
    { conn: 'runEvents' as const, size: 5, kinds: ['TOOL_CALL_STARTED'], expected: ofKinds('TOOL_CALL_STARTED') },
    { conn: 'runEvents' as const, size: 2, kinds: ['TOOL_CALL_ERROR', 'RUN_CREATED'], expected: ofKinds('TOOL_CALL_ERROR', 'RUN_CREATED') },
    { conn: 'runEvents' as const, size: 3, kinds: ['PATCH_CREATED'], expected: () => [] },
  ])('$conn pages of $size (kinds $kinds) walk the whole list once, in order', async ({ conn, size, kinds, expected }) => {
    const { query, pick, key } = CONNECTIONS[conn];
    const want = expected();
    const fetch = async (after: string | null) => pick(await gql(query, { id: encodeGlobalId('Run', ids.a), first: size, after, kinds }));
    const nodes = checkWalk(await walk(fetch), { size, count: want.length });
    expect(nodes.map(key)).toEqual(want);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(nodes.length);
  });

  // The console's log opens on the latest events and loads older ones as the user scrolls back.
  const BACKWARD_EVENTS = `query($id: ID!, $last: Int, $before: String, $kinds: [RunEventKind!]) {
    conn: runEvents(runId: $id, last: $last, before: $before, kinds: $kinds) { ${CONN(EVENT_NODE)} } }`;
  it.each([
    { size: 7, kinds: undefined, expected: () => logA },
    { size: 100, kinds: undefined, expected: () => logA },
    { size: 5, kinds: ['TOOL_CALL_STARTED'], expected: ofKinds('TOOL_CALL_STARTED') },
    { size: 3, kinds: ['PATCH_CREATED'], expected: () => [] },
  ])('runEvents pages of last: $size (kinds $kinds) walk the whole log backwards once, each page in log order', async ({ size, kinds, expected }) => {
    const want = expected();
    const fetch = async (before: string | null) => (await gql(BACKWARD_EVENTS, { id: encodeGlobalId('Run', ids.a), last: size, before, kinds })).conn;
    const nodes = checkWalk(await walk(fetch, true), { size, count: want.length, backward: true });
    expect(nodes.map(eventKey)).toEqual(want);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(nodes.length);
  });

  it('runEvents pages backwards from any cursor a forward page gave, and refuses last over 100 or mixed directions', async () => {
    const id = encodeGlobalId('Run', ids.a);
    const forward = (await gql(CONNECTIONS.runEvents.query, { id, first: 10 })).conn;
    const back = (await gql(BACKWARD_EVENTS, { id, last: 4, before: forward.pageInfo.endCursor })).conn;
    expect(back.edges.map((e: { node: unknown }) => eventKey(e.node))).toEqual(logA.slice(5, 9));
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const tooMany = await server.gql(BACKWARD_EVENTS, { id, last: 101 });
    expect(codes(tooMany)).toEqual(['BAD_USER_INPUT']);
    const mixed = await server.gql(`query($id: ID!) { runEvents(runId: $id, first: 2, last: 2) { totalCount } }`, { id });
    expect(codes(mixed)).toEqual(['BAD_USER_INPUT']);
  });

  it.each(['Run.steps', 'Run.events', 'runEvents'] as const)('%s with first: 0 has no edges but a next page', async (conn) => {
    const { query, pick } = CONNECTIONS[conn];
    const page = pick(await gql(query, { id: encodeGlobalId('Run', ids.a), first: 0 }));
    expect(page).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });
});

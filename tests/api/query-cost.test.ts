import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/engine/core/pagination.js';
import { eventCursor, STEP_CURSOR } from '../../src/engine/runs/run-queries.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Reports as an operator would (on any run). */
const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

const RUNS = 20;
const STEPS = 3;
/** Per run: RUN_CREATED, RUN_STARTED, STARTED + COMPLETED per step, one NOTE. */
const EVENTS = 2 + 2 * STEPS + 1;
/** The most SQL statements one query below may cost, whatever the page size (measured: 6 for each). */
const MAX_STATEMENTS = 6;

let server: TestServer;

beforeAll(async () => {
  // No reaper passes or revocation polls while statements are being counted.
  server = await startTestServer({ jobs: { reaperIntervalMs: 0, revocationPollMs: 0 } });
  const runs = server.engine.runs;
  for (let r = 0; r < RUNS; r++) {
    const run = await runs.createRun({ projectId: 'cost', phaseId: 'p' });
    await runs.startRun(run.id);
    for (let s = 1; s <= STEPS; s++) {
      const step = await runs.startStep(operator, { runId: run.id, toolId: `tool-${s}` });
      await runs.completeStep(operator, { id: step.id, state: 'succeeded' });
    }
    await runs.addRunNote({ runId: run.id, message: 'hello' });
  }
});
afterAll(() => server.stop());

/** Answers one HTTP query and counts the SQL statements the server issued meanwhile. */
async function costOf(query: string, variables: Record<string, unknown>) {
  const knex = server.engine.orm.em.getKnex();
  const statements: string[] = [];
  const listener = (q: { sql: string }) => statements.push(q.sql);
  knex.on('query', listener);
  try {
    const res = await server.gql(query, variables);
    expect(res.errors).toBeUndefined();
    return { data: res.data, statements };
  } finally {
    knex.off('query', listener);
  }
}

const nested = (stepsArgs: string, eventsArgs: string) => `query($n: Int!${(stepsArgs + eventsArgs).includes('$after') ? ', $after: String' : ''}) {
  runs(first: $n) { totalCount edges { node { id state
    steps(${stepsArgs}) { totalCount edges { node { sequence run { id } } } }
    events(${eventsArgs}) { totalCount edges { node { kind step { id } run { id } } } } } } } }`;

const QUERIES = [
  { name: 'first pages of steps and events', query: nested('first: 10', 'first: 5'), steps: STEPS, events: 5 },
  { name: 'steps after a cursor', query: nested('first: 10, after: $after', 'first: 5'), after: encodeCursor(STEP_CURSOR, 1), steps: STEPS - 1, events: 5 },
  // Position 1 is the oldest run's first event: every run still has 5 or more events after it.
  { name: 'events after a cursor', query: nested('first: 10', 'first: 5, after: $after'), after: eventCursor({ position: 1 }), steps: STEPS, events: 5 },
];

describe('query cost: no N+1 over the runs page', () => {
  it.each(QUERIES)('$name: a small constant number of statements for 1, 5 and 20 runs', async ({ name, query, after, steps, events }) => {
    const counts: Record<number, number> = {};
    // The SQL of the largest page, shown only when an assertion fails (CI logs stay quiet).
    let sql = '';
    for (const n of [1, 5, RUNS]) {
      const { data, statements } = await costOf(query, { n, after });
      counts[n] = statements.length;
      sql = `${name}, ${n} runs:\n  ${statements.map((text) => text.slice(0, 120)).join('\n  ')}`;
      // The answer is complete, so a cheap count is not a cheap failure.
      expect(data.runs.totalCount).toBe(RUNS);
      expect(data.runs.edges).toHaveLength(n);
      for (const { node } of data.runs.edges) {
        expect(node.steps.totalCount).toBe(STEPS);
        expect(node.steps.edges).toHaveLength(steps);
        expect(node.events.totalCount).toBe(EVENTS);
        expect(node.events.edges).toHaveLength(events);
        for (const { node: child } of [...node.steps.edges, ...node.events.edges]) expect(child.run.id).toBe(node.id);
      }
    }
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts, `statements must not grow with the page size; ${sql}`).toEqual({ 1: counts[1], 5: counts[1], [RUNS]: counts[1] });
    expect(counts[RUNS], sql).toBeLessThanOrEqual(MAX_STATEMENTS);
  });
});

describe('query cost: workers and tasks', () => {
  it('a page of workers with their current tasks, and of tasks with their workers and runs, costs the same for 1 and 20', async () => {
    const admin = { tokenId: null, tokenName: 'cost', anyWorker: true };
    const run = await server.engine.runs.createRun({ projectId: 'cost', phaseId: 'workers' });
    for (let i = 0; i < RUNS; i++) {
      const worker = await server.engine.workers.register(admin, { type: 'executor', metadata: { i } });
      const task = await server.engine.tasks.create({ kind: 'cost', runId: run.id });
      await server.engine.tasks.assign(admin, { workerId: worker.id, taskId: task.id });
      await server.engine.workers.heartbeat(admin, { workerId: worker.id, progress: i });
    }
    // Written now, so that the once-a-second flush cannot land inside a measured query.
    await server.engine.liveWorkers.flush();
    const query = `query($n: Int!) {
      workers(first: $n) { totalCount edges { node { id state stale lastHeartbeat progress currentTask { id kind run { id } worker { id } } } } }
      tasks(first: $n, filter: {kinds: ["cost"]}) { totalCount edges { node { id state run { id projectId } worker { id currentTask { id } } } } } }`;
    const counts: Record<number, number> = {};
    for (const n of [1, RUNS]) {
      const { data, statements } = await costOf(query, { n });
      counts[n] = statements.length;
      expect(data.workers.edges).toHaveLength(n);
      expect(data.tasks.edges).toHaveLength(n);
      for (const { node } of data.workers.edges) expect(node.currentTask.worker.id).toBe(node.id);
      for (const { node } of data.tasks.edges) expect(node.worker.currentTask.id).toBe(node.id);
    }
    expect(counts, 'statements by page size').toEqual({ 1: counts[1], [RUNS]: counts[1] });
  });
});

describe('query cost: workstream tasks and their graph', () => {
  it('a workstream with its tasks, their dependencies and dependents costs the same for 4 and 20 tasks', async () => {
    const { taskSpec, workstreamSpec } = await import('../helpers/specs.js');
    const counts: Record<number, number> = {};
    for (const size of [4, 20]) {
      const tasks = Array.from({ length: size }, (_, i) => taskSpec(`t${i}`, i < 2 ? [] : [`t${i - 2}`, `t${i - 1}`]));
      const ws = await server.engine.workstreams.submit(workstreamSpec(tasks, { id: `cost-${size}` }));
      const { encodeGlobalId } = await import('../../src/schema/builder.js');
      const { data, statements } = await costOf(
        `query($id: ID!) { workstream(id: $id) { tasks { specTaskId ready dependsOn { specTaskId } blockedBy { specTaskId } dependents { specTaskId } workstream { name } } } }`,
        { id: encodeGlobalId('Workstream', ws.id) },
      );
      expect(data.workstream.tasks).toHaveLength(size);
      expect(data.workstream.tasks[size - 1].dependsOn.map((t: any) => t.specTaskId)).toEqual([`t${size - 3}`, `t${size - 2}`]);
      counts[size] = statements.length;
    }
    expect(counts, 'statements by workstream size').toEqual({ 4: counts[4], 20: counts[4] });
  });
});

describe('query cost: the runs page loads its steps with its runs', () => {
  const page = (steps: string, extra = '') => `query${steps.includes('$skip') ? '($skip: Boolean!)' : ''} { runs(first: 20, filter: { phaseId: "p" }) { ${extra} edges { node { id ${steps} } } } }`;

  it('one statement for the runs, one per steps window (aliases, fragments), none for skipped steps', async () => {
    const cases = [
      { name: 'no steps', query: page(''), statements: 1 },
      { name: 'steps(first: 5)', query: page('steps(first: 5) { edges { node { id } } }'), statements: 2 },
      { name: 'and totalCount', query: page('steps(first: 5) { edges { node { id } } }', 'totalCount'), statements: 3 },
      { name: 'two windows', query: page('a: steps(first: 1) { edges { node { id } } } b: steps(first: 2) { edges { node { id } } }'), statements: 3 },
      { name: 'the same window twice', query: page('a: steps(first: 2) { edges { node { id } } } ...S') + ' fragment S on Run { b: steps(first: 2) { edges { node { id } } } }', statements: 2 },
      { name: 'skipped', query: page('steps(first: 5) @skip(if: $skip) { edges { node { id } } }'), variables: { skip: true }, statements: 1 },
    ];
    for (const { name, query, variables, statements } of cases) {
      const { data, statements: sql } = await costOf(query, variables ?? {});
      expect(sql, `${name}:\n  ${sql.join('\n  ')}`).toHaveLength(statements);
      expect(data.runs.edges).toHaveLength(RUNS);
    }
  });

  it('answers each window as the loader does', async () => {
    const query = `{ runs(first: 20, filter: { phaseId: "p" }) { edges { node { id a: steps(first: 1) { pageInfo { hasNextPage } edges { node { sequence } } }
      b: steps(first: 2) { totalCount edges { node { sequence } } } } } } }`;
    const { data } = await costOf(query, {});
    for (const { node } of data.runs.edges) {
      expect(node.a).toEqual({ pageInfo: { hasNextPage: true }, edges: [{ node: { sequence: 1 } }] });
      expect(node.b).toEqual({ totalCount: STEPS, edges: [{ node: { sequence: 1 } }, { node: { sequence: 2 } }] });
      // The same answer as a run read alone (through the loader).
      const alone = await server.gql(`query($id: ID!) { run(id: $id) { b: steps(first: 2) { totalCount edges { node { sequence } } } } }`, { id: node.id });
      expect(alone.data.run.b).toEqual(node.b);
    }
  });
});

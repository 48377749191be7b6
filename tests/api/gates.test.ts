import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { TestGateSchema, type TestGate } from '../../src/engine/gates/entities.js';
import { judge } from '../../src/engine/gates/criteria.js';
import { gateMachine } from '../../src/engine/gates/machines.js';
import { codes, createRun, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

let server: TestServer;
const clock = new ManualClock('2026-11-25T10:00:00.000Z');
beforeAll(async () => {
  // Gate timeouts run when the tests call them.
  server = await startTestServer({ clock, jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

const GATE_FIELDS = `id name type state errorMessage criteria { minCoverage maxFailures requiredTests timeoutSeconds }
  execution { startedAt completedAt durationSeconds command exitCode }
  results { totalTests failedTests coveragePercent failures { test message } testNames }
  decision { passed reason criteriaMet { coverage failures requiredTests } }`;

async function createGate(criteria: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<any> {
  const data = await ok(`mutation($input: CreateTestGateInput!) { createTestGate(input: $input) { gate { ${GATE_FIELDS} } } }`, {
    input: { name: 'unit', type: 'UNIT_TESTS', projectId: 'gates', criteria, ...extra },
  });
  return data.createTestGate.gate;
}

const start = (id: string) => server.gql(`mutation($id: ID!) { startTestGate(input: {id: $id, command: "npm test"}) { gate { ${GATE_FIELDS} } } }`, { id });
const complete = (id: string, exitCode: number, results?: Record<string, unknown>) =>
  server.gql(`mutation($id: ID!, $code: Int!, $results: TestGateResultsInput) { completeTestGate(input: {id: $id, exitCode: $code, results: $results}) { gate { ${GATE_FIELDS} } } }`, {
    id,
    code: exitCode,
    results,
  });
const skip = (id: string) => server.gql(`mutation($id: ID!) { skipTestGate(input: {id: $id, reason: "flaky infra"}) { gate { ${GATE_FIELDS} } } }`, { id });

const GREEN = { totalTests: 3, passedTests: 3, failedTests: 0, skippedTests: 0, coveragePercent: 90, testNames: ['a', 'b', 'c'] };
const RED = { totalTests: 3, passedTests: 2, failedTests: 1, skippedTests: 0, failures: [{ test: 'c', message: 'expected 1' }], testNames: ['a', 'b', 'c'] };

type State = 'PENDING' | 'RUNNING' | 'PASSED' | 'FAILED' | 'ERROR' | 'SKIPPED';
const STATES: State[] = ['PENDING', 'RUNNING', 'PASSED', 'FAILED', 'ERROR', 'SKIPPED'];

/** A gate with maxFailures 0, driven to `state`. */
async function gateIn(state: State): Promise<string> {
  const { id } = await createGate({ maxFailures: 0 });
  if (state === 'SKIPPED') await skip(id);
  if (state === 'PENDING' || state === 'SKIPPED') return id;
  await start(id);
  if (state === 'PASSED') await complete(id, 0, GREEN);
  if (state === 'FAILED') await complete(id, 0, RED);
  if (state === 'ERROR') await complete(id, 2);
  return id;
}

const MOVES: { name: string; to: State; from: State[]; call: (id: string) => Promise<GraphQLResponse> }[] = [
  { name: 'start', to: 'RUNNING', from: ['PENDING'], call: start },
  { name: 'complete (criteria met)', to: 'PASSED', from: ['RUNNING'], call: (id) => complete(id, 0, GREEN) },
  { name: 'complete (criteria not met)', to: 'FAILED', from: ['RUNNING'], call: (id) => complete(id, 0, RED) },
  { name: 'complete (non-zero exit)', to: 'ERROR', from: ['RUNNING'], call: (id) => complete(id, 1) },
  { name: 'skip', to: 'SKIPPED', from: ['PENDING', 'RUNNING'], call: skip },
];

describe('the gate state machine (docs/domain.md#test-gates)', () => {
  it('the mutations together allow exactly the transitions of the table', () => {
    const allowed = new Set(MOVES.flatMap((m) => m.from.map((from) => `${from}->${m.to}`)));
    const table = STATES.flatMap((from) => STATES.filter((to) => gateMachine.allows(from.toLowerCase() as never, to.toLowerCase() as never)).map((to) => `${from}->${to}`));
    expect(allowed).toEqual(new Set(table));
  });

  // Every move from every state is tested on the engine (tests/engine/gates.test.ts); over GraphQL, one allowed and one refused per mutation.
  const cases = MOVES.flatMap((move) => [[move.name, move.from[0]!, true] as const, [move.name, STATES.find((s) => !move.from.includes(s))!, false] as const]);
  it.each(cases)('%s from %s (allowed: %s)', async (name, from, allowed) => {
    const move = MOVES.find((m) => m.name === name)!;
    const id = await gateIn(from);
    const row = () => server.engine.orm.em.fork().findOneOrFail(TestGateSchema, { id: Buffer.from(id, 'base64url').toString().split(':')[1] });
    const before = JSON.stringify(await row());
    const res = await move.call(id);
    if (allowed) {
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      expect((Object.values(res.data!)[0] as any).gate.state).toBe(move.to);
    } else {
      expect(codes(res)).toEqual(['INVALID_TRANSITION']);
      expect(res.errors?.[0]?.extensions?.currentState).toBe(from);
      expect(JSON.stringify(await row())).toBe(before);
    }
  });

  it('records the execution, the error of a non-zero exit, and a skip as a decision that did not pass', async () => {
    const { id } = await createGate();
    await start(id);
    clock.advance(2_500);
    const errored = (await complete(id, 3)).data!.completeTestGate.gate;
    expect(errored).toMatchObject({ state: 'ERROR', decision: null, errorMessage: 'the command exited with code 3' });
    expect(errored.execution).toMatchObject({ command: 'npm test', exitCode: 3, durationSeconds: 2.5 });
    const skipped = (await skip(await gateIn('PENDING'))).data!.skipTestGate.gate;
    expect(skipped.decision).toEqual({ passed: false, reason: 'skipped: flaky infra', criteriaMet: { coverage: null, failures: null, requiredTests: null } });
  });
});

describe('criteria (docs/domain.md#test-gates)', () => {
  const results = (over: Partial<Parameters<typeof judge>[1]> = {}) => ({
    total_tests: 10,
    passed_tests: 10,
    failed_tests: 0,
    skipped_tests: 0,
    failures: [],
    test_names: ['login', 'logout'],
    ...over,
  });
  const TABLE: [string, Parameters<typeof judge>[0], ReturnType<typeof results>, boolean, Record<string, boolean>, string][] = [
    ['no criteria', { required_tests: [] }, results({ failed_tests: 5 }), true, {}, 'no criteria set'],
    ['coverage met', { min_coverage: 80, required_tests: [] }, results({ coverage_percent: 80 }), true, { coverage: true }, 'all 1 criteria met'],
    ['coverage below', { min_coverage: 80, required_tests: [] }, results({ coverage_percent: 79.9 }), false, { coverage: false }, 'coverage: 79.9% is below 80%'],
    ['coverage missing', { min_coverage: 80, required_tests: [] }, results(), false, { coverage: false }, 'coverage: no coverage reported (at least 80% required)'],
    ['failures at the limit', { max_failures: 2, required_tests: [] }, results({ failed_tests: 2 }), true, { failures: true }, 'all 1 criteria met'],
    ['failures over the limit', { max_failures: 2, required_tests: [] }, results({ failed_tests: 3 }), false, { failures: false }, 'failures: 3 failed tests, at most 2 allowed'],
    [
      'failures over the limit name the first five failing tests',
      { max_failures: 0, required_tests: [] },
      results({ failed_tests: 7, failures: ['a > 1', 'a > 2', 'a > 2', 'b > 3', 'b > 4', 'c > 5', 'c > 6'].map((test) => ({ test, message: 'm' })) }),
      false,
      { failures: false },
      'failures: 7 failed tests (a > 1, a > 2, b > 3, b > 4, c > 5 and 2 more), at most 0 allowed',
    ],
    [
      'a failing test name is cut in the reason',
      { max_failures: 0, required_tests: [] },
      results({ failed_tests: 1, failures: [{ test: 'x'.repeat(300), message: 'm' }] }),
      false,
      { failures: false },
      `failures: 1 failed test (${'x'.repeat(200)}…), at most 0 allowed`,
    ],
    ['required tests ran and passed', { required_tests: ['login'] }, results(), true, { required_tests: true }, 'all 1 criteria met'],
    ['a required test absent', { required_tests: ['login', 'signup'] }, results(), false, { required_tests: false }, 'required_tests: did not run: signup'],
    ['no test names reported', { required_tests: ['login'] }, results({ test_names: undefined }), false, { required_tests: false }, 'required_tests: did not run: login'],
    [
      'a required test failed',
      { required_tests: ['login'] },
      results({ failed_tests: 1, failures: [{ test: 'login', message: 'boom' }] }),
      false,
      { required_tests: false },
      'required_tests: failed: login',
    ],
    [
      'two criteria fail, one holds',
      { min_coverage: 90, max_failures: 0, required_tests: ['login'] },
      results({ coverage_percent: 50, failed_tests: 1, failures: [{ test: 'x', message: 'm' }] }),
      false,
      { coverage: false, failures: false, required_tests: true },
      'coverage: 50% is below 90%; failures: 1 failed test (x), at most 0 allowed',
    ],
  ];
  it.each(TABLE)('%s', (_name, criteria, res, passed, met, reason) => {
    expect(judge(criteria, res)).toEqual({ passed, reason, criteria_met: met });
  });

  it('over GraphQL: the decision names the criteria and their outcome', async () => {
    const { id } = await createGate({ minCoverage: 85, requiredTests: ['a', 'z'] });
    await start(id);
    const gate = (await complete(id, 0, GREEN)).data!.completeTestGate.gate;
    expect(gate.state).toBe('FAILED');
    expect(gate.decision).toEqual({ passed: false, reason: 'required_tests: did not run: z', criteriaMet: { coverage: true, failures: null, requiredTests: false } });
  });

  it('refuses impossible results and criteria as BAD_USER_INPUT', async () => {
    expect(codes(await server.gql(`mutation { createTestGate(input: {name: "x", type: LINT, criteria: {minCoverage: 120}}) { gate { id } } }`))).toEqual(['BAD_USER_INPUT']);
    const { id } = await createGate();
    await start(id);
    const res = await complete(id, 0, { totalTests: 1, passedTests: 2, failedTests: 0, skippedTests: 0 });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('gate timeouts', () => {
  it('a running gate past its timeout ends in error, and subscribers hear of it', async () => {
    const runId = await createRun(server, { projectId: 'gates' });
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($r: ID) { gateOutcomes(runId: $r, types: [E2E_TESTS]) { name state errorMessage } }`, { r: runId });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    const other = await createGate({}, { runId, type: 'LINT', name: 'lint' });
    await skip(other.id);
    const { id } = await createGate({ timeoutSeconds: 30 }, { runId, type: 'E2E_TESTS', name: 'e2e' });
    await start(id);
    clock.advance(30_000);
    expect(await server.engine.gates.expireOverdue()).toEqual([]);
    clock.advance(1);
    const ended = await server.engine.gates.expireOverdue();
    expect(ended).toHaveLength(1);
    await sub.next(1);
    expect(sub.results.map((r) => r.data!.gateOutcomes)).toEqual([{ name: 'e2e', state: 'ERROR', errorMessage: 'timed out after 30 s (timeout 30 s)' }]);
    const events = await ok(`query($r: ID!) { runEvents(runId: $r) { edges { node { kind } } } run(id: $r) { counters { errors } } }`, { r: runId });
    expect(events.runEvents.edges.map((e: any) => e.node.kind)).toEqual(['RUN_CREATED', 'GATE_CREATED', 'GATE_SKIPPED', 'GATE_CREATED', 'GATE_STARTED', 'GATE_ERRORED']);
    expect(events.run.counters.errors).toBe(1);
    expect(await server.engine.gates.expireOverdue()).toEqual([]);
    sub.stop();
    await client.dispose();
  });
});

describe('completing and skipping: what a gate keeps', () => {
  const row = (id: string) => server.engine.orm.em.fork().findOneOrFail(TestGateSchema, { id: Buffer.from(id, 'base64url').toString().split(':')[1] });
  /** The stored gate as a test_gate document. */
  const documentOf = (gate: TestGate) => ({
    gate_id: gate.id,
    name: gate.name,
    gate_type: gate.type,
    state: gate.state,
    ...(gate.projectId ? { project_id: gate.projectId } : {}),
    ...(gate.runId ? { run_id: gate.runId } : {}),
    criteria: gate.criteria,
    ...(gate.execution ? { execution: gate.execution } : {}),
    ...(gate.results ? { results: gate.results } : {}),
    ...(gate.decision ? { decision: gate.decision } : {}),
    created_at: gate.createdAt.toISOString(),
    updated_at: gate.updatedAt.toISOString(),
    metadata: gate.metadata,
  });
  const expectContract = async (id: string) => {
    const check = server.engine.contracts.validate('test_gate', documentOf(await row(id)));
    expect(check.errors).toEqual([]);
    expect(check.valid).toBe(true);
  };

  it.each([
    ['no criteria', {}, 'PASSED', 'no criteria set'],
    ['maxFailures 0', { maxFailures: 0 }, 'PASSED', 'all 1 criteria met'],
    ['minCoverage 80', { minCoverage: 80 }, 'FAILED', 'coverage: no coverage reported (at least 80% required)'],
    ['a required test', { requiredTests: ['login'] }, 'FAILED', 'required_tests: did not run: login'],
  ])('exit code 0 without results (%s): judged on and stores zero results, valid against test_gate', async (_name, criteria, state, reason) => {
    const { id } = await createGate(criteria);
    await start(id);
    const gate = (await complete(id, 0)).data!.completeTestGate.gate;
    expect(gate).toMatchObject({ state, decision: { reason } });
    expect(gate.results).toMatchObject({ totalTests: 0, failedTests: 0, coveragePercent: null, failures: [] });
    await expectContract(id);
  });

  it('a completion reported after deadlineAt times the gate out (ERROR, as the job would), even before the job runs', async () => {
    const runId = await createRun(server, { projectId: 'gates' });
    const { id } = await createGate({ timeoutSeconds: 10 }, { runId, name: 'late' });
    await start(id);
    clock.advance(10_001);
    const gate = (await complete(id, 0, GREEN)).data!.completeTestGate.gate;
    expect(gate).toMatchObject({ state: 'ERROR', decision: null, results: null, errorMessage: 'timed out after 10 s (timeout 10 s)' });
    expect(gate.execution).toMatchObject({ exitCode: null, durationSeconds: 10.001 });
    expect(await server.engine.gates.expireOverdue()).not.toContain((await row(id)).id);
    const events = await ok(`query($r: ID!) { runEvents(runId: $r) { edges { node { kind payload } } } }`, { r: runId });
    expect(events.runEvents.edges.map((e: any) => e.node.kind)).toEqual(['RUN_CREATED', 'GATE_CREATED', 'GATE_STARTED', 'GATE_ERRORED']);
    expect(events.runEvents.edges.at(-1).node.payload).toMatchObject({ from: 'running', to: 'error', error: 'timed out after 10 s (timeout 10 s)' });
    await expectContract(id);

    // At the deadline itself it is not late yet (the job's bound too): the criteria are judged.
    const onTime = await createGate({ timeoutSeconds: 10, maxFailures: 0 }, { name: 'on time' });
    await start(onTime.id);
    clock.advance(10_000);
    expect((await complete(onTime.id, 0, GREEN)).data!.completeTestGate.gate.state).toBe('PASSED');
  });

  it('skipping a running gate ends its execution', async () => {
    const { id } = await createGate({ timeoutSeconds: 60 });
    await start(id);
    clock.advance(4_000);
    const gate = (await skip(id)).data!.skipTestGate.gate;
    expect(gate.state).toBe('SKIPPED');
    expect(gate.execution).toMatchObject({ command: 'npm test', exitCode: null, durationSeconds: 4 });
    expect(gate.execution.completedAt).toBe(new Date(Date.parse(gate.execution.startedAt) + 4_000).toISOString());
    expect((await row(id)).deadlineAt).toBeNull();
    await expectContract(id);
  });
});

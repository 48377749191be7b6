import { describe, expect, it } from 'vitest';
import { engineForFile, operator, refused, runLog, runningRun, type TestEngine } from '../helpers/domain.js';

// Test gates (docs/domain.md#test-gates) through the engine: the rules, without HTTP.
const engine = engineForFile('2026-11-25T10:00:00.000Z');

type Gates = TestEngine['gates'];
type Criteria = NonNullable<Parameters<Gates['create']>[0]['criteria']>;
type Results = NonNullable<Parameters<Gates['complete']>[1]['results']>;
type State = 'pending' | 'running' | 'passed' | 'failed' | 'error' | 'skipped';
const STATES: State[] = ['pending', 'running', 'passed', 'failed', 'error', 'skipped'];

const GREEN: Results = { totalTests: 3, passedTests: 3, failedTests: 0, skippedTests: 0, coveragePercent: 90, testNames: ['a', 'b', 'c'] };
const RED: Results = { totalTests: 3, passedTests: 2, failedTests: 1, skippedTests: 0, failures: [{ test: 'c', message: 'expected 1' }], testNames: ['a', 'b', 'c'] };

async function createGate(runId: string, criteria: Criteria = {}) {
  return engine().gates.create({ name: 'unit', type: 'unit_tests', runId, criteria });
}

const stored = async (id: string) => JSON.stringify(await engine().gateQueries.gatesByIds([id]));

/** A gate of a new run, with maxFailures 0, driven to `state`. */
async function gateIn(state: State): Promise<{ id: string; runId: string }> {
  const runId = await runningRun(engine(), 'gates');
  const { id } = await createGate(runId, { maxFailures: 0 });
  const gates = engine().gates;
  if (state === 'skipped') await gates.skip(id, 'flaky infra');
  if (state !== 'pending' && state !== 'skipped') {
    await gates.start(operator, id, 'npm test');
    if (state === 'passed') await gates.complete(operator, { id, exitCode: 0, results: GREEN });
    if (state === 'failed') await gates.complete(operator, { id, exitCode: 0, results: RED });
    if (state === 'error') await gates.complete(operator, { id, exitCode: 2 });
  }
  return { id, runId };
}

/** Each call that moves a gate, where it moves it, the run event it records, and from where it may. */
const MOVES: { name: string; to: State; event: string; from: State[]; call: (id: string) => Promise<unknown> }[] = [
  { name: 'start', to: 'running', event: 'gate_started', from: ['pending'], call: (id) => engine().gates.start(operator, id, 'npm test') },
  { name: 'complete (criteria met)', to: 'passed', event: 'gate_passed', from: ['running'], call: (id) => engine().gates.complete(operator, { id, exitCode: 0, results: GREEN }) },
  { name: 'complete (criteria not met)', to: 'failed', event: 'gate_failed', from: ['running'], call: (id) => engine().gates.complete(operator, { id, exitCode: 0, results: RED }) },
  { name: 'complete (non-zero exit)', to: 'error', event: 'gate_errored', from: ['running'], call: (id) => engine().gates.complete(operator, { id, exitCode: 1 }) },
  { name: 'skip', to: 'skipped', event: 'gate_skipped', from: ['pending', 'running'], call: (id) => engine().gates.skip(id, 'not needed') },
];

describe('the gate state machine', () => {
  const cases = MOVES.flatMap((move) => STATES.map((from) => [move.name, from, move.from.includes(from)] as const));
  it.each(cases)('%s from %s (allowed: %s): the state and its run event in one write, or nothing', async (name, from, allowed) => {
    const move = MOVES.find((m) => m.name === name)!;
    const { id, runId } = await gateIn(from);
    const before = { gate: await stored(id), log: await runLog(engine(), runId) };
    if (allowed) {
      await move.call(id);
      const [gate] = await engine().gateQueries.gatesByIds([id]);
      expect(gate!.state).toBe(move.to);
      const log = await runLog(engine(), runId);
      expect(log.slice(before.log.length)).toEqual([{ kind: move.event, payload: expect.objectContaining({ gateId: id, from, to: move.to }) }]);
    } else {
      const error = await refused(() => move.call(id), 'INVALID_TRANSITION');
      expect(error.details).toMatchObject({ entity: 'TestGate', currentState: from.toUpperCase(), attemptedState: move.to.toUpperCase() });
      expect({ gate: await stored(id), log: await runLog(engine(), runId) }).toEqual(before);
    }
  });

  it('a gate is created PENDING with a gate_created event on its run, and takes its project from the run', async () => {
    const runId = await runningRun(engine(), 'gates-project');
    const gate = await engine().gates.create({ name: 'lint', type: 'lint', runId });
    expect(gate).toMatchObject({ state: 'pending', projectId: 'gates-project', runId, criteria: { required_tests: [] } });
    expect((await runLog(engine(), runId)).at(-1)).toEqual({ kind: 'gate_created', payload: { gateId: gate.id, type: 'lint', name: 'lint' } });
  });
});

describe('what a gate keeps', () => {
  it('completing records the execution and stores the results the decision was judged on', async () => {
    const { id } = await gateIn('pending');
    await engine().gates.start(operator, id, 'npm test');
    engine().clock.advance(2_500);
    const gate = await engine().gates.complete(operator, { id, exitCode: 0, results: RED });
    expect(gate.execution).toMatchObject({ command: 'npm test', exit_code: 0, duration_seconds: 2.5 });
    expect(gate.results).toMatchObject({ total_tests: 3, failed_tests: 1, failures: [{ test: 'c', message: 'expected 1' }], test_names: ['a', 'b', 'c'] });
    expect(gate.decision).toEqual({ passed: false, reason: 'failures: 1 failed test (c), at most 0 allowed', criteria_met: { failures: false } });
  });

  it('a non-zero exit ends in ERROR with no decision, keeping the results given, if any', async () => {
    const { id } = await gateIn('running');
    const gate = await engine().gates.complete(operator, { id, exitCode: 3, results: GREEN });
    expect(gate).toMatchObject({ state: 'error', decision: null, errorMessage: 'the command exited with code 3' });
    expect(gate.results).toMatchObject({ total_tests: 3, passed_tests: 3 });
    const bare = await engine().gates.complete(operator, { id: (await gateIn('running')).id, exitCode: 1 });
    expect(bare.results).toBeNull();
  });

  it('a gate that reports no results is judged on an empty report', async () => {
    const runId = await runningRun(engine(), 'gates');
    const gate = await createGate(runId, { minCoverage: 50 });
    await engine().gates.start(operator, gate.id);
    const done = await engine().gates.complete(operator, { id: gate.id, exitCode: 0 });
    expect(done).toMatchObject({ state: 'failed', results: { total_tests: 0, failures: [] } });
    expect(done.decision!.reason).toBe('coverage: no coverage reported (at least 50% required)');
  });

  it('skipping records a decision that did not pass; skipping a running gate ends its execution', async () => {
    const pending = await engine().gates.skip((await gateIn('pending')).id, 'flaky infra');
    expect(pending.decision).toEqual({ passed: false, reason: 'skipped: flaky infra', criteria_met: {} });
    expect(pending.execution ?? null).toBeNull();
    const { id } = await gateIn('running');
    engine().clock.advance(1_000);
    const running = await engine().gates.skip(id, 'flaky infra');
    expect(running.execution).toMatchObject({ command: 'npm test', duration_seconds: 1 });
    expect(running.execution).not.toHaveProperty('exit_code');
    expect(running.deadlineAt).toBeNull();
  });

  it('the decision names every criterion and whether it held', async () => {
    const runId = await runningRun(engine(), 'gates');
    const gate = await createGate(runId, { minCoverage: 95, maxFailures: 0, requiredTests: ['a', 'z'] });
    await engine().gates.start(operator, gate.id);
    const done = await engine().gates.complete(operator, { id: gate.id, exitCode: 0, results: RED });
    expect(done.decision).toEqual({
      passed: false,
      reason: 'coverage: no coverage reported (at least 95% required); failures: 1 failed test (c), at most 0 allowed; required_tests: did not run: z',
      criteria_met: { coverage: false, failures: false, required_tests: false },
    });
  });
});

describe('refusals write nothing', () => {
  it.each([
    ['results that add up to more than totalTests', { ...GREEN, failedTests: 1 }, 'results'],
    ['a negative count', { ...GREEN, totalTests: -1 }, 'results'],
  ])('%s: BAD_USER_INPUT, the gate stays RUNNING', async (_name, results, field) => {
    const { id, runId } = await gateIn('running');
    const before = { gate: await stored(id), log: await runLog(engine(), runId) };
    const error = await refused(() => engine().gates.complete(operator, { id, exitCode: 0, results }), 'BAD_USER_INPUT');
    expect(error.details.field).toBe(field);
    expect({ gate: await stored(id), log: await runLog(engine(), runId) }).toEqual(before);
  });

  it("an unknown run is NOT_FOUND; a project that is not the run's is BAD_USER_INPUT; criteria out of range are BAD_USER_INPUT", async () => {
    const runId = await runningRun(engine(), 'gates-own');
    const before = await runLog(engine(), runId);
    await refused(() => engine().gates.create({ name: 'x', type: 'lint', runId: '01JDQZ0000000000000000NONE' }), 'NOT_FOUND');
    const other = await refused(() => engine().gates.create({ name: 'x', type: 'lint', runId, projectId: 'elsewhere' }), 'BAD_USER_INPUT');
    expect(other.details.field).toBe('projectId');
    await refused(() => engine().gates.create({ name: 'x', type: 'lint', runId, criteria: { minCoverage: 101 } }), 'BAD_USER_INPUT');
    await refused(() => engine().gates.create({ name: ' ', type: 'lint', runId }), 'BAD_USER_INPUT');
    expect(await runLog(engine(), runId)).toEqual(before);
    expect((await engine().gateQueries.gates({ runId }, { first: 10 })).edges).toEqual([]);
  });
});

describe('timeouts', () => {
  it('the timeout job ends an overdue running gate in ERROR, once, and leaves the others', async () => {
    const runId = await runningRun(engine(), 'gates-timeout');
    const slow = await createGate(runId, { timeoutSeconds: 60 });
    const patient = await createGate(runId, { timeoutSeconds: 3600 });
    await engine().gates.start(operator, slow.id);
    await engine().gates.start(operator, patient.id);
    expect((await engine().gateQueries.gatesByIds([slow.id]))[0]!.deadlineAt).toEqual(new Date(engine().clock.now().getTime() + 60_000));
    engine().clock.advance(60_000);
    expect(await engine().gates.expireOverdue()).toEqual([]); // at the deadline is not past it
    engine().clock.advance(1_000);
    expect(await engine().gates.expireOverdue()).toEqual([slow.id]);
    expect(await engine().gates.expireOverdue()).toEqual([]);
    const [[ended], [still]] = [await engine().gateQueries.gatesByIds([slow.id]), await engine().gateQueries.gatesByIds([patient.id])];
    expect(ended).toMatchObject({ state: 'error', decision: null, errorMessage: 'timed out after 61 s (timeout 60 s)', deadlineAt: null });
    expect(still!.state).toBe('running');
    expect((await runLog(engine(), runId)).filter((e) => e.kind === 'gate_errored')).toHaveLength(1);
  });

  it('a completion reported after the deadline times the gate out, whatever it reports, even before the job runs', async () => {
    const runId = await runningRun(engine(), 'gates-timeout');
    const gate = await createGate(runId, { timeoutSeconds: 10 });
    await engine().gates.start(operator, gate.id);
    engine().clock.advance(10_500);
    const late = await engine().gates.complete(operator, { id: gate.id, exitCode: 0, results: GREEN });
    expect(late).toMatchObject({ state: 'error', decision: null, results: null, errorMessage: 'timed out after 10.5 s (timeout 10 s)' });
    expect(late.execution).not.toHaveProperty('exit_code');
    expect(await engine().gates.expireOverdue()).toEqual([]);
  });
});

describe('outcome notices', () => {
  it('each outcome is announced once, after its write; creating, starting and refused calls announce nothing', async () => {
    const heard: unknown[] = [];
    const stop = engine().bus.subscribe('gate.outcome', (notice) => heard.push(notice));
    try {
      const { id, runId } = await gateIn('pending');
      await engine().gates.start(operator, id);
      expect(heard).toEqual([]);
      await engine().gates.complete(operator, { id, exitCode: 0, results: GREEN });
      await refused(() => engine().gates.skip(id, 'late'), 'INVALID_TRANSITION');
      expect(heard).toEqual([{ gateId: id, runId, projectId: 'gates', type: 'unit_tests', state: 'passed' }]);
    } finally {
      stop();
    }
  });
});

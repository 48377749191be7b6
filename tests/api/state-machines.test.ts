import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMachine } from '../../src/engine/runs/machines.js';
import { RUN_FIELDS, createRun, startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const STATES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'QUARANTINED', 'CANCELED'] as const;
type State = (typeof STATES)[number];
type Target = Exclude<State, 'PENDING'>;
const TARGETS = STATES.filter((s): s is Target => s !== 'PENDING');
const ENDINGS = ['SUCCEEDED', 'FAILED', 'QUARANTINED', 'CANCELED'] as const;
const STEP_ENDINGS = ['SUCCEEDED', 'FAILED', 'CANCELED'] as const;
const lc = <S extends string>(s: S) => s.toLowerCase() as Lowercase<S>;

/** docs/domain.md#runs-and-steps: the run transitions that are allowed; every other pair is refused. */
const ALLOWED: Record<State, Target[]> = {
  PENDING: ['RUNNING', 'CANCELED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'QUARANTINED', 'CANCELED'],
  FAILED: ['QUARANTINED'],
  SUCCEEDED: [],
  QUARANTINED: [],
  CANCELED: [],
};

/** The mutation that moves a run to each target, its input, and what it stores on the run. */
const MOVES: Record<Target, { mutation: string; input: Record<string, unknown>; stored: Record<string, unknown> }> = {
  RUNNING: { mutation: 'startRun', input: {}, stored: {} },
  SUCCEEDED: { mutation: 'completeRun', input: { state: 'SUCCEEDED', exitCode: 0 }, stored: { exitCode: 0, errorMessage: null, stateReason: null } },
  FAILED: {
    mutation: 'completeRun',
    input: { state: 'FAILED', exitCode: 3, errorMessage: 'tests broke' },
    stored: { exitCode: 3, errorMessage: 'tests broke', stateReason: null },
  },
  QUARANTINED: { mutation: 'quarantineRun', input: { reason: 'flaky tool' }, stored: { stateReason: 'flaky tool', exitCode: null } },
  CANCELED: { mutation: 'cancelRun', input: { reason: 'superseded' }, stored: { stateReason: 'superseded', exitCode: null } },
};

/** How a fresh run is driven to each state through the API. */
const PATH: Record<State, Target[]> = {
  PENDING: [],
  RUNNING: ['RUNNING'],
  SUCCEEDED: ['RUNNING', 'SUCCEEDED'],
  FAILED: ['RUNNING', 'FAILED'],
  QUARANTINED: ['RUNNING', 'QUARANTINED'],
  CANCELED: ['RUNNING', 'CANCELED'],
};

const STEP_FIELDS = 'id sequence toolId state stateReason startedAt endedAt exitCode errorLog';
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const gql = (query: string, variables?: Record<string, unknown>) => server.gql(query, variables);
const ok = <T = any>(res: GraphQLResponse<T>): T => {
  expect(res.errors).toBeUndefined();
  return res.data!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The database id inside a global id (base64url of "Type:ULID"). */
const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1];
const rows = (entity: 'Run' | 'StepAttempt' | 'RunEvent', where: Record<string, unknown> = {}) => server.engine.orm.em.fork().count(entity, where);

function move(id: string, to: Target): Promise<GraphQLResponse> {
  const { mutation, input } = MOVES[to];
  const type = mutation.charAt(0).toUpperCase() + mutation.slice(1) + 'Input';
  return gql(`mutation($input: ${type}!) { ${mutation}(input: $input) { run { ${RUN_FIELDS} } } }`, { input: { id, ...input } });
}

async function moveOk(id: string, to: Target): Promise<any> {
  return ok(await move(id, to))[MOVES[to].mutation].run;
}

async function runIn(state: State): Promise<string> {
  const id = await createRun(server);
  for (const to of PATH[state]) await moveOk(id, to);
  return id;
}

async function getRun(id: string): Promise<any> {
  const data = ok(await gql(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} steps(first: 100) { totalCount edges { node { ${STEP_FIELDS} } } } } }`, { id }));
  return { ...data.run, steps: data.run.steps.edges.map((e: any) => e.node), stepCount: data.run.steps.totalCount };
}

/** Everything a refused operation must leave alone: the run (with its steps) and its row counts. */
async function snapshot(runId: string) {
  const runIdInDb = dbId(runId);
  return {
    run: await getRun(runId),
    steps: await rows('StepAttempt', { runId: runIdInDb }),
    events: await rows('RunEvent', { runId: runIdInDb }),
  };
}

function expectInvalidTransition(res: GraphQLResponse, currentState: string, attemptedState: string): void {
  expect(res.errors).toHaveLength(1);
  expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_TRANSITION', currentState, attemptedState });
}

const startStep = (runId: string, toolId = 'codex') => gql(`mutation($input: StartStepInput!) { startStep(input: $input) { step { ${STEP_FIELDS} } } }`, { input: { runId, toolId } });
const startStepOk = async (runId: string) => ok(await startStep(runId)).startStep.step;
const completeStep = (id: string, state: string, extra: Record<string, unknown> = {}) =>
  gql(`mutation($input: CompleteStepInput!) { completeStep(input: $input) { step { ${STEP_FIELDS} } } }`, {
    input: { id, state, ...extra },
  });
const completeStepOk = async (id: string, state: string, extra: Record<string, unknown> = {}) => ok(await completeStep(id, state, extra)).completeStep.step;

/** The events appended to a run's log since the previous call for that run, read through the API. */
const readUpTo = new Map<string, string>();
async function appended(runId: string): Promise<{ kind: string; payload: any; stepId: string | null }[]> {
  const data = ok(
    await gql(`query($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after, first: 100) { edges { cursor node { kind payload step { id } } } } }`, {
      runId,
      after: readUpTo.get(runId) ?? null,
    }),
  );
  const edges = data.runEvents.edges;
  if (edges.length > 0) readUpTo.set(runId, edges.at(-1).cursor);
  return edges.map((e: any) => ({ kind: e.node.kind, payload: e.node.payload, stepId: e.node.step?.id ?? null }));
}
const appendedKinds = async (runId: string) => (await appended(runId)).map((e) => e.kind).sort();

describe('run state machine', () => {
  it('the test table matches runMachine for all 36 pairs, and no state moves back to PENDING', () => {
    expect([...runMachine.states].sort()).toEqual(STATES.map(lc).sort());
    for (const from of STATES) {
      for (const to of STATES) {
        expect(runMachine.allows(lc(from), lc(to)), `${from} -> ${to}`).toBe((ALLOWED[from] as State[]).includes(to));
      }
      expect(runMachine.allows(lc(from), 'pending'), `${from} -> PENDING`).toBe(false);
    }
  });

  const pairs = STATES.flatMap((from) => TARGETS.map((to) => ({ from, to, allowed: ALLOWED[from].includes(to) })));

  it.each(pairs)('$from -> $to (allowed: $allowed)', async ({ from, to, allowed }) => {
    const id = await runIn(from);
    const before = await snapshot(id);
    const res = await move(id, to);
    if (!allowed) {
      expectInvalidTransition(res, from, to);
      expect(await snapshot(id)).toEqual(before);
      return;
    }
    expect(ok(res)[MOVES[to].mutation].run.state).toBe(to);
    expect((await getRun(id)).state).toBe(to);
    const events = (await appended(id)).slice(before.events);
    expect(events.map((e) => e.kind)).toEqual([to === 'RUNNING' ? 'RUN_STARTED' : 'RUN_STATE_CHANGED']);
    expect(events[0]?.payload).toMatchObject({ from: lc(from), to: lc(to) });
  });
});

describe('run timestamps and stored details', () => {
  it.each(ENDINGS)('PENDING -> RUNNING -> %s sets startedAt, then endedAt, and stores the details', async (end) => {
    const id = await createRun(server);
    const created = await getRun(id);
    expect(created).toMatchObject({ state: 'PENDING', startedAt: null, endedAt: null, exitCode: null, errorMessage: null, stateReason: null });

    const started = await moveOk(id, 'RUNNING');
    expect(started.startedAt).toMatch(ISO_MS);
    expect(started.startedAt >= created.createdAt).toBe(true);
    expect(started.endedAt).toBeNull();

    const ended = await moveOk(id, end);
    expect(ended).toMatchObject({ state: end, startedAt: started.startedAt, ...MOVES[end].stored });
    expect(ended.endedAt).toMatch(ISO_MS);
    expect(ended.endedAt >= started.startedAt).toBe(true);
    expect(await getRun(id)).toMatchObject({ startedAt: started.startedAt, endedAt: ended.endedAt, ...MOVES[end].stored });
  });

  it('PENDING -> CANCELED sets endedAt but never startedAt', async () => {
    const run = await moveOk(await createRun(server), 'CANCELED');
    expect(run).toMatchObject({ state: 'CANCELED', startedAt: null, stateReason: 'superseded' });
    expect(run.endedAt).toMatch(ISO_MS);
  });

  it('FAILED -> QUARANTINED keeps the original endedAt, exitCode and errorMessage', async () => {
    const id = await runIn('FAILED');
    const failed = await getRun(id);
    await sleep(5); // a rewritten endedAt would now differ
    const quarantined = await moveOk(id, 'QUARANTINED');
    expect(quarantined).toMatchObject({
      state: 'QUARANTINED',
      endedAt: failed.endedAt,
      startedAt: failed.startedAt,
      exitCode: 3,
      errorMessage: 'tests broke',
      stateReason: 'flaky tool',
    });
  });
});

describe('step state machine', () => {
  it('steps start RUNNING with sequences 1, 2, 3 and need a toolId', async () => {
    const runId = await runIn('RUNNING');
    const steps = [];
    for (let i = 0; i < 3; i++) steps.push(await startStepOk(runId));
    expect(steps.map((s) => [s.sequence, s.state, s.toolId, s.endedAt])).toEqual([1, 2, 3].map((n) => [n, 'RUNNING', 'codex', null]));
    steps.forEach((s) => expect(s.startedAt).toMatch(ISO_MS));
    expect((await getRun(runId)).steps.map((s: any) => s.id)).toEqual(steps.map((s) => s.id));

    const before = await snapshot(runId);
    const res = await startStep(runId, '  ');
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'toolId' });
    expect(await snapshot(runId)).toEqual(before);
  });

  it.each(STEP_ENDINGS)('RUNNING -> %s works once; completing again is INVALID_TRANSITION and writes nothing', async (end) => {
    const runId = await runIn('RUNNING');
    const step = await startStepOk(runId);
    const done = await completeStepOk(step.id, end, { exitCode: 7, errorLog: 'log' });
    expect(done).toMatchObject({ id: step.id, state: end, exitCode: 7, errorLog: 'log', startedAt: step.startedAt });
    expect(done.endedAt).toMatch(ISO_MS);

    const before = await snapshot(runId);
    for (const again of STEP_ENDINGS) {
      expectInvalidTransition(await completeStep(step.id, again), end, again);
      expect(await snapshot(runId)).toEqual(before);
    }
  });

  it.each(['PENDING', 'SUCCEEDED', 'FAILED', 'QUARANTINED', 'CANCELED'] as const)('startStep on a %s run is INVALID_TRANSITION and creates no step', async (state) => {
    const runId = await runIn(state);
    const before = await snapshot(runId);
    expectInvalidTransition(await startStep(runId), state, 'RUNNING');
    expect(await snapshot(runId)).toEqual(before);
    expect(before.steps).toBe(0);
  });

  it.each(ENDINGS)('ending a run as %s cancels its still-RUNNING steps and leaves ended ones alone', async (end) => {
    const runId = await runIn('RUNNING');
    const [done, open1, open2] = [await startStepOk(runId), await startStepOk(runId), await startStepOk(runId)];
    await completeStepOk(done.id, 'SUCCEEDED');
    await appended(runId);

    await moveOk(runId, end);
    const run = await getRun(runId);
    expect(run.steps.map((s: any) => [s.id, s.state])).toEqual([
      [done.id, 'SUCCEEDED'],
      [open1.id, 'CANCELED'],
      [open2.id, 'CANCELED'],
    ]);
    for (const step of run.steps) expect(step.endedAt).toMatch(ISO_MS);
    const events = await appended(runId);
    expect(events.map((e) => e.kind).sort()).toEqual(['RUN_STATE_CHANGED', 'TOOL_CALL_COMPLETED', 'TOOL_CALL_COMPLETED']);
    expect(events.filter((e) => e.stepId).map((e) => [e.stepId, e.payload.state])).toEqual([
      [open1.id, 'canceled'],
      [open2.id, 'canceled'],
    ]);
    expect(run.counters).toMatchObject({ stepAttempts: 3, errors: 0 });
  });
});

describe('counters and the event log', () => {
  it('counts steps and error events; each state change appends exactly one event of its kind', async () => {
    const runId = await createRun(server);
    expect(await appendedKinds(runId)).toEqual(['RUN_CREATED']);
    await moveOk(runId, 'RUNNING');
    expect(await appendedKinds(runId)).toEqual(['RUN_STARTED']);

    const outcomes = ['SUCCEEDED', 'FAILED', 'CANCELED', 'FAILED', null] as const;
    for (const outcome of outcomes) {
      const step = await startStepOk(runId);
      expect(await appended(runId)).toEqual([expect.objectContaining({ kind: 'TOOL_CALL_STARTED', stepId: step.id })]);
      if (!outcome) continue;
      await completeStepOk(step.id, outcome);
      const kind = outcome === 'FAILED' ? 'TOOL_CALL_ERROR' : 'TOOL_CALL_COMPLETED';
      expect(await appended(runId)).toEqual([expect.objectContaining({ kind, stepId: step.id })]);
    }
    await moveOk(runId, 'FAILED'); // cancels the step left running
    expect(await appendedKinds(runId)).toEqual(['RUN_STATE_CHANGED', 'TOOL_CALL_COMPLETED']);
    await moveOk(runId, 'QUARANTINED');
    expect(await appendedKinds(runId)).toEqual(['RUN_STATE_CHANGED']);

    const run = await getRun(runId);
    const logged = ok(await gql(`query($runId: ID!) { runEvents(runId: $runId, kinds: [TOOL_CALL_ERROR]) { totalCount } }`, { runId }));
    const errorsInLog = logged.runEvents.totalCount;
    expect(errorsInLog).toBe(outcomes.filter((o) => o === 'FAILED').length);
    expect(run.counters).toEqual({ stepAttempts: outcomes.length, errors: errorsInLog, patchesCreated: 0, patchesApplied: 0 });
    expect(run.stepCount).toBe(outcomes.length);
    expect(await rows('StepAttempt', { runId: dbId(runId) })).toBe(outcomes.length);
  });
});

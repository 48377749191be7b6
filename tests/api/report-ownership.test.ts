import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEventSchema, RunSchema, StepAttemptSchema, TaskSchema } from '../../src/engine/runs/entities.js';
import { BudgetSchema } from '../../src/engine/budgets/entities.js';
import { CostRecordSchema } from '../../src/engine/costs/entities.js';
import { TestGateSchema } from '../../src/engine/gates/entities.js';
import { LedgerEntrySchema, PatchSchema } from '../../src/engine/patches/entities.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/builder.js';
import { codes, createRun, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 3: a worker-only token reports (steps, patches, gate results, costs)
 * only about a run one of the workers it registered holds a task of;
 * operate and admin tokens report on any run. Issue 16 narrowed it: "holds
 * now" (not "holds or held"), only the steps the token started, and only
 * the gates of its own task's execution request (tests/security/worker-rights.test.ts).
 */

let server: TestServer;
const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

async function createToken(name: string, scopes: string[]): Promise<string> {
  const data = await ok(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, { input: { name, scopes } });
  return data.createApiToken.token;
}

async function runningRun(projectId: string): Promise<string> {
  const id = await createRun(server, { projectId });
  await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });
  return id;
}

const DIFF = 'diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-old\n+new\n';

/**
 * Fixtures for each report, made as admin: a running step (started with `stepToken`, the admin secret
 * unless given), a queued ledger entry, a pending and a running gate.
 */
async function fixtures(runId: string | null, projectId: string, stepToken?: string) {
  const step =
    runId === null ? null : (await server.ok(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "fixture"}) { step { id } } }`, { r: runId }, { token: stepToken })).startStep.step.id;
  /** A ledger entry of the run, moved on (as admin) by `path`. */
  const entry = async (path: string[]) => {
    const created = await ok(`mutation($p: String!, $r: ID, $d: String!) { createPatch(input: {projectId: $p, runId: $r, targetRepo: "repo", diffText: $d}) { ledgerEntry { id } } }`, {
      p: projectId,
      r: runId,
      d: DIFF,
    });
    const id = created.createPatch.ledgerEntry.id as string;
    for (const field of path) await ok(`mutation($id: ID!) { ${field}(input: {ledgerId: $id}) { ledgerEntry { state } } }`, { id });
    return id;
  };
  const createdId = await entry([]);
  const validatedId = await entry(['validatePatch']);
  const ledgerId = await entry(['validatePatch', 'queuePatch']);
  const gate = async () =>
    (await ok(`mutation($r: ID, $p: String) { createTestGate(input: {name: "g", type: LINT, runId: $r, projectId: $p}) { gate { id } } }`, { r: runId, p: projectId })).createTestGate.gate
      .id as string;
  const pendingGate = await gate();
  const runningGate = await gate();
  await ok(`mutation($id: ID!) { startTestGate(input: {id: $id}) { gate { state } } }`, { id: runningGate });
  return { step, createdId, validatedId, ledgerId, pendingGate, runningGate };
}

type Fixtures = Awaited<ReturnType<typeof fixtures>>;

/** Each report a worker token may make, as [field, operation, variables]. */
function reports(runId: string | null, projectId: string, f: Fixtures): [string, string, Record<string, unknown>][] {
  return [
    ...(runId === null
      ? []
      : ([
          ['startStep', `mutation($r: ID!) { startStep(input: {runId: $r, toolId: "t"}) { step { id state } } }`, { r: runId }],
          ['completeStep', `mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: f.step }],
        ] as [string, string, Record<string, unknown>][])),
    [
      'createPatch',
      `mutation($p: String!, $r: ID, $d: String!) { createPatch(input: {projectId: $p, runId: $r, targetRepo: "repo", diffText: $d}) { ledgerEntry { state } } }`,
      { p: projectId, r: runId, d: DIFF },
    ],
    ['validatePatch', `mutation($id: ID!) { validatePatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`, { id: f.createdId }],
    ['queuePatch', `mutation($id: ID!) { queuePatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`, { id: f.validatedId }],
    ['recordPatchApply', `mutation($id: ID!) { recordPatchApply(input: {ledgerId: $id, success: true, appliedFiles: ["src/a.ts"]}) { ledgerEntry { state } } }`, { id: f.ledgerId }],
    ['startTestGate', `mutation($id: ID!) { startTestGate(input: {id: $id, command: "npm test"}) { gate { state } } }`, { id: f.pendingGate }],
    ['completeTestGate', `mutation($id: ID!) { completeTestGate(input: {id: $id, exitCode: 0}) { gate { state } } }`, { id: f.runningGate }],
    [
      'recordCost',
      `mutation($r: ID, $p: String) { recordCost(input: {runId: $r, projectId: $p, resourceType: API_CALL, amount: "0.5", currency: "USD"}) { cost { amount } } }`,
      runId === null ? { p: projectId } : { r: runId },
    ],
  ];
}

/** Every row a refused report could have written or changed. */
async function snapshot() {
  const em = server.engine.orm.em.fork();
  const [runs, steps, ledger, gates, budgets] = await Promise.all([
    em.find(RunSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(StepAttemptSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(LedgerEntrySchema, {}, { orderBy: { id: 'asc' } }),
    em.find(TestGateSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(BudgetSchema, {}, { orderBy: { id: 'asc' } }),
  ]);
  return {
    counts: {
      events: await em.count(RunEventSchema, {}),
      patches: await em.count(PatchSchema, {}),
      costs: await em.count(CostRecordSchema, {}),
      steps: steps.length,
      ledger: ledger.length,
      gates: gates.length,
    },
    runs: runs.map((r) => [r.id, r.state, r.stepAttempts, r.patchesCreated, r.patchesApplied, r.errors]),
    steps: steps.map((s) => [s.id, s.state]),
    ledger: ledger.map((e) => [e.id, e.state, e.apply.attempts, e.stateHistory.length]),
    gates: gates.map((g) => [g.id, g.state, g.execution ?? null]),
    budgets: budgets.map((b) => [b.id, b.spentNanos]),
  };
}

let tokenA: string;
let tokenB: string;
let operator: string;
let workerA: string;
let r1: string;
let r2: string;

async function registerWorker(token: string): Promise<string> {
  const res = await server.gql(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 5}}) { worker { id } } }`, {}, { token });
  expect(res.errors).toBeUndefined();
  return res.data.registerWorker.worker.id;
}

/** The token's worker claims a task of the run (created as admin with a kind of its own); returns the task id. */
async function claimTaskOf(token: string, workerId: string, runId: string, kind: string): Promise<string> {
  const { createTask } = await ok(`mutation($r: ID!, $k: String!) { createTask(input: {kind: $k, runId: $r}) { task { id } } }`, { r: runId, k: kind });
  const res = await server.gql(`mutation($w: ID!, $k: String!) { claimTask(input: {workerId: $w, kinds: [$k]}) { task { id run { id } } } }`, { w: workerId, k: kind }, { token });
  expect(res.errors).toBeUndefined();
  expect(res.data.claimTask.task).toEqual({ id: createTask.task.id, run: { id: runId } });
  return createTask.task.id;
}

beforeAll(async () => {
  server = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
  tokenA = await createToken('reporter-a', ['WORKER']);
  // READ does not widen what a worker token may report on.
  tokenB = await createToken('reporter-b', ['WORKER', 'READ']);
  operator = await createToken('reporter-operator', ['OPERATE']);
  workerA = await registerWorker(tokenA);
  const workerB = await registerWorker(tokenB);
  r1 = await runningRun('own');
  r2 = await runningRun('own');
  await claimTaskOf(tokenA, workerA, r1, 'own-r1');
  // B's worker works too, on another run.
  await claimTaskOf(tokenB, workerB, await runningRun('own'), 'own-r3');
});
afterAll(() => server.stop());

describe('reports by worker tokens', () => {
  it("token B is FORBIDDEN to report on R1, which only A's worker works on, and nothing is written", async () => {
    const f = await fixtures(r1, 'own');
    for (const [field, op, vars] of reports(r1, 'own', f)) {
      const before = await snapshot();
      const res = await server.gql(op, vars, { token: tokenB });
      expect(codes(res), field).toEqual(['FORBIDDEN']);
      expect(res.errors?.[0]?.message, field).toMatch(/token "reporter-b" may not report .+ none of the workers it registered holds a task of that run now/);
      expect(res.data?.[field] ?? null, field).toBeNull();
      expect(await snapshot(), field).toEqual(before);
    }
  });

  it("token A may report on R1, which its worker holds a task of, except on the run's own gates", async () => {
    const f = await fixtures(r1, 'own', tokenA);
    const results: Record<string, unknown> = {};
    for (const [field, op, vars] of reports(r1, 'own', f)) {
      const res = await server.gql(op, vars, { token: tokenA });
      if (field === 'startTestGate' || field === 'completeTestGate') {
        // These gates name no execution request: they are the run's, which only operators pass.
        expect(codes(res), field).toEqual(['FORBIDDEN']);
        expect(res.errors?.[0]?.message, field).toMatch(/names no execution request, so it is the run's own/);
        continue;
      }
      expect(res.errors, `${field}: ${JSON.stringify(res.errors)}`).toBeUndefined();
      results[field] = res.data[field];
    }
    expect(results).toMatchObject({
      startStep: { step: { state: 'RUNNING' } },
      completeStep: { step: { state: 'SUCCEEDED' } },
      createPatch: { ledgerEntry: { state: 'CREATED' } },
      validatePatch: { ledgerEntry: { state: 'VALIDATED' } },
      queuePatch: { ledgerEntry: { state: 'QUEUED' } },
      recordPatchApply: { ledgerEntry: { state: 'APPLIED' } },
      recordCost: { cost: { amount: '0.5' } },
    });
  });

  it('token A is FORBIDDEN on a run its workers never touched, on a report with no run, and on an unknown run', async () => {
    const onR2 = reports(r2, 'own', await fixtures(r2, 'own'));
    const noRun = reports(null, 'own', await fixtures(null, 'own'));
    const untouchedRun = await createRun(server, { projectId: 'own' });
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ...onR2.map(([field, op, vars]) => [`${field} on R2`, op, vars, /may not report .+ on run .+: none of the workers it registered/] as [string, string, Record<string, unknown>, RegExp]),
      ...noRun.map(
        ([field, op, vars]) =>
          [`${field} without a run`, op, vars, /may not report .+: a WORKER-only token reports only on the run of a task its workers hold, and this names no run/] as [
            string,
            string,
            Record<string, unknown>,
            RegExp,
          ],
      ),
      ['startStep on a run of no task', `mutation($r: ID!) { startStep(input: {runId: $r, toolId: "t"}) { step { id } } }`, { r: untouchedRun }, /none of the workers it registered/],
      // FORBIDDEN rather than NOT_FOUND: a worker token learns nothing about runs it has no part in.
      [
        'recordCost on an unknown run',
        `mutation($r: ID!) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "1", currency: "USD"}) { cost { id } } }`,
        { r: encodeGlobalId('Run', '01ZZZZZZZZZZZZZZZZZZZZZZZZ') },
        /none of the workers it registered/,
      ],
    ];
    expect(cases.map(([name]) => name)).toEqual(expect.arrayContaining(['recordCost without a run', 'validatePatch without a run', 'queuePatch on R2']));
    for (const [name, op, vars, message] of cases) {
      const before = await snapshot();
      const res = await server.gql(op, vars, { token: tokenA });
      expect(codes(res), name).toEqual(['FORBIDDEN']);
      expect(res.errors?.[0]?.message, name).toMatch(message);
      expect(await snapshot(), name).toEqual(before);
    }
  });

  it('an operate token (and one with both worker and operate) may report on any run, and without one', async () => {
    const both = await createToken('reporter-both', ['WORKER', 'OPERATE']);
    for (const [token, runId] of [
      [operator, r2],
      [operator, null],
      [both, r2],
    ] as const) {
      const f = await fixtures(runId, 'own');
      for (const [field, op, vars] of reports(runId, 'own', f)) {
        const res = await server.gql(op, vars, { token });
        expect(res.errors, `${field}: ${JSON.stringify(res.errors)}`).toBeUndefined();
        expect(res.data[field], field).toBeTruthy();
      }
    }
  });

  it('token A may no longer report on R1 once its worker has completed the task (it holds none now), and nothing is written', async () => {
    const done = await server.gql(`mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { state } } }`, { w: workerA }, { token: tokenA });
    expect(done.errors).toBeUndefined();
    expect(done.data.completeTask.task.state).toBe('COMPLETED');
    const em = server.engine.orm.em.fork();
    expect(await em.count(TaskSchema, { workerId: decodeGlobalId(workerA, 'workerA').id, state: 'running' })).toBe(0);
    const before = await snapshot();
    const res = await server.gql(`mutation($r: ID!) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "1", currency: "USD"}) { cost { amount } } }`, { r: r1 }, { token: tokenA });
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(res.errors?.[0]?.message).toMatch(/none of the workers it registered holds a task of that run now/);
    expect(await snapshot()).toEqual(before);
  });
});

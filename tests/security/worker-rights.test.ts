import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEventSchema, RunSchema, StepAttemptSchema, TaskSchema } from '../../src/engine/runs/entities.js';
import { BudgetSchema } from '../../src/engine/budgets/entities.js';
import { CostRecordSchema } from '../../src/engine/costs/entities.js';
import { TestGateSchema } from '../../src/engine/gates/entities.js';
import { LedgerEntrySchema, PatchSchema } from '../../src/engine/patches/entities.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/builder.js';
import { codes, startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';
import { expectBystanderServed, underAttack } from './bystander.js';

/**
 * Issue 16: a WORKER-only token reports only through a task its worker
 * holds now, about what that task touches (its own steps, its execution
 * request's patches, gates and costs, costs up to a bound per task), and
 * reads through mutation payloads only what its task needs.
 */

const PROJECT = 'wr';
const DIFF = 'diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-old\n+new\n';

let server: TestServer;
let worker: string;
let readingWorker: string;
let workerId: string;
/** The run of the workstream whose task t1 the worker token's worker holds, and t2 another token's worker holds. */
let runId: string;
/** Raw execution request ids (as steps, patches, gates and costs name them) of t1 (own) and t2 (another's). */
let ownRequest: string;
let otherRequest: string;

const admin = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);
const asWorker = (query: string, variables?: Record<string, unknown>) => server.gql(query, variables, { token: worker });

/** One operation over graphql-ws (the same checks run there as over HTTP). */
function asWorkerOverWebSocket(query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const client = server.wsClient({ token: worker });
  return new Promise((resolve, reject) => {
    let result: GraphQLResponse | null = null;
    client.subscribe(
      { query, variables },
      {
        next: (value) => void (result = value as GraphQLResponse),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error } as GraphQLResponse) : reject(error)),
        complete: () => resolve(result!),
      },
    );
  });
}

async function createToken(name: string, scopes: string[]): Promise<string> {
  return (await admin(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, { input: { name, scopes } })).createApiToken.token;
}

async function registerWorker(token: string): Promise<string> {
  const res = await server.gql(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 5}}) { worker { id } } }`, {}, { token });
  expect(res.errors).toBeUndefined();
  return res.data.registerWorker.worker.id;
}

const rawId = (globalId: string) => decodeGlobalId(globalId, 'id').id;
/** recordCost names an execution request by its global id; steps, patches and gates by the raw one. */
const requestGid = (raw: string | null) => (raw === null ? null : encodeGlobalId('ExecutionRequest', raw));

/** Every row a refused call could have written or changed. */
async function snapshot() {
  const em = server.engine.orm.em.fork();
  const [runs, steps, tasks, gates, budgets, ledger] = await Promise.all([
    em.find(RunSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(StepAttemptSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(TaskSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(TestGateSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(BudgetSchema, {}, { orderBy: { id: 'asc' } }),
    em.find(LedgerEntrySchema, {}, { orderBy: { id: 'asc' } }),
  ]);
  return {
    events: await em.count(RunEventSchema, {}),
    patches: await em.count(PatchSchema, {}),
    costs: await em.count(CostRecordSchema, {}),
    runs: runs.map((r) => [r.id, r.state, r.stepAttempts, r.patchesCreated, r.errors, r.haltedByBudgetId ?? null]),
    steps: steps.map((s) => [s.id, s.state]),
    tasks: tasks.map((t) => [t.id, t.state, t.workerId ?? null, String(t.workerCostNanos)]),
    gates: gates.map((g) => [g.id, g.state]),
    budgets: budgets.map((b) => [b.id, b.spentNanos, b.crossed]),
    ledger: ledger.map((e) => [e.id, e.state]),
  };
}

/** Runs refused calls under the bystander harness: each FORBIDDEN with `message`, and nothing written. */
async function expectRefused(name: string, calls: [string, () => Promise<GraphQLResponse>, RegExp][]) {
  const before = await snapshot();
  const report = await underAttack(server, async () => {
    const results: [string, GraphQLResponse, RegExp][] = [];
    for (const [label, call, message] of calls) results.push([label, await call(), message]);
    return results;
  });
  for (const [label, res, message] of report.result) {
    expect(codes(res), label).toEqual(['FORBIDDEN']);
    expect(res.errors?.[0]?.message, label).toMatch(message);
  }
  expect(await snapshot(), name).toEqual(before);
  expectBystanderServed(name, report);
}

async function createGate(executionRequestId: string | null, start = false): Promise<string> {
  const { createTestGate } = await admin(`mutation($r: ID!, $e: String) { createTestGate(input: {name: "wr-gate", type: UNIT_TESTS, runId: $r, executionRequestId: $e}) { gate { id } } }`, {
    r: runId,
    e: executionRequestId,
  });
  if (start) await admin(`mutation($id: ID!) { startTestGate(input: {id: $id}) { gate { state } } }`, { id: createTestGate.gate.id });
  return createTestGate.gate.id;
}

const CLAIM_WITH_EVENTS = `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-edit"]}) {
  task { id run { id events(first: 10) { edges { node { kind payload } } } } } } }`;

beforeAll(async () => {
  server = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
  worker = await createToken('wr-worker', ['WORKER']);
  readingWorker = await createToken('wr-reading-worker', ['WORKER', 'READ']);
  workerId = await registerWorker(worker);
  const spec = workstreamSpec(
    [
      { ...taskSpec('t1', [], { kind: 'wr-edit' }), name: 'edit src/a.ts' },
      { ...taskSpec('t2', [], { kind: 'wr-other' }), name: 'the plan of another task' },
      taskSpec('t3', ['t1'], { kind: 'wr-later' }),
    ],
    { projectId: PROJECT, id: 'ws-worker-rights' },
  );
  const { submitWorkstream } = await admin(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } } } }`, { s: spec });
  runId = submitWorkstream.workstream.run.id;
  // Another token's worker holds t2 (its own attempt and execution request, on the same run).
  const otherToken = await createToken('wr-other-worker', ['WORKER']);
  const claimed = await server.gql(
    `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-other"]}) { task { executionRequest { document } } } }`,
    { w: await registerWorker(otherToken) },
    { token: otherToken },
  );
  expect(claimed.errors).toBeUndefined();
  otherRequest = claimed.data.claimTask.task.executionRequest.document.request_id;
});
afterAll(() => server.stop());

describe('what a WORKER-only token reads through mutation payloads', () => {
  it("claimTask selecting the run's events is FORBIDDEN before it runs: no task is claimed", async () => {
    await expectRefused('claimTask selecting Run.events', [
      ['claimTask { task { run { events } } }', () => asWorker(CLAIM_WITH_EVENTS, { w: workerId }), /may not use Run\.events: it needs the read or operate scope/],
      ['the same over graphql-ws', () => asWorkerOverWebSocket(CLAIM_WITH_EVENTS, { w: workerId }), /may not use Run\.events: it needs the read or operate scope/],
      [
        'claimTask { task { workstream { tasks { payload } } } }',
        () => asWorker(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-edit"]}) { task { workstream { tasks { payload } } } } }`, { w: workerId }),
        /may not use Task\.workstream/,
      ],
      [
        'claimTask { task { dependents { payload } } }',
        () => asWorker(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-edit"]}) { task { dependents { payload } } } }`, { w: workerId }),
        /may not use Task\.dependents/,
      ],
    ]);
  });

  it('claimTask hands it what its task needs: the task, its payload and execution request, its run id, state and metadata', async () => {
    const res = await asWorker(
      `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-edit"]}) {
        task { id kind state payload executionRequest { id document } run { id state metadata } worker { id } } worker { state } } }`,
      { w: workerId },
    );
    expect(res.errors).toBeUndefined();
    const task = res.data.claimTask.task;
    expect(task).toMatchObject({ kind: 'wr-edit', state: 'RUNNING', run: { id: runId, state: 'RUNNING' }, worker: { id: workerId } });
    expect(JSON.stringify(task.payload)).toContain('edit src/a.ts');
    ownRequest = task.executionRequest.document.request_id;
    expect(rawId(task.executionRequest.id)).toBe(ownRequest);
  });

  it("a report's payload may not reach the run's steps (other tasks' prompts) either; a token with READ as well may", async () => {
    await admin(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "op-tool", inputPrompt: "the operator's prompt"}) { step { id } } }`, { r: runId });
    const op = `mutation($r: ID!, $e: String) { startStep(input: {runId: $r, toolId: "t", executionRequestId: $e}) {
      step { id run { steps(first: 10) { edges { node { inputPrompt } } } } } } }`;
    await expectRefused('startStep selecting Run.steps', [['startStep { step { run { steps } } }', () => asWorker(op, { r: runId, e: ownRequest }), /may not use Run\.steps/]]);
    // The rule is the scope: a WORKER token with READ claims a task of the run and reads its log in the same payload.
    await admin(`mutation($r: ID!) { createTask(input: {kind: "wr-read", runId: $r}) { task { id } } }`, { r: runId });
    const reader = await registerWorker(readingWorker);
    const readable = await server.gql(
      `mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-read"]}) { task { run { steps(first: 10) { edges { node { inputPrompt } } } events(first: 100) { edges { node { kind } } } } } } }`,
      { w: reader },
      { token: readingWorker },
    );
    expect(readable.errors).toBeUndefined();
    expect(readable.data.claimTask.task.run.steps.edges.map((e: any) => e.node.inputPrompt)).toContain("the operator's prompt");
    expect(readable.data.claimTask.task.run.events.edges.length).toBeGreaterThan(0);
  });
});

describe('what a WORKER-only token reports', () => {
  it("refuses an operator's step, the run's gates and another task's gate, another attempt's records, and costs elsewhere or past the bound", async () => {
    const { startStep } = await admin(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "op-tool"}) { step { id } } }`, { r: runId });
    const operatorStep = startStep.step.id;
    const runGate = await createGate(null);
    const runningRunGate = await createGate(null, true);
    const otherGate = await createGate(otherRequest);
    const otherRun = (await admin(`mutation { createRun(input: {projectId: "wr", phaseId: "p"}) { run { id } } }`)).createRun.run.id;
    // Patches of another task's attempt, as an operator recorded them: one to validate, one validated to queue.
    const otherPatch = async (path: string[]) => {
      const { createPatch } = await admin(
        `mutation($r: ID!, $e: String, $d: String!) { createPatch(input: {projectId: "wr", runId: $r, executionRequestId: $e, targetRepo: "repo", diffText: $d}) { ledgerEntry { id } } }`,
        { r: runId, e: otherRequest, d: DIFF },
      );
      for (const field of path) await admin(`mutation($id: ID!) { ${field}(input: {ledgerId: $id}) { ledgerEntry { state } } }`, { id: createPatch.ledgerEntry.id });
      return createPatch.ledgerEntry.id as string;
    };
    const [otherCreated, otherValidated] = [await otherPatch([]), await otherPatch(['validatePatch'])];
    await admin(`mutation { setBudget(input: {scope: PROJECT, projectId: "wr", currency: "USD", limit: "150", action: HALT}) { budget { id } } }`);
    const cost =
      (amount: string, e: string | null = null, run = runId) =>
      () =>
        asWorker(`mutation($r: ID!, $e: ID, $a: Decimal) { recordCost(input: {runId: $r, executionRequestId: $e, resourceType: API_CALL, amount: $a, currency: "USD"}) { cost { id } } }`, {
          r: run,
          e: requestGid(e),
          a: amount,
        });
    await expectRefused('worker token reports beyond its task', [
      [
        'completeStep of an operator step',
        () => asWorker(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: operatorStep }),
        /completes only the steps it started/,
      ],
      [
        "startTestGate of the run's gate",
        () => asWorker(`mutation($id: ID!) { startTestGate(input: {id: $id}) { gate { state } } }`, { id: runGate }),
        /names no execution request, so it is the run's own/,
      ],
      [
        "completeTestGate (passing) of the run's gate",
        () => asWorker(`mutation($id: ID!) { completeTestGate(input: {id: $id, exitCode: 0}) { gate { state } } }`, { id: runningRunGate }),
        /names no execution request, so it is the run's own/,
      ],
      [
        "startTestGate of another task's gate",
        () => asWorker(`mutation($id: ID!) { startTestGate(input: {id: $id}) { gate { state } } }`, { id: otherGate }),
        /execution request .+ is not that of a task its workers hold now/,
      ],
      [
        "startStep naming another task's execution request",
        () => asWorker(`mutation($r: ID!, $e: String) { startStep(input: {runId: $r, toolId: "t", executionRequestId: $e}) { step { id } } }`, { r: runId, e: otherRequest }),
        /is not that of a task its workers hold now/,
      ],
      [
        "createPatch naming another task's execution request",
        () =>
          asWorker(`mutation($r: ID!, $e: String, $d: String!) { createPatch(input: {projectId: "wr", runId: $r, executionRequestId: $e, targetRepo: "repo", diffText: $d}) { ledgerEntry { id } } }`, {
            r: runId,
            e: otherRequest,
            d: DIFF,
          }),
        /is not that of a task its workers hold now/,
      ],
      [
        "validatePatch of another task's patch",
        () => asWorker(`mutation($id: ID!) { validatePatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`, { id: otherCreated }),
        /may not report the validation of a patch .+ is not that of a task its workers hold now/,
      ],
      [
        "queuePatch of another task's patch",
        () => asWorker(`mutation($id: ID!) { queuePatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`, { id: otherValidated }),
        /may not report the queueing of a patch .+ is not that of a task its workers hold now/,
      ],
      ["recordCost naming another task's execution request", cost('1', otherRequest), /is not that of a task its workers hold now/],
      ['recordCost on a run its workers hold no task of', cost('1', null, otherRun), /none of the workers it registered holds a task of that run now/],
      ['recordCost of 150 USD (the HALT budget) in one go', cost('150'), /records at most 100 \(in any currency, summed\) through one task/],
      ['recordCost without a run', () => asWorker(`mutation { recordCost(input: {projectId: "wr", resourceType: API_CALL, amount: "1", currency: "USD"}) { cost { id } } }`), /names no run/],
    ]);
  });

  it('its own flow works: its step, its patch, its gate, its costs up to the bound, never past it (so no HALT)', async () => {
    const step = await asWorker(`mutation($r: ID!, $e: String) { startStep(input: {runId: $r, toolId: "t", executionRequestId: $e, inputPrompt: "edit"}) { step { id state } } }`, {
      r: runId,
      e: ownRequest,
    });
    expect(step.errors).toBeUndefined();
    const done = await asWorker(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state run { id state } } } }`, { id: step.data.startStep.step.id });
    expect(done.errors).toBeUndefined();
    expect(done.data.completeStep.step).toEqual({ state: 'SUCCEEDED', run: { id: runId, state: 'RUNNING' } });
    const patch = await asWorker(
      `mutation($r: ID!, $e: String, $d: String!) { createPatch(input: {projectId: "wr", runId: $r, executionRequestId: $e, targetRepo: "repo", diffText: $d}) { ledgerEntry { id state } } }`,
      { r: runId, e: ownRequest, d: DIFF },
    );
    expect(patch.errors).toBeUndefined();
    expect(patch.data.createPatch.ledgerEntry.state).toBe('CREATED');
    // It validates and queues its own patch, and records applying it.
    const ledgerId = patch.data.createPatch.ledgerEntry.id;
    for (const [field, extra, state] of [
      ['validatePatch', '', 'VALIDATED'],
      ['queuePatch', '', 'QUEUED'],
      ['recordPatchApply', ', success: true, appliedFiles: ["src/a.ts"]', 'APPLIED'],
    ]) {
      const moved = await asWorker(`mutation($id: ID!) { ${field}(input: {ledgerId: $id${extra}}) { ledgerEntry { state } } }`, { id: ledgerId });
      expect(moved.errors, field).toBeUndefined();
      expect(moved.data[field!].ledgerEntry.state, field).toBe(state);
    }
    const gate = await createGate(ownRequest);
    const started = await asWorker(`mutation($id: ID!) { startTestGate(input: {id: $id, command: "npm test"}) { gate { state } } }`, { id: gate });
    expect(started.errors).toBeUndefined();
    const passed = await asWorker(
      `mutation($id: ID!) { completeTestGate(input: {id: $id, exitCode: 0, results: {totalTests: 3, passedTests: 3, failedTests: 0, skippedTests: 0}}) { gate { state } } }`,
      { id: gate },
    );
    expect(passed.errors).toBeUndefined();
    expect(passed.data.completeTestGate.gate.state).toBe('PASSED');
    const cost = (amount: string, e: string | null) =>
      asWorker(`mutation($r: ID!, $e: ID, $a: Decimal) { recordCost(input: {runId: $r, executionRequestId: $e, resourceType: API_CALL, amount: $a, currency: "USD"}) { cost { amount } } }`, {
        r: runId,
        e: requestGid(e),
        a: amount,
      });
    for (const [amount, e] of [
      ['60', ownRequest],
      ['39.5', null],
    ] as const) {
      const res = await cost(amount, e);
      expect(res.errors, amount).toBeUndefined();
      expect(res.data.recordCost.cost.amount).toBe(amount);
    }
    // 99.5 recorded through t1: 0.5 more is the bound, 0.6 would pass it (and the 150 HALT budget stays unspent past 100).
    await expectRefused('worker token costs past the bound', [['recordCost past 100 per task', () => cost('0.6', ownRequest), /records at most 100 .+ task \S+ would pass that/]]);
    expect((await cost('0.5', ownRequest)).errors).toBeUndefined();
    const { run } = await admin(`query($id: ID!) { run(id: $id) { state } }`, { id: runId });
    expect(run.state).toBe('RUNNING');
    // An operate token records past it (and so can HALT the project, as an operator may).
    const operator = await createToken('wr-operator', ['OPERATE']);
    const big = await server.gql(`mutation($r: ID!) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "200", currency: "USD"}) { cost { amount } } }`, { r: runId }, { token: operator });
    expect(big.errors).toBeUndefined();
    expect((await admin(`query($id: ID!) { run(id: $id) { state } }`, { id: runId })).run.state).toBe('CANCELED');
  });

  it('once its task is completed it reports nothing more on the run', async () => {
    const done = await asWorker(`mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { state } } }`, { w: workerId });
    expect(done.errors).toBeUndefined();
    await expectRefused('worker token after its task ended', [
      [
        'recordCost after completeTask',
        () => asWorker(`mutation($r: ID!) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "0.1", currency: "USD"}) { cost { id } } }`, { r: runId }),
        /none of the workers it registered holds a task of that run now/,
      ],
    ]);
  });

  it('concurrent costs through one task never pass the bound together', async () => {
    const { createRun } = await admin(`mutation { createRun(input: {projectId: "wr-race", phaseId: "p"}) { run { id } } }`);
    const raceRun = createRun.run.id;
    await admin(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: raceRun });
    await admin(`mutation($r: ID!) { createTask(input: {kind: "wr-race", runId: $r}) { task { id } } }`, { r: raceRun });
    expect((await asWorker(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["wr-race"]}) { task { id } } }`, { w: workerId })).errors).toBeUndefined();
    const report = await underAttack(server, () =>
      Promise.all(
        Array.from({ length: 12 }, () => asWorker(`mutation($r: ID!) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "15", currency: "USD"}) { cost { id } } }`, { r: raceRun })),
      ),
    );
    const results = report.result;
    // 6 x 15 = 90 fit under 100; a 7th would make 105.
    expect(results.filter((r) => r.errors === undefined)).toHaveLength(6);
    expect(results.filter((r) => codes(r)[0] === 'FORBIDDEN')).toHaveLength(6);
    const em = server.engine.orm.em.fork();
    expect(await em.count(CostRecordSchema, { runId: rawId(raceRun) })).toBe(6);
    expectBystanderServed('12 concurrent worker costs against a bound of 100', report);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { codes, createRun, subscribe, startTestServer, type TestServer } from '../helpers/server.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';

/**
 * A step ends with its task's attempt (docs/domain.md#runs-and-steps): whatever ends the attempt without the worker
 * completing the step (pause, shutdown, a crash, the reaper, a timeout, completeTask), the step turns CANCELED with
 * a reason, a TOOL_CALL_COMPLETED event, and its log's subscribers complete.
 */

const clock = new ManualClock('2026-12-01T00:00:00.000Z');
let server: TestServer;
let token: string;
let kinds = 0;

const ok = <T = any>(query: string, variables?: Record<string, unknown>, as?: string) => server.ok<T>(query, variables, as === undefined ? undefined : { token: as });
const FOLLOW = `subscription($id: ID!) { stepLogAppended(stepId: $id, after: 0) { text } }`;
const APPEND = `mutation($id: ID!, $o: Int!) { appendStepLog(input: {stepId: $id, offset: $o, text: "more\\n"}) { size } }`;
const COMPLETE_STEP = `mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED, exitCode: 0}) { step { state } } }`;

beforeAll(async () => {
  // No reaper on a timer: the tests move the clock and call it.
  server = await startTestServer({ clock, jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0, heartbeatsPerMinute: 0, logAppendsPerMinute: 0 } });
  token = (await ok(`mutation { createApiToken(input: {name: "attempt-steps", scopes: [WORKER]}) { token } }`)).createApiToken.token;
});

afterAll(async () => {
  await server?.stop();
});

const registerWorker = async (as?: string) =>
  (await ok(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 4, timeoutSeconds: 30}}) { worker { id } } }`, {}, as)).registerWorker.worker.id as string;

const createTask = async (runId: string, kind: string, timeoutSeconds?: number) =>
  (await ok(`mutation($r: ID!, $k: String!, $t: Float) { createTask(input: {kind: $k, runId: $r, timeoutSeconds: $t}) { task { id } } }`, { r: runId, k: kind, t: timeoutSeconds })).createTask.task
    .id as string;

const claim = async (workerId: string, kind: string, as?: string) =>
  (await ok(`mutation($w: ID!, $k: String!) { claimTask(input: {workerId: $w, kinds: [$k]}) { task { id } } }`, { w: workerId, k: kind }, as)).claimTask.task.id as string;

const startStep = async (runId: string, as?: string, executionRequestId?: string) =>
  (await ok(`mutation($r: ID!, $e: String) { startStep(input: {runId: $r, toolId: "tool", executionRequestId: $e}) { step { id } } }`, { r: runId, e: executionRequestId }, as)).startStep.step
    .id as string;

/** A running run, a worker (registered by the WORKER-only token) holding one of its tasks, and a step that token started with one line of log. */
async function busyWorkerWithStep(timeoutSeconds?: number): Promise<{ runId: string; workerId: string; taskId: string; stepId: string }> {
  const runId = await createRun(server);
  await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
  const workerId = await registerWorker(token);
  const kind = `attempt-steps-${++kinds}`;
  const taskId = await createTask(runId, kind, timeoutSeconds);
  await claim(workerId, kind, token);
  const stepId = await startStep(runId, token);
  await ok(`mutation($id: ID!) { appendStepLog(input: {stepId: $id, offset: 0, text: "out\\n"}) { size } }`, { id: stepId }, token);
  return { runId, workerId, taskId, stepId };
}

/** Follows the step's log from its start: the line already there arrives first. */
async function follow(stepId: string) {
  const client = server.wsClient();
  const sub = subscribe(client, FOLLOW, { id: stepId });
  await sub.next(1);
  return { sub, dispose: () => client.dispose() };
}

const stepOf = async (stepId: string) =>
  (await ok(`query($id: ID!) { node(id: $id) { ... on StepAttempt { state stateReason endedAt } } }`, { id: stepId })).node as { state: string; stateReason: string | null; endedAt: string | null };

const stepEvents = async (runId: string, stepId: string) => {
  const { run } = await ok(`query($id: ID!) { run(id: $id) { events(first: 100) { edges { node { kind payload step { id } } } } } }`, { id: runId });
  return (run.events.edges as { node: { kind: string; payload: any; step: { id: string } | null } }[]).map((e) => e.node).filter((e) => e.step?.id === stepId);
};

const taskOf = async (taskId: string) => (await ok(`query($id: ID!) { task(id: $id) { state attempts error } }`, { id: taskId })).task;

/** The step was CANCELED for `reason`, with its event (naming the task and attempt), and its log's subscriber completed with what was there. */
async function expectCanceled(ids: { runId: string; stepId: string; taskId: string }, follower: Awaited<ReturnType<typeof follow>>, reason: RegExp, attempt = 1): Promise<void> {
  await follower.sub.done;
  expect(follower.sub.results.map((r) => r.data.stepLogAppended.text)).toEqual(['out\n']);
  const step = await stepOf(ids.stepId);
  expect(step.state).toBe('CANCELED');
  expect(step.stateReason).toMatch(reason);
  expect(step.endedAt).toBe(clock.now().toISOString());
  const events = await stepEvents(ids.runId, ids.stepId);
  expect(events.map((e) => e.kind)).toEqual(['TOOL_CALL_STARTED', 'TOOL_CALL_COMPLETED']);
  expect(events[1]!.payload).toMatchObject({ state: 'canceled', reason: step.stateReason, attempt });
  expect(typeof events[1]!.payload.taskId).toBe('string');
  // The log takes nothing more, from its worker or anyone.
  expect(codes(await server.gql(APPEND, { id: ids.stepId, o: 4 }))).toEqual(['INVALID_TRANSITION']);
  expect(codes(await server.gql(COMPLETE_STEP, { id: ids.stepId }))).toEqual(['INVALID_TRANSITION']);
}

describe('a step ends with its task attempt', () => {
  it.each([
    ['pauseWorker', 'paused'],
    ['shutdownWorker', 'shut down'],
  ])('%s of a busy worker cancels the step its token started, completes the log stream, and requeues the task', async (mutation, said) => {
    const ids = await busyWorkerWithStep();
    const follower = await follow(ids.stepId);
    try {
      await ok(`mutation($id: ID!) { ${mutation}(input: {id: $id}) { worker { state } } }`, { id: ids.workerId });
      await expectCanceled(ids, follower, new RegExp(`^the task's attempt ended: worker \\S+ was ${said}$`));
      expect(await taskOf(ids.taskId)).toMatchObject({ state: 'PENDING', attempts: 0 });
      // The worker's token can no longer report on the step (its worker holds no task of the run).
      expect(codes(await server.gql(COMPLETE_STEP, { id: ids.stepId }, { token }))).toEqual(['FORBIDDEN']);
    } finally {
      await follower.dispose();
    }
  });

  it('crashWorker cancels it, naming the crash', async () => {
    const ids = await busyWorkerWithStep();
    const follower = await follow(ids.stepId);
    try {
      await ok(`mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "out of memory"}) { worker { state } } }`, { id: ids.workerId }, token);
      await expectCanceled(ids, follower, /^the task's attempt ended: worker \S+ crashed: out of memory$/);
      expect(await taskOf(ids.taskId)).toMatchObject({ state: 'PENDING', attempts: 1 });
    } finally {
      await follower.dispose();
    }
  });

  it('the reaper crashing a silent worker cancels it, and the next attempt is numbered 2', async () => {
    const ids = await busyWorkerWithStep();
    const follower = await follow(ids.stepId);
    try {
      clock.advance(31_000);
      expect((await server.engine.reaper.reap()).crashedWorkers.length).toBeGreaterThanOrEqual(1);
      await expectCanceled(ids, follower, /^the task's attempt ended: worker \S+ lost: heartbeat lost: none for 31 s \(timeout 30 s; /);
      expect(await taskOf(ids.taskId)).toMatchObject({ state: 'PENDING', attempts: 1 });

      // Another worker takes the task: its step belongs to attempt 2, and ends with it.
      const workerId = await registerWorker(token);
      const kind = `attempt-steps-${kinds}`;
      await claim(workerId, kind, token);
      const stepId = await startStep(ids.runId, token);
      await ok(`mutation($id: ID!) { appendStepLog(input: {stepId: $id, offset: 0, text: "out\\n"}) { size } }`, { id: stepId }, token);
      const second = await follow(stepId);
      try {
        await ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state } } }`, { id: workerId });
        await expectCanceled({ ...ids, stepId }, second, /was paused$/, 2);
      } finally {
        await second.dispose();
      }
    } finally {
      await follower.dispose();
    }
  });

  it("an attempt that runs past its task's timeout cancels it", async () => {
    const ids = await busyWorkerWithStep(5);
    const follower = await follow(ids.stepId);
    try {
      clock.advance(6_000);
      expect((await server.engine.reaper.reap()).timedOutTasks).toHaveLength(1);
      await expectCanceled(ids, follower, /^the task's attempt ended: timed out after 6 s \(timeout 5 s\)$/);
      expect(await taskOf(ids.taskId)).toMatchObject({ state: 'PENDING', attempts: 1 });
      expect((await ok(`query($id: ID!) { worker(id: $id) { state } }`, { id: ids.workerId })).worker.state).toBe('IDLE');
    } finally {
      await follower.dispose();
    }
  });

  it.each([
    [true, 'COMPLETED', /^the task was completed with the step still running$/],
    [false, 'PENDING', /^the task was reported failed with the step still running$/],
  ])('completeTask(success: %s) with the step still running cancels it', async (success, taskState, reason) => {
    const ids = await busyWorkerWithStep();
    const follower = await follow(ids.stepId);
    try {
      await ok(`mutation($w: ID!, $s: Boolean!) { completeTask(input: {workerId: $w, success: $s, error: "exit 1"}) { task { state } } }`, { w: ids.workerId, s: success }, token);
      await expectCanceled(ids, follower, reason);
      expect((await taskOf(ids.taskId)).state).toBe(taskState);
    } finally {
      await follower.dispose();
    }
  });

  it('leaves alone a step its worker completed, and the steps of other tasks', async () => {
    const ids = await busyWorkerWithStep();
    await ok(COMPLETE_STEP, { id: ids.stepId }, token);
    // An operator's step on the same run belongs to no task's attempt.
    const operatorStep = await startStep(ids.runId);
    await ok(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state } } }`, { id: ids.workerId });
    expect((await stepOf(ids.stepId)).state).toBe('SUCCEEDED');
    expect((await stepOf(operatorStep)).state).toBe('RUNNING');
    expect((await stepEvents(ids.runId, ids.stepId)).map((e) => e.kind)).toEqual(['TOOL_CALL_STARTED', 'TOOL_CALL_COMPLETED']);
  });

  it('ties no step to a task when the worker holds several of the run and the step names no execution request', async () => {
    const ids = await busyWorkerWithStep();
    const kind = `attempt-steps-${++kinds}`;
    const other = await createTask(ids.runId, kind);
    await claim(ids.workerId, kind, token);
    const unclear = await startStep(ids.runId, token);
    await ok(`mutation($w: ID!, $t: ID!) { completeTask(input: {workerId: $w, taskId: $t, success: true}) { task { state } } }`, { w: ids.workerId, t: other }, token);
    // The first step was surely the first task's (its only one then); the second could be either's, so neither's end takes it.
    expect((await stepOf(ids.stepId)).state).toBe('RUNNING');
    expect((await stepOf(unclear)).state).toBe('RUNNING');
    await ok(`mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { state } } }`, { w: ids.workerId }, token);
    expect((await stepOf(ids.stepId)).state).toBe('CANCELED');
    expect((await stepOf(unclear)).state).toBe('RUNNING');
  });

  it("ties an operate token's step to the running task whose execution request it names", async () => {
    const spec = workstreamSpec([taskSpec('only', [], { kind: 'attempt-steps-ws' })], { id: 'ws-attempt-steps' });
    const { submitWorkstream } = await ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } } } }`, { s: spec });
    const runId = submitWorkstream.workstream.run.id as string;
    const workerId = await registerWorker();
    const { claimTask } = await ok(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["attempt-steps-ws"]}) { task { id executionRequest { document } } } }`, { w: workerId });
    const requestId = claimTask.task.executionRequest.document.request_id as string;
    const stepId = await startStep(runId, undefined, requestId);
    const unnamed = await startStep(runId);
    await ok(`mutation($id: ID!) { shutdownWorker(input: {id: $id}) { worker { state } } }`, { id: workerId });
    expect(await stepOf(stepId)).toMatchObject({ state: 'CANCELED', stateReason: expect.stringMatching(/was shut down$/) });
    expect((await stepOf(unnamed)).state).toBe('RUNNING');
  });
});

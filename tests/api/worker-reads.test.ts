import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 21: what a WORKER-only token reads to run its task (the real worker,
 * src/worker/, talks to the public API only): the claimed task, the tools'
 * commands and limits, the state changes of the run its worker holds a task
 * of and of its own worker; and no other run's or worker's.
 */

let server: TestServer;
let owner: string;
let ownWorker: string;
/** Same name and scopes as `owner` (token names are not unique), no part in its run. */
let twin: string;
let twinWorker: string;
let runId: string;

const admin = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

async function createToken(name: string, scopes: string[]): Promise<string> {
  return (await admin(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, { input: { name, scopes } })).createApiToken.token;
}

async function registerWorker(token: string): Promise<string> {
  const res = await server.gql(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`, {}, { token });
  expect(res.errors).toBeUndefined();
  return res.data.registerWorker.worker.id;
}

/** The first result of a subscription as `token`, after `trigger` (when the stream opened); or its refusal. */
async function watch(token: string, query: string, variables: Record<string, unknown>, trigger?: () => Promise<unknown>): Promise<GraphQLResponse> {
  const streams = server.engine.openStreams();
  const client = server.wsClient({ token });
  const sub = subscribe(client, query, variables);
  try {
    if (trigger) {
      await until(() => server.engine.openStreams() > streams || sub.results.length > 0, 'the stream to open (or a refusal)');
      if (sub.results.length === 0) await trigger();
    }
    await sub.next(1);
    return sub.results[0]!;
  } finally {
    sub.stop();
    await client.dispose();
    await until(() => server.engine.openStreams() === streams, 'the stream to close');
  }
}

const RUN_STATE = `subscription($r: ID) { runStateChanged(runId: $r) { id state } }`;
const WORKER_STATE = `subscription($w: ID) { workerStateChanged(workerId: $w) { to worker { id state } } }`;

beforeAll(async () => {
  server = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
  await admin(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: routerConfig() });
  owner = await createToken('fleet-worker', ['WORKER']);
  twin = await createToken('fleet-worker', ['WORKER']);
  ownWorker = await registerWorker(owner);
  twinWorker = await registerWorker(twin);
  const spec = workstreamSpec([{ ...taskSpec('t1', [], { kind: 'lint', inputs: { args: ['--fix'], env: { MODE: 'strict' } } }), name: 'lint the tree' }], {
    projectId: 'wreads',
    id: 'ws-worker-reads',
  });
  runId = (await admin(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } } } }`, { s: spec })).submitWorkstream.workstream.run.id;
});
afterAll(() => server.stop());

describe('what a WORKER-only token reads to run its task', () => {
  it('the claimed task: its names, payload (with the task_spec inputs), tool, timeout, attempt, execution request and run', async () => {
    const res = await server.gql(
      `mutation($w: ID!) { claimTask(input: {workerId: $w}) { task {
        id name specTaskId payload toolId timeoutSeconds attempt executionRequest { id toolId attempt document } run { id projectId state } } } }`,
      { w: ownWorker },
      { token: owner },
    );
    expect(res.errors).toBeUndefined();
    const task = res.data.claimTask.task;
    expect(task).toMatchObject({
      name: 'lint the tree',
      specTaskId: 't1',
      toolId: 'linter',
      timeoutSeconds: 600,
      attempt: 1,
      executionRequest: { toolId: 'linter', attempt: 1 },
      run: { id: runId, projectId: 'wreads', state: 'RUNNING' },
    });
    expect(task.payload.inputs).toEqual({ args: ['--fix'], env: { MODE: 'strict' } });
    expect(task.executionRequest.document.request_id).toEqual(expect.any(String));
  });

  it('the tools: their commands and limits', async () => {
    const res = await server.gql(`{ tools { id command limits { timeoutSeconds } } }`, {}, { token: owner });
    expect(res.errors).toBeUndefined();
    expect(res.data.tools).toEqual(['coder', 'linter', 'reviewer'].map((id) => ({ id, command: 'run', limits: { timeoutSeconds: 600 } })));
  });

  it('the state changes of the run its worker holds a task of (a cancel), and of its own worker (a pause)', async () => {
    const run = await watch(owner, RUN_STATE, { r: runId }, async () => {
      // While its stream is open, a token of the same name and scopes subscribing alike is refused, not joined to it.
      const twins = await watch(twin, RUN_STATE, { r: runId });
      expect(codes(twins)).toEqual(['FORBIDDEN']);
      await admin(`mutation($id: ID!) { cancelRun(input: {id: $id, reason: "not needed"}) { run { id } } }`, { id: runId });
    });
    expect(run).toEqual({ data: { runStateChanged: { id: runId, state: 'CANCELED' } } });
    const worker = await watch(owner, WORKER_STATE, { w: ownWorker }, () => admin(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: ownWorker }));
    expect(worker).toEqual({ data: { workerStateChanged: { to: 'PAUSED', worker: { id: ownWorker, state: 'PAUSED' } } } });
  });

  it("refuses another token's run and worker (one of the same name included), every run or worker at once, and an unknown worker", async () => {
    const other = (await admin(`mutation { createRun(input: {projectId: "wreads", phaseId: "p"}) { run { id } } }`)).createRun.run.id;
    const cases: [string, string, string, Record<string, unknown>, string, RegExp][] = [
      [
        'a run its workers hold no task of (a token of the same name)',
        twin,
        RUN_STATE,
        { r: runId },
        'FORBIDDEN',
        /token "fleet-worker" may not watch run \S+: none of the workers it registered holds a task of that run now/,
      ],
      ['a run of no task', owner, RUN_STATE, { r: other }, 'FORBIDDEN', /none of the workers it registered holds a task of that run now/],
      ['every run', owner, RUN_STATE, {}, 'FORBIDDEN', /may not watch every run: .+must name it \(runId\)/],
      ["another token's worker", owner, WORKER_STATE, { w: twinWorker }, 'FORBIDDEN', /did not register worker \S+ and may not act for it/],
      ['every worker', owner, WORKER_STATE, {}, 'FORBIDDEN', /may not watch every worker: .+must name it \(workerId\)/],
      ['an unknown worker', owner, WORKER_STATE, { w: '01ZZZZZZZZZZZZZZZZZZZZZZZZ' }, 'NOT_FOUND', /Worker/],
    ];
    for (const [name, token, query, variables, code, message] of cases) {
      const res = await watch(token, query, variables);
      expect(codes(res), name).toEqual([code]);
      expect(res.errors?.[0]?.message, name).toMatch(message);
    }
  });

  it('a token with READ as well watches any run and every worker', async () => {
    const reader = await createToken('fleet-worker', ['WORKER', 'READ']);
    const fresh = (await admin(`mutation { createRun(input: {projectId: "wreads", phaseId: "p"}) { run { id } } }`)).createRun.run.id;
    const run = await watch(reader, RUN_STATE, {}, () => admin(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: fresh }));
    expect(run).toEqual({ data: { runStateChanged: { id: fresh, state: 'RUNNING' } } });
    const worker = await watch(reader, WORKER_STATE, {}, () => admin(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: twinWorker }));
    expect(worker.data?.workerStateChanged).toEqual({ to: 'PAUSED', worker: { id: twinWorker, state: 'PAUSED' } });
  });
});

import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const SIMULATE_USAGE = `usage: uet-gateway simulate --token TOKEN [--url http://127.0.0.1:4000/graphql] [--workers 4] [--seconds 60] [--tasks 20]
  Simulated workers against a running gateway, each on its own graphql-ws connection: they register,
  heartbeat every 2 s, claim tasks, report a cost and (for tasks of a run with a gate) the gate result,
  and complete them (about 1 in 10 fails). --tasks queues that many tasks first (0: only what is queued).
  The token needs the worker and operate scopes (or admin).`;

interface Options {
  url: string;
  token: string;
  workers: number;
  seconds: number;
  tasks: number;
}

/** One operation over a socket; throws on a GraphQL error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a GraphQL response is untyped JSON, read field by field
async function call<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  for await (const result of client.iterate({ query, variables })) {
    if (result.errors?.length) throw new Error(result.errors.map((e) => e.message).join('; '));
    return result.data as T;
  }
  throw new Error('no result');
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * `uet-gateway simulate`: traffic for GraphiQL and dashboards to show. It
 * talks to the gateway only through its API, as real workers do.
 */
export async function simulateCommand(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) {
    console.error(SIMULATE_USAGE);
    return 2;
  }
  const stop = new AbortController();
  const end = setTimeout(() => stop.abort(), options.seconds * 1000);
  process.once('SIGINT', () => stop.abort());
  const clients: Client[] = [];
  const connect = () => {
    const client = createClient({
      url: options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${options.token}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };
  const totals = { completed: 0, failed: 0, heartbeats: 0 };
  try {
    const operator = connect();
    for (let i = 0; i < options.tasks; i++) {
      await call(operator, `mutation($k: String!, $p: JSON) { createTask(input: {kind: $k, payload: $p, maxAttempts: 2}) { task { id } } }`, {
        k: i % 3 ? 'code_edit' : 'lint',
        p: { file: `src/feature${i}.ts` },
      });
    }
    await Promise.all(Array.from({ length: options.workers }, (_, i) => simulateWorker(connect(), i, stop.signal, totals)));
  } finally {
    clearTimeout(end);
    await Promise.all(clients.map((client) => client.dispose()));
  }
  console.log(`simulated ${options.workers} workers for up to ${options.seconds} s: ${totals.completed} tasks completed, ${totals.failed} failed, ${totals.heartbeats} heartbeats`);
  return 0;
}

async function simulateWorker(client: Client, index: number, signal: AbortSignal, totals: { completed: number; failed: number; heartbeats: number }): Promise<void> {
  const { registerWorker } = await call(client, `mutation($m: JSON) { registerWorker(input: {type: EXECUTOR, metadata: $m, config: {heartbeatInterval: 2, timeoutSeconds: 30}}) { worker { id } } }`, {
    m: { simulated: true, name: `sim-${index + 1}` },
  });
  const workerId = registerWorker.worker.id;
  const beat = async (progress: number) => {
    await call(client, `mutation($w: ID!, $p: Float) { heartbeat(input: {workerId: $w, progress: $p}) { worker { id } } }`, { w: workerId, p: progress });
    totals.heartbeats += 1;
  };
  while (!signal.aborted) {
    const { claimTask } = await call(client, `mutation($w: ID!) { claimTask(input: {workerId: $w}) { task { id kind run { id } } } }`, { w: workerId });
    if (!claimTask.task) {
      await beat(0);
      await sleep(2_000, signal);
      continue;
    }
    const task = claimTask.task;
    const seconds = 1 + Math.random() * 3;
    for (let progress = 25; progress < 100 && !signal.aborted; progress += 25) {
      await sleep((seconds * 1000) / 4, signal);
      await beat(progress);
    }
    const success = Math.random() >= 0.1;
    // A cost of a run belongs to the run's project; one of a task without a run to the simulation's.
    await call(
      client,
      `mutation($r: ID, $p: String, $q: Decimal!) { recordCost(input: {runId: $r, projectId: $p, resourceType: API_CALL, currency: "USD", usage: {quantity: $q, unit: "tokens", rate: "0.000003"}, metadata: {model: "simulated"}}) { cost { id } } }`,
      {
        r: task.run?.id ?? null,
        p: task.run ? null : 'simulation',
        q: String(Math.round(500 + Math.random() * 4000)),
      },
    );
    if (task.run) await reportGate(client, task.run.id, success);
    await call(
      client,
      `mutation($w: ID!, $t: ID!, $s: Boolean!, $x: Float) { completeTask(input: {workerId: $w, taskId: $t, success: $s, executionTimeSeconds: $x, error: "simulated failure"}) { task { id } } }`,
      {
        w: workerId,
        t: task.id,
        s: success,
        x: seconds,
      },
    );
    if (success) totals.completed += 1;
    else totals.failed += 1;
  }
  await call(client, `mutation($w: ID!) { shutdownWorker(input: {id: $w}) { worker { id } } }`, { w: workerId });
}

/** Runs a pending gate of the task's run, if it has one, and reports its outcome. */
async function reportGate(client: Client, runId: string, passed: boolean): Promise<void> {
  const { testGates } = await call(client, `query($r: ID) { testGates(first: 1, filter: {runId: $r, states: [PENDING]}) { edges { node { id } } } }`, { r: runId });
  const gate = testGates.edges[0]?.node;
  if (!gate) return;
  await call(client, `mutation($g: ID!) { startTestGate(input: {id: $g, command: "npm test"}) { gate { id } } }`, { g: gate.id });
  await call(
    client,
    `mutation($g: ID!, $f: Int!) { completeTestGate(input: {id: $g, exitCode: 0, results: {totalTests: 40, passedTests: ${passed ? 40 : 38}, failedTests: $f, skippedTests: 0, coveragePercent: 81}}) { gate { id } } }`,
    {
      g: gate.id,
      f: passed ? 0 : 2,
    },
  );
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:4000/graphql' },
      token: { type: 'string', default: process.env.UET_TOKEN ?? process.env.UET_ADMIN_TOKEN },
      workers: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '60' },
      tasks: { type: 'string', default: '20' },
    },
  });
  const workers = Number(values.workers);
  const seconds = Number(values.seconds);
  const tasks = Number(values.tasks);
  if (!values.token || !Number.isInteger(workers) || workers < 1 || workers > 500 || !(seconds > 0) || !Number.isInteger(tasks) || tasks < 0) return null;
  return { url: values.url!, token: values.token, workers, seconds, tasks };
}

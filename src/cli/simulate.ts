import type { Client } from 'graphql-ws';
import { parseCommandArgs, UsageError } from './args.js';
import { call, checkGateway, describeFailure, openGateway, sleep } from './gateway-calls.js';
import { simulateReal } from './simulate-real.js';

export const SIMULATE_USAGE = `usage: uet-gateway simulate --token TOKEN [--url URL] [--workers 4] [--seconds 60] [--tasks 20] [--every 5] [--real]
  Simulated workers against a running gateway, each on its own graphql-ws connection: they register,
  heartbeat every 2 s, claim tasks, report a cost and (for tasks of a run with a gate) the gate result,
  and complete them (about 1 in 10 fails). --tasks queues that many tasks first (0: only what is queued).
  --real: real \`uet-gateway worker\` processes (--workers of them, 2 unless given) run the demo tools of examples/tools/
  instead: it adds the tools demo-agent, demo-lint and demo-tests to the router configuration, submits a
  workstream of three tasks (an edit, then lint and tests on a sample repository), prints progress until
  its run ends or --seconds pass, then the tasks, gates, patches and costs, and stops the workers (exit 0
  when the run succeeded; --tasks is not used). Needs admin (the router configuration).
  --url is the gateway's GraphQL endpoint: http://127.0.0.1:$PORT/graphql (PORT defaults to 4000).
  Prints a progress line every --every seconds on stderr. The token (--token, or UET_TOKEN, or
  UET_ADMIN_TOKEN) needs the worker and operate scopes (or admin).`;

interface Options {
  url: string;
  token: string;
  workers: number;
  seconds: number;
  tasks: number;
  every: number;
  real: boolean;
}

interface Totals {
  registered: number;
  claimed: number;
  completed: number;
  failed: number;
  heartbeats: number;
  /** What the recorded costs came to, in USD (for the progress line only). */
  costUsd: number;
}

/**
 * `uet-gateway simulate`: traffic for GraphiQL and dashboards to show. It
 * talks to the gateway only through its API, as real workers do.
 */
export async function simulateCommand(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  try {
    await checkGateway(options);
    if (options.real) return await simulateReal(options);
    const totals = await simulate(options);
    console.log(
      `simulated ${options.workers} workers for up to ${options.seconds} s: ${totals.completed} tasks completed, ${totals.failed} failed, ${totals.heartbeats} heartbeats, costs USD ${totals.costUsd.toFixed(4)}`,
    );
    return 0;
  } catch (error) {
    console.error(`error: ${describeFailure(error, options.url)}`);
    return 1;
  }
}

async function simulate(options: Options): Promise<Totals> {
  const stop = new AbortController();
  const end = setTimeout(() => stop.abort(), options.seconds * 1000);
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const totals: Totals = { registered: 0, claimed: 0, completed: 0, failed: 0, heartbeats: 0, costUsd: 0 };
  const report = setInterval(() => console.error(progressLine(totals)), options.every * 1000);
  const clients: Client[] = [];
  const connect = () => {
    const client = openGateway(options.url, options.token);
    clients.push(client);
    return client;
  };
  try {
    const operator = connect();
    for (let i = 0; i < options.tasks; i++) {
      await call(operator, `mutation($k: String!, $p: JSON) { createTask(input: {kind: $k, payload: $p, maxAttempts: 2}) { task { id } } }`, {
        k: i % 3 ? 'code_edit' : 'lint',
        p: { file: `src/feature${i}.ts` },
      });
    }
    await Promise.all(Array.from({ length: options.workers }, (_, i) => simulateWorker(connect(), i, stop.signal, totals)));
    return totals;
  } finally {
    clearTimeout(end);
    clearInterval(report);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await Promise.all(clients.map((client) => client.dispose()));
  }
}

const progressLine = (t: Totals) =>
  `${new Date().toISOString().slice(11, 19)} workers ${t.registered} registered; tasks ${t.claimed} claimed, ${t.completed} completed, ${t.failed} failed; ${t.heartbeats} heartbeats; costs USD ${t.costUsd.toFixed(4)}`;

async function simulateWorker(client: Client, index: number, signal: AbortSignal, totals: Totals): Promise<void> {
  const { registerWorker } = await call(client, `mutation($m: JSON) { registerWorker(input: {type: EXECUTOR, metadata: $m, config: {heartbeatInterval: 2, timeoutSeconds: 30}}) { worker { id } } }`, {
    m: { simulated: true, name: `sim-${index + 1}` },
  });
  const workerId = registerWorker.worker.id;
  totals.registered += 1;
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
    totals.claimed += 1;
    const seconds = 1 + Math.random() * 3;
    for (let progress = 25; progress < 100 && !signal.aborted; progress += 25) {
      await sleep((seconds * 1000) / 4, signal);
      await beat(progress);
    }
    const success = Math.random() >= 0.1;
    // A cost of a run belongs to the run's project; one of a task without a run to the simulation's.
    const { recordCost } = await call(
      client,
      `mutation($r: ID, $p: String, $q: Decimal!) { recordCost(input: {runId: $r, projectId: $p, resourceType: API_CALL, currency: "USD", usage: {quantity: $q, unit: "tokens", rate: "0.000003"}, metadata: {model: "simulated"}}) { cost { amount } } }`,
      {
        r: task.run?.id ?? null,
        p: task.run ? null : 'simulation',
        q: String(Math.round(500 + Math.random() * 4000)),
      },
    );
    totals.costUsd += Number(recordCost.cost.amount);
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

/** A whole-number option within bounds, or a UsageError that says which and what it got. */
function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, SIMULATE_USAGE);
  return value;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandArgs(argv, SIMULATE_USAGE, {
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      workers: { type: 'string' },
      seconds: { type: 'string', default: '60' },
      tasks: { type: 'string', default: '20' },
      every: { type: 'string', default: '5' },
      real: { type: 'boolean', default: false },
    },
  });
  const token = values.token ?? (process.env.UET_TOKEN || process.env.UET_ADMIN_TOKEN);
  if (!token) throw new UsageError('--token is required (or set UET_TOKEN): the admin token npm start printed, or one with the worker and operate scopes', SIMULATE_USAGE);
  const port = process.env.PORT || '4000';
  const url = values.url ?? `http://127.0.0.1:${port}/graphql`;
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    throw new UsageError(`${values.url ? '--url' : 'PORT'} must give an http(s) URL such as http://127.0.0.1:4000/graphql, got "${values.url ?? port}"`, SIMULATE_USAGE);
  }
  return {
    url,
    token,
    // Real workers are processes: the three demo tasks need two at most.
    workers: wholeNumber('workers', values.workers ?? (values.real ? '2' : '4'), 1, 500),
    seconds: wholeNumber('seconds', values.seconds, 1, 86_400),
    tasks: wholeNumber('tasks', values.tasks, 0, 10_000),
    every: wholeNumber('every', values.every, 1, 3_600),
    real: values.real,
  };
}

import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { parseCommandArgs, UsageError } from './args.js';

export const SIMULATE_USAGE = `usage: uet-gateway simulate --token TOKEN [--url URL] [--workers 4] [--seconds 60] [--tasks 20] [--every 5]
  Simulated workers against a running gateway, each on its own graphql-ws connection: they register,
  heartbeat every 2 s, claim tasks, report a cost and (for tasks of a run with a gate) the gate result,
  and complete them (about 1 in 10 fails). --tasks queues that many tasks first (0: only what is queued).
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

/** A failure the user can act on, said in one line (main's `error: ...`). */
class GatewayError extends Error {}

/** One operation over a socket; throws on a GraphQL error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a GraphQL response is untyped JSON, read field by field
async function call<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  for await (const result of client.iterate({ query, variables })) {
    if (result.errors?.length) throw new GraphQLCallError(result.errors.map((e) => e.message).join('; '));
    return result.data as T;
  }
  throw new GraphQLCallError('the gateway ended an operation without an answer');
}

/** The gateway answered with an error. */
class GraphQLCallError extends Error {}

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
  try {
    await checkGateway(options);
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
    const client = createClient({
      url: options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${options.token}` },
      retryAttempts: 0,
    });
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

/**
 * One request over HTTP before any socket opens, so that a wrong URL, a
 * gateway that is not running or a refused token is said in one line
 * instead of surfacing as a socket's error event.
 */
async function checkGateway(options: Options): Promise<void> {
  let res: Response;
  try {
    res = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new GatewayError(`cannot reach the gateway at ${options.url}: ${networkReason(error)}; is it running? set --url or PORT`);
  }
  const body = (await res.json().catch(() => null)) as { errors?: { message: string; extensions?: { code?: string } }[] } | null;
  const refusal = body?.errors?.find((e) => e.extensions?.code === 'UNAUTHENTICATED' || e.extensions?.code === 'FORBIDDEN');
  if (refusal) throw new GatewayError(`the gateway at ${options.url} refused the token: ${refusal.message}`);
  if (!body || !res.ok) throw new GatewayError(`${options.url} answered HTTP ${res.status} without a GraphQL answer; is it the gateway's /graphql endpoint? set --url or PORT`);
}

/** Why a connection failed, in words: "connection refused" rather than ECONNREFUSED and a stack. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause ?? (error as { error?: { code?: string; message?: string } })?.error ?? error;
  const code = (cause as { code?: string })?.code;
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host not found',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'host unreachable',
  };
  if (code && reasons[code]) return reasons[code];
  if ((error as Error)?.name === 'TimeoutError') return 'no answer within 10 s';
  return (cause as Error)?.message ?? String(error);
}

/** One line for whatever ended the simulation: a GraphQL error, a socket error event, a close frame. */
function describeFailure(error: unknown, url: string): string {
  if (error instanceof GatewayError || error instanceof GraphQLCallError) return error.message;
  const close = error as { code?: unknown; reason?: unknown };
  if (typeof close?.code === 'number') {
    // 4403: graphql-ws's Forbidden, which the gateway sends with the reason a token was refused.
    if (close.code === 4403) return `the gateway at ${url} refused the token: ${String(close.reason)}`;
    return `the gateway at ${url} closed the connection (${close.code}${close.reason ? `: ${String(close.reason)}` : ''})`;
  }
  return `lost the gateway at ${url}: ${networkReason(error)}`;
}

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
      workers: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '60' },
      tasks: { type: 'string', default: '20' },
      every: { type: 'string', default: '5' },
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
    workers: wholeNumber('workers', values.workers, 1, 500),
    seconds: wholeNumber('seconds', values.seconds, 1, 86_400),
    tasks: wholeNumber('tasks', values.tasks, 0, 10_000),
    every: wholeNumber('every', values.every, 1, 3_600),
  };
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { startCli } from './cli.js';
import type { TestServer } from './server.js';
import { taskSpec, workstreamSpec } from './specs.js';
import { until } from './wait.js';

/** A tool: a Node script run as `node <file>` (the tool's command), with a timeout of its own. */
export interface ToolSource {
  /** The script (ESM, run by this Node). */
  source: string;
  timeoutSeconds?: number;
}

/** A folder of tool scripts and task folders for one test file; remove() at the end. */
export function workerScratch() {
  const dir = mkdtempSync(join(tmpdir(), 'uet-worker-test-'));
  return {
    dir,
    /** Writes the script and returns its command: `node <file>` (absolute paths, no shell syntax). */
    tool(name: string, source: string): string {
      const file = join(dir, `${name}.mjs`);
      writeFileSync(file, source);
      return `${process.execPath} ${file}`;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A router configuration of these tools, each taking the task kind of its
 * own id (so a workstream task of kind "echo" is routed to tool "echo").
 */
export async function setTools(server: TestServer, tools: Record<string, { command: string; timeoutSeconds?: number }>): Promise<void> {
  const apps = Object.fromEntries(
    Object.entries(tools).map(([id, tool]) => [
      id,
      { command: tool.command, capabilities: { task_kinds: [id], domains: [] }, limits: { max_parallel: 4, timeout_seconds: tool.timeoutSeconds ?? 600 } },
    ]),
  );
  await server.ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, {
    c: { version: 1, apps, routing: { rules: [] }, defaults: { max_attempts: 1, timeout_seconds: 600, strategy: 'fixed' } },
  });
}

let workstreams = 0;

/** A workstream of one task per kind given (no dependencies between them); returns its run id and task ids by kind. */
export async function submitTasks(server: TestServer, kinds: string[], options: { maxAttempts?: number; retry?: 'fixed' | 'none' } = {}): Promise<{ runId: string; taskIds: string[] }> {
  workstreams += 1;
  const spec = workstreamSpec(
    kinds.map((kind, i) => taskSpec(`t${i + 1}`, [], { kind, maxAttempts: options.maxAttempts ?? 1, retry: options.retry ?? 'none' })),
    { id: `ws-worker-${workstreams}`, projectId: 'worker-project' },
  );
  const { submitWorkstream } = await server.ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } tasks { id specTaskId } } } }`, { s: spec });
  const tasks = submitWorkstream.workstream.tasks as { id: string; specTaskId: string }[];
  return { runId: submitWorkstream.workstream.run.id, taskIds: kinds.map((_, i) => tasks.find((t) => t.specTaskId === `t${i + 1}`)!.id) };
}

/** A token with the scope a worker needs (worker; `scopes` to give others), created through the API. */
export async function workerToken(server: TestServer, scopes: string[] = ['WORKER']): Promise<string> {
  const data = await server.ok(`mutation($n: String!, $s: [Scope!]!) { createApiToken(input: {name: $n, scopes: $s}) { token } }`, {
    n: `worker-${Date.now()}-${Math.random()}`,
    s: scopes,
  });
  return data.createApiToken.token;
}

/** `uet-gateway worker` against the server (or `url`), spawned as a user would run it; its stderr is collected. */
export function startWorker(url: string, token: string, args: string[] = []) {
  const cli = startCli(['worker', '--url', url, '--token', token, '--heartbeat-seconds', '1', '--timeout-seconds', '30', '--grace-seconds', '2', ...args]);
  return {
    ...cli,
    /** Waits for a line of stderr matching `pattern`; returns the match. */
    async line(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
      await until(() => pattern.test(cli.output.stderr), `worker stderr to match ${pattern}; it said:\n${cli.output.stderr}`, timeoutMs);
      return cli.output.stderr.match(pattern)!;
    },
  };
}

export const TASK_FIELDS = 'id state error result attempts worker { id }';

/** A task's state, error and result through the API. */
export async function taskOf(server: TestServer, id: string) {
  return (await server.ok(`query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id })).task;
}

/** Waits until the task is in one of `states`; returns it. */
export async function taskReaches(server: TestServer, id: string, states: string[], timeoutMs = 60_000) {
  let task = await taskOf(server, id);
  const deadline = Date.now() + timeoutMs;
  while (!states.includes(task.state)) {
    if (Date.now() > deadline) throw new Error(`task ${id} is ${task.state}, not ${states.join('/')}: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    task = await taskOf(server, id);
  }
  return task;
}

/** The steps of a run, oldest first. */
export async function stepsOf(server: TestServer, runId: string) {
  const data = await server.ok(`query($r: ID!) { run(id: $r) { steps(first: 50) { edges { node { id state exitCode errorLog toolId } } } } }`, { r: runId });
  return data.run.steps.edges.map((e: any) => e.node);
}

/** A step's whole log text (all pages), as the gateway stored it. */
export async function stepLogText(server: TestServer, stepId: string): Promise<{ text: string; size: number; complete: boolean }> {
  const log = await readStepLog(server, stepId);
  return { text: log.chunks.map((chunk) => chunk.text).join(''), size: log.size, complete: log.complete };
}

export interface LogChunk {
  offset: number;
  endOffset: number;
  stream: 'STDOUT' | 'STDERR';
  text: string;
}

const CHUNK = 'offset endOffset stream text';

/** Every stored chunk of a step's log, page by page, with the log's totals. */
export async function readStepLog(server: TestServer, stepId: string): Promise<{ chunks: LogChunk[]; size: number; cutBytes: number; complete: boolean }> {
  const chunks: LogChunk[] = [];
  for (let after = 0; ;) {
    const { stepLog } = await server.ok(`query($s: ID!, $a: Int) { stepLog(stepId: $s, after: $a, first: 500) { chunks { ${CHUNK} } size cutBytes hasMore complete } }`, {
      s: stepId,
      a: after,
    });
    chunks.push(...stepLog.chunks);
    if (!stepLog.hasMore) return { chunks, size: stepLog.size, cutBytes: stepLog.cutBytes, complete: stepLog.complete };
    after = stepLog.chunks.at(-1).endOffset;
  }
}

/** A log's text per stream, the chunks of each concatenated in order. */
export const byStream = (chunks: LogChunk[]) => ({
  stdout: chunks
    .filter((c) => c.stream === 'STDOUT')
    .map((c) => c.text)
    .join(''),
  stderr: chunks
    .filter((c) => c.stream === 'STDERR')
    .map((c) => c.text)
    .join(''),
});

/** The chunks cover the log from 0 without a gap or an overlap; returns the bytes they cover. */
export function contiguous(chunks: LogChunk[]): number {
  let at = 0;
  for (const chunk of chunks) {
    if (chunk.offset !== at) throw new Error(`chunk at ${chunk.offset}, expected ${at}`);
    if (chunk.endOffset - chunk.offset !== Buffer.byteLength(chunk.text)) throw new Error(`chunk at ${chunk.offset}: endOffset does not match its text`);
    at = chunk.endOffset;
  }
  return at;
}

/** Whether a process with this pid is alive: a zombie (dead, not yet reaped by an init that may never reap it) is not. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ...": Z is a zombie.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Kills a tool process a killed worker left behind (a test's cleanup); quiet when it is gone. */
export function killLeftover(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

// ---------------------------------------------------------------- end to end (tests/worker/e2e-*.test.ts)

/** The fixture tools (tests/fixtures/tools): lines, node:test runner, sleeper, ticker, show-args. */
export const TOOLS_DIR = new URL('../fixtures/tools/', import.meta.url).pathname;

/** A shell word for `text` (single quotes), for the router config's command strings. */
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The command that runs fixture tool `file` with this Node, then `args`. */
export const nodeTool = (file: string, ...args: string[]) => [process.execPath, `${TOOLS_DIR}${file}`, ...args].map(quote).join(' ');

export interface ToolTask {
  id: string;
  /** The tool it runs (its kind). */
  tool: string;
  args?: string[];
  env?: Record<string, string>;
  maxAttempts?: number;
  /** How a failed attempt is retried (none when not given). */
  retry?: 'fixed' | 'exponential' | 'none';
}

/** Submits a workstream of these tasks, each with its task_spec inputs; returns its run and task ids by task_id. */
export async function submitTools(server: TestServer, workstreamId: string, tasks: ToolTask[]): Promise<{ runId: string; taskIds: Record<string, string> }> {
  const spec = workstreamSpec(
    tasks.map((t) => ({
      ...taskSpec(t.id, [], { kind: t.tool, maxAttempts: t.maxAttempts ?? 1, retry: t.retry ?? 'none', onFailure: 'continue' }),
      inputs: { args: t.args ?? [], env: t.env ?? {} },
    })),
    { id: workstreamId, projectId: 'e2e', strategy: 'continue' },
  );
  const data = await server.ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } tasks { id specTaskId } } } }`, { s: spec });
  const ws = data.submitWorkstream.workstream;
  return { runId: ws.run.id, taskIds: Object.fromEntries(ws.tasks.map((t: { id: string; specTaskId: string }) => [t.specTaskId, t.id])) };
}

/** The database id inside a global id (run event payloads name workers and tasks by it). */
export const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1];

export type RegisteredWorker = ReturnType<typeof startWorker> & { id: string };

/** startWorker, then its registration: resolves with its worker id once it says it registered. */
export async function registeredWorker(url: string, token: string, args: string[] = []): Promise<RegisteredWorker> {
  const worker = startWorker(url, token, args);
  const exited = worker.exited.then(() => {
    throw new Error(`the worker exited before it registered; its stderr:\n${worker.output.stderr}`);
  });
  exited.catch(() => {});
  const [, id] = await Promise.race([worker.line(/worker (\S+) registered/, 60_000), exited]);
  return Object.assign(worker, { id: id! });
}

/** Stops a worker as an operator would (SIGTERM), SIGKILL if it has not exited after `ms`. */
export async function stopWorker(worker: RegisteredWorker, ms = 20_000): Promise<void> {
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), ms);
  await worker.exited;
  clearTimeout(timer);
}

export const STEP_LOG_APPENDED = `subscription($s: ID!, $a: Int) { stepLogAppended(stepId: $s, after: $a) { ${CHUNK} } }`;

export interface WatchedStep {
  chunks: LogChunk[];
  /** When its first chunk arrived (performance.now()); null before. */
  firstAt: number | null;
  /** Resolves when the subscription completes (the step ended and every chunk was delivered). */
  done: Promise<void>;
}

export interface WatchedRun {
  events: { kind: string; payload: any; step: { id: string } | null; at: number }[];
  /** A stepLogAppended subscription per step, opened as its TOOL_CALL_STARTED event arrives. */
  steps: Map<string, WatchedStep>;
  /** Resolves when runEvents completes (the run ended). */
  done: Promise<void>;
}

const asError = (error: unknown) => (error instanceof Error ? error : new Error(JSON.stringify(error)));

/** Follows a run live over graphql-ws: its events, and each step's log from offset 0 as the step starts. */
export function watchRun(client: Client, runId: string): WatchedRun {
  const watched: WatchedRun = { events: [], steps: new Map(), done: Promise.resolve() };
  const watchStep = (stepId: string) => {
    const step: WatchedStep = { chunks: [], firstAt: null, done: Promise.resolve() };
    step.done = new Promise<void>((resolve, reject) => {
      client.subscribe<{ stepLogAppended: LogChunk }>(
        { query: STEP_LOG_APPENDED, variables: { s: stepId, a: 0 } },
        {
          next: ({ data, errors }) => {
            if (errors) return reject(new Error(`stepLogAppended(${stepId}): ${JSON.stringify(errors)}`));
            step.firstAt ??= performance.now();
            step.chunks.push(data!.stepLogAppended);
          },
          error: (error) => reject(asError(error)),
          complete: resolve,
        },
      );
    });
    step.done.catch(() => {});
    watched.steps.set(stepId, step);
  };
  watched.done = new Promise<void>((resolve, reject) => {
    client.subscribe<{ runEvents: { kind: string; payload: any; step: { id: string } | null } }>(
      { query: `subscription($r: ID) { runEvents(runId: $r) { kind payload step { id } } }`, variables: { r: runId } },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(`runEvents: ${JSON.stringify(errors)}`));
          const event = data!.runEvents;
          watched.events.push({ ...event, at: performance.now() });
          if (event.kind === 'TOOL_CALL_STARTED' && event.step) watchStep(event.step.id);
        },
        error: (error) => reject(asError(error)),
        complete: resolve,
      },
    );
  });
  watched.done.catch(() => {});
  return watched;
}

import { existsSync, readFileSync } from 'node:fs';
import type { Client } from 'graphql-ws';
import { startCli } from './cli.js';
import type { TestServer } from './server.js';
import { taskSpec, workstreamSpec } from './specs.js';
import { until } from './wait.js';

/** Real worker processes (`uet-gateway worker`) against a test gateway, with real tools from tests/fixtures/tools. */

export const TOOLS_DIR = new URL('../fixtures/tools/', import.meta.url).pathname;

/** A shell word for `text` (single quotes), for the router config's command strings. */
const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/** The command that runs fixture tool `file` (tests/fixtures/tools) with this Node, then `args`. */
export const nodeTool = (file: string, ...args: string[]) => [process.execPath, `${TOOLS_DIR}${file}`, ...args].map(quote).join(' ');

/** Sets a router config with these tools (id -> command and timeout); a task of kind <id> is routed to tool <id>. */
export async function setTools(server: TestServer, tools: Record<string, { command: string; timeoutSeconds?: number }>): Promise<void> {
  const apps = Object.fromEntries(
    Object.entries(tools).map(([id, tool]) => [
      id,
      { command: tool.command, capabilities: { task_kinds: [id], domains: [] }, limits: { max_parallel: 25, timeout_seconds: tool.timeoutSeconds ?? 600 } },
    ]),
  );
  const config = { version: 1, apps, routing: { rules: [] }, defaults: { max_attempts: 1, timeout_seconds: 600, strategy: 'fixed' } };
  await server.ok(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: config });
}

export interface ToolTask {
  id: string;
  /** The tool it runs (its kind). */
  tool: string;
  args?: string[];
  env?: Record<string, string>;
  maxAttempts?: number;
  /** How a failed attempt is retried (none when not given). */
  retry?: 'fixed' | 'exponential' | 'none';
  dependsOn?: string[];
}

/** Submits a workstream of these tasks (each task's inputs as the task_spec carries them); returns its run and task ids by task_id. */
export async function submitTools(server: TestServer, workstreamId: string, tasks: ToolTask[]): Promise<{ runId: string; workstreamId: string; taskIds: Record<string, string> }> {
  const spec = workstreamSpec(
    tasks.map((t) => ({
      ...taskSpec(t.id, t.dependsOn ?? [], { kind: t.tool, maxAttempts: t.maxAttempts ?? 1, retry: t.retry ?? 'none', onFailure: 'continue' }),
      inputs: { args: t.args ?? [], env: t.env ?? {} },
    })),
    { id: workstreamId, projectId: 'e2e', strategy: 'continue' },
  );
  const data = await server.ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { id run { id } tasks { id specTaskId } } } }`, { s: spec });
  const ws = data.submitWorkstream.workstream;
  return { runId: ws.run.id, workstreamId: ws.id, taskIds: Object.fromEntries(ws.tasks.map((t: { id: string; specTaskId: string }) => [t.specTaskId, t.id])) };
}

/** The database id inside a global id (run event payloads name workers and tasks by it). */
export const dbId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1];

/** A new token with only the worker scope. */
export async function workerToken(server: TestServer, name = 'e2e-worker'): Promise<string> {
  const data = await server.ok(`mutation($n: String!) { createApiToken(input: {name: $n, scopes: [WORKER]}) { token } }`, { n: name });
  return data.createApiToken.token;
}

export interface WorkerOptions {
  url: string;
  token: string;
  workdir: string;
  tools?: string[];
  slots?: number;
  heartbeatSeconds?: number;
  timeoutSeconds?: number;
  graceSeconds?: number;
}

export type WorkerProcess = ReturnType<typeof startCli> & { id: string };

/** Starts `uet-gateway worker` and waits until it says it registered; its id is the worker's. */
export async function startWorker(options: WorkerOptions): Promise<WorkerProcess> {
  const args = ['worker', '--url', options.url, '--token', options.token, '--workdir', options.workdir];
  if (options.tools) args.push('--tools', options.tools.join(','));
  if (options.slots) args.push('--slots', String(options.slots));
  if (options.heartbeatSeconds) args.push('--heartbeat-seconds', String(options.heartbeatSeconds));
  if (options.timeoutSeconds) args.push('--timeout-seconds', String(options.timeoutSeconds));
  if (options.graceSeconds !== undefined) args.push('--grace-seconds', String(options.graceSeconds));
  const cli = startCli(args);
  let exited = false;
  void cli.exited.then(() => (exited = true));
  const registered = () => /worker (\S+) registered/.exec(cli.output.stderr)?.[1];
  await until(() => registered() !== undefined || exited, 'the worker to register', 60_000).catch((error: Error) => {
    cli.kill();
    throw new Error(`${error.message}; its stderr:\n${cli.output.stderr}`);
  });
  if (!registered()) throw new Error(`the worker exited before it registered; its stderr:\n${cli.output.stderr}`);
  return Object.assign(cli, { id: registered()! });
}

/** Stops a worker as an operator would (SIGTERM), SIGKILL if it has not exited after `ms`. */
export async function stopWorker(worker: WorkerProcess, ms = 20_000): Promise<void> {
  worker.kill('SIGTERM');
  const timer = setTimeout(() => worker.kill('SIGKILL'), ms);
  await worker.exited;
  clearTimeout(timer);
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

export const STEP_LOG_APPENDED = `subscription($s: ID!, $a: Int) { stepLogAppended(stepId: $s, after: $a) { ${CHUNK} } }`;

/** A process is gone: no such pid, or a zombie nobody has reaped yet (it runs nothing). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = `/proc/${pid}/stat`;
  return existsSync(stat) && readFileSync(stat, 'utf8').split(') ')[1]?.startsWith('Z') === true;
}

/** Kills a tool process a killed worker left behind (a test's cleanup); quiet when it is gone. */
export function killLeftover(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

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
          error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
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
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: resolve,
      },
    );
  });
  watched.done.catch(() => {});
  return watched;
}

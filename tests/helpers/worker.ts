import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
export async function submitTasks(server: TestServer, kinds: string[], options: { maxAttempts?: number } = {}): Promise<{ runId: string; taskIds: string[] }> {
  workstreams += 1;
  const spec = workstreamSpec(
    kinds.map((kind, i) => taskSpec(`t${i + 1}`, [], { kind, maxAttempts: options.maxAttempts ?? 1 })),
    { id: `ws-worker-${workstreams}`, projectId: 'worker-project' },
  );
  const { submitWorkstream } = await server.ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } tasks { id specTaskId } } } }`, { s: spec });
  const tasks = submitWorkstream.workstream.tasks as { id: string; specTaskId: string }[];
  return { runId: submitWorkstream.workstream.run.id, taskIds: kinds.map((_, i) => tasks.find((t) => t.specTaskId === `t${i + 1}`)!.id) };
}

/** A token with the scopes a worker needs (worker, read), created through the API. */
export async function workerToken(server: TestServer, name = 'worker'): Promise<string> {
  const data = await server.ok(`mutation($n: String!) { createApiToken(input: {name: $n, scopes: [WORKER, READ]}) { token } }`, { n: `${name}-${Date.now()}-${Math.random()}` });
  return data.createApiToken.token;
}

/** `uet-gateway worker` against the server (or `url`), spawned as a user would run it; its stderr is collected. */
export function startWorker(url: string, token: string, args: string[] = []) {
  const cli = startCli(['worker', '--url', url, '--token', token, '--heartbeat-seconds', '1', '--timeout-seconds', '30', '--grace-seconds', '2', ...args]);
  return {
    ...cli,
    /** Waits for a line of stderr matching `pattern`; returns the match. */
    async line(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
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
export async function taskReaches(server: TestServer, id: string, states: string[], timeoutMs = 30_000) {
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
  let text = '';
  let after = 0;
  for (;;) {
    const { stepLog } = await server.ok(`query($s: ID!, $a: Int) { stepLog(stepId: $s, after: $a, first: 500) { chunks { endOffset text } size hasMore complete } }`, { s: stepId, a: after });
    for (const chunk of stepLog.chunks) text += chunk.text;
    after = stepLog.chunks.at(-1)?.endOffset ?? after;
    if (!stepLog.hasMore) return { text, size: stepLog.size, complete: stepLog.complete };
  }
}

/** Whether a process with this pid is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

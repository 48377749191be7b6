import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { Client } from 'graphql-ws';
import { quote } from 'shell-quote';
import { packageFile } from '../package-files.js';
import { call, GatewayError, openGateway, sleep } from './gateway-calls.js';

export interface RealOptions {
  url: string;
  token: string;
  workers: number;
  seconds: number;
  every: number;
}

/** The demo tools of examples/tools/, by tool id: the script and the task kind each takes (kinds of their own, so no rule of the operator's routes them elsewhere). */
const DEMO_TOOLS = {
  'demo-agent': { script: 'agent.mjs', kind: 'demo_edit' },
  'demo-lint': { script: 'lint.mjs', kind: 'demo_lint' },
  'demo-tests': { script: 'tests.mjs', kind: 'demo_test' },
} as const;
type DemoToolId = keyof typeof DEMO_TOOLS;
const TOOL_IDS = Object.keys(DEMO_TOOLS) as DemoToolId[];
/** A demo task that runs longer than this is stuck: the worker stops it. */
const TOOL_TIMEOUT_SECONDS = 60;
/** How long a worker has to stop after SIGTERM (its own grace for a running tool is 10 s) before SIGKILL. */
const WORKER_STOP_MS = 20_000;
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'QUARANTINED']);

const execFileAsync = promisify(execFile);

/**
 * `uet-gateway simulate --real`: the demo tools run by real `uet-gateway worker`
 * processes. Puts the tools in the router configuration (beside the operator's
 * own), submits a small workstream (the agent edits, then lint and tests run),
 * starts the workers against a sample repository, and prints progress until the
 * run ends, --seconds pass or it is interrupted; then stops the workers. Exit
 * code 0 when the run succeeded.
 */
export async function simulateReal(options: RealOptions): Promise<number> {
  const client = openGateway(options.url, options.token);
  const scratch = await mkdtemp(join(tmpdir(), 'uet-simulate-'));
  const stop = new AbortController();
  const interrupt = () => stop.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const workers: ChildProcess[] = [];
  try {
    await useDemoTools(client);
    const repo = await sampleRepository(scratch);
    const { submitWorkstream } = await call(client, SUBMIT, { spec: demoWorkstream() });
    const workstream = submitWorkstream.workstream;
    console.error(`workstream ${workstream.workstreamId} submitted: run ${workstream.run.id}, tasks edit (demo-agent), then lint (demo-lint) and tests (demo-tests)`);
    for (let i = 1; i <= options.workers; i++) workers.push(startWorker(options, i, repo, join(scratch, 'tasks')));
    const ended = await followRun(client, workstream.id, options, workers, stop.signal);
    const report = await call(client, REPORT, { w: workstream.id, r: workstream.run.id });
    console.log(summary(report, ended, options.seconds).join('\n'));
    return report.workstream.run.state === 'SUCCEEDED' ? 0 : 1;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await Promise.all(workers.map(stopWorker));
    await client.dispose();
    await rm(scratch, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** The configuration in force with the demo tools added (or replaced), and a rule per tool ahead of the operator's rules. */
async function useDemoTools(client: Client): Promise<void> {
  const { routerConfig } = await call(client, `{ routerConfig { config } }`);
  const current = (routerConfig?.config ?? {}) as { apps?: Record<string, unknown>; routing?: { rules?: { id: string }[] }; defaults?: unknown };
  const apps = { ...current.apps };
  const rules: unknown[] = [];
  for (const id of TOOL_IDS) {
    const tool = DEMO_TOOLS[id];
    // The tool's command as a shell would read it, which is how the worker splits it (no shell runs it).
    apps[id] = {
      command: quote([process.execPath, packageFile(`examples/tools/${tool.script}`)]),
      capabilities: { task_kinds: [tool.kind] },
      limits: { max_parallel: 4, timeout_seconds: TOOL_TIMEOUT_SECONDS },
    };
    rules.push({ id: `${id}-rule`, match: { task_kind: [tool.kind] }, select_from: [id], strategy: 'fixed' });
  }
  const theirs = (current.routing?.rules ?? []).filter((rule) => !rules.some((ours) => (ours as { id: string }).id === rule.id));
  const config = { ...current, apps, routing: { rules: [...rules, ...theirs] } };
  await call(client, `mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: config });
}

/** A git repository made from examples/tools/sample-project, which every task folder is cloned from (--repo). */
async function sampleRepository(scratch: string): Promise<string> {
  const repo = join(scratch, 'sample-project');
  await cp(packageFile('examples/tools/sample-project'), repo, { recursive: true });
  const git = (...args: string[]) => execFileAsync('git', ['-c', 'user.name=uet-gateway simulate', '-c', 'user.email=simulate@example.com', ...args], { cwd: repo });
  await git('init', '--quiet');
  await git('add', '-A');
  await git('commit', '--quiet', '-m', 'Sample project');
  return repo;
}

/** Three tasks: the agent's edit, then lint and tests beside each other. A new workstream_id each time: a spec submitted again would be the same workstream. */
function demoWorkstream() {
  const execution = { max_attempts: 1, timeout_seconds: TOOL_TIMEOUT_SECONDS };
  return {
    workstream_id: `demo-real-${Date.now()}`,
    project_id: 'simulation',
    phase_id: 'demo',
    name: 'Demo tools on real workers',
    objective: 'Trim the name before greeting, then lint and test the project.',
    tasks: [
      { task_id: 'edit', name: 'Trim the name', kind: DEMO_TOOLS['demo-agent'].kind, depends_on: [], execution },
      { task_id: 'lint', name: 'Lint the project', kind: DEMO_TOOLS['demo-lint'].kind, depends_on: ['edit'], execution },
      { task_id: 'tests', name: 'Run the tests', kind: DEMO_TOOLS['demo-tests'].kind, depends_on: ['edit'], execution },
    ],
  };
}

/** `uet-gateway worker` as its own process, from the same CLI entry (and Node flags) as this one; its lines are passed on, each marked with its number. */
function startWorker(options: RealOptions, index: number, repo: string, workdir: string): ChildProcess {
  const args = ['worker', '--url', options.url, '--tools', TOOL_IDS.join(','), '--repo', repo, '--workdir', workdir, '--heartbeat-seconds', '2', '--poll-seconds', '1'];
  // The token through the environment, not argv: other users can read a process's argv.
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...args], {
    env: { ...process.env, UET_TOKEN: options.token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => console.error(`[worker ${index}] ${line}`));
  child.on('exit', (code, signal) => console.error(`[worker ${index}] exited (${signal ?? `code ${code}`})`));
  return child;
}

/** SIGTERM, as an operator stops a worker (it hands its tasks back and exits); SIGKILL if it has not exited in time. */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_STOP_MS);
  await exited;
  clearTimeout(timer);
}

/** Polls the workstream every second and prints a progress line every --every seconds, until its run ends, time is up, it is interrupted or no worker is left. */
async function followRun(client: Client, workstreamId: string, options: RealOptions, workers: ChildProcess[], signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + options.seconds * 1000;
  let nextLine = Date.now() + options.every * 1000;
  while (!signal.aborted && Date.now() < deadline) {
    const { workstream } = await call(client, PROGRESS, { w: workstreamId });
    const running = workers.filter((child) => child.exitCode === null && child.signalCode === null).length;
    if (ENDED.has(workstream.run.state)) return true;
    if (running === 0) throw new GatewayError('every worker exited before the run ended: see their lines above');
    if (Date.now() >= nextLine) {
      console.error(progressLine(workstream, running));
      nextLine += options.every * 1000;
    }
    await sleep(1000, signal);
  }
  return false;
}

const progressLine = (w: { run: { state: string }; progress: Record<string, number> }, workers: number) =>
  `${new Date().toISOString().slice(11, 19)} run ${w.run.state}; tasks ${w.progress.completed} completed, ${w.progress.failed} failed, ${w.progress.running} running, ${w.progress.pending} pending; ${workers} workers running`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a GraphQL response is untyped JSON, read field by field
function summary(report: any, ended: boolean, seconds: number): string[] {
  const { run, tasks } = report.workstream;
  const lines = [
    ended ? `run ${run.id} ${run.state}${run.stateReason ? `: ${run.stateReason}` : ''}` : `run ${run.id} still ${run.state}: stopped before it ended (--seconds ${seconds}, or interrupted)`,
  ];
  for (const task of tasks) lines.push(`  task ${task.specTaskId} (${task.toolId ?? 'no tool'}): ${task.state}${task.error ? `: ${task.error}` : ''}`);
  for (const { node: gate } of report.testGates.edges) {
    const results = gate.results;
    const failed = results?.failures.map((f: { test: string }) => f.test).join(', ');
    lines.push(`  gate "${gate.name}": ${gate.state}${results ? ` (${results.totalTests} tests, ${results.failedTests} failed${failed ? `: ${failed}` : ''})` : ''}`);
  }
  lines.push(`  patches: ${run.counters.patchesCreated} created, ${run.counters.patchesApplied} applied`);
  lines.push(`  costs: ${report.costSummary.map((c: { currency: string; total: string }) => `${c.currency} ${c.total}`).join(', ') || 'none'}`);
  return lines;
}

const SUBMIT = `mutation($spec: JSON!) { submitWorkstream(input: {spec: $spec}) { workstream { id workstreamId run { id } } } }`;
const PROGRESS = `query($w: ID!) { workstream(id: $w) { run { state } progress { completed failed running pending } } }`;
const REPORT = `query($w: ID!, $r: ID!) {
  workstream(id: $w) { run { id state stateReason counters { patchesCreated patchesApplied } } tasks { specTaskId toolId state error } }
  testGates(first: 10, filter: {runId: $r}) { edges { node { name state results { totalTests failedTests failures { test } } } } }
  costSummary(filter: {runId: $r}) { currency total }
}`;

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { alive, killLeftover, nodeTool, registeredWorker, type RegisteredWorker, setTools, stopWorker, submitTools, taskReaches, workerToken } from '../helpers/worker.js';

// Issue 21: a tool stopped by its timeout or by cancelRun is stopped with everything it started (its process group),
// SIGKILL after the grace when it ignores SIGTERM.
let server: TestServer;
let root: string;
let worker: RegisteredWorker;
const pidDirs: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
  root = mkdtempSync(join(tmpdir(), 'uet-e2e-stop-'));
  mkdirSync(join(root, 'work'));
  // Both tools ignore SIGTERM ("stubborn"): only the SIGKILL after the grace stops them.
  await setTools(server, {
    stuck: { command: nodeTool('sleeper.mjs', 'stubborn'), timeoutSeconds: 2 },
    waits: { command: nodeTool('sleeper.mjs', 'stubborn') },
  });
  worker = await registeredWorker(server.url, await workerToken(server, ['WORKER']), ['--workdir', join(root, 'work'), '--grace-seconds', '1']);
});
afterAll(async () => {
  await stopWorker(worker);
  for (const dir of pidDirs) for (const name of ['tool', 'grandchild']) if (existsSync(join(dir, name))) killLeftover(Number(readFileSync(join(dir, name), 'utf8')));
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Waits until the sleeper tool has written both pids to `dir`; returns them, both running. */
async function toolPids(dir: string): Promise<{ tool: number; grandchild: number }> {
  await until(() => existsSync(join(dir, 'tool')) && existsSync(join(dir, 'grandchild')), 'the tool to start its grandchild', 60_000);
  const pids = { tool: Number(readFileSync(join(dir, 'tool'), 'utf8')), grandchild: Number(readFileSync(join(dir, 'grandchild'), 'utf8')) };
  expect([alive(pids.tool), alive(pids.grandchild)]).toEqual([true, true]);
  return pids;
}

/** A process as /proc shows it ("pid (comm) state ..."), for a failure's message. */
const procStat = (pid: number) => (existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ').slice(0, 3).join(' ') : `${pid} gone`);

/** Waits until neither the tool nor its grandchild runs; a failure says what /proc still shows of each. */
async function gone(pids: { tool: number; grandchild: number }, timeoutMs: number): Promise<void> {
  await until(() => !alive(pids.tool) && !alive(pids.grandchild), 'the tool and its grandchild to be gone', timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}: tool ${procStat(pids.tool)}, grandchild ${procStat(pids.grandchild)}`);
  });
}

/** Waits until the task has ended; returns it with its attempt's time. */
async function settled(id: string): Promise<any> {
  const task = await taskReaches(server, id, ['COMPLETED', 'FAILED', 'SKIPPED'], 60_000);
  return { ...task, ...(await server.ok(`query($id: ID!) { task(id: $id) { executionTimeSeconds } }`, { id })).task };
}

describe('stopping a tool stops its process group', () => {
  it('the timeout (the tool limit, 2 s) kills the tool and its grandchild, and fails the attempt saying so', { timeout: 120_000 }, async () => {
    onTestFailed(() => console.error(`worker stderr:\n${worker.output.stderr}`));
    const dir = join(root, 'pids-timeout');
    pidDirs.push(dir);
    const { taskIds } = await submitTools(server, 'ws-timeout', [{ id: 'stuck', tool: 'stuck', env: { PID_DIR: dir } }]);
    const pids = await toolPids(dir);

    const task = await settled(taskIds.stuck!);
    expect(task).toMatchObject({ state: 'FAILED', attempts: 1 });
    expect(task.error).toMatch(/timed out after 2 s/);
    expect(task.executionTimeSeconds).toBeGreaterThanOrEqual(2);
    await gone(pids, 10_000);

    const { task: withStep } = await server.ok(`query($id: ID!) { task(id: $id) { run { steps(first: 5) { edges { node { state exitCode } } } } } }`, { id: taskIds.stuck });
    expect(withStep.run.steps.edges.map((e: any) => e.node.state)).toEqual(['FAILED']);
  });

  it('cancelRun kills the tool and its grandchild; the attempt ends canceled and the worker is free again', { timeout: 120_000 }, async () => {
    onTestFailed(() => console.error(`worker stderr:\n${worker.output.stderr}`));
    const dir = join(root, 'pids-cancel');
    pidDirs.push(dir);
    const { runId, taskIds } = await submitTools(server, 'ws-cancel', [{ id: 'waits', tool: 'waits', env: { PID_DIR: dir } }]);
    const pids = await toolPids(dir);

    await server.ok(`mutation($id: ID!) { cancelRun(input: {id: $id, reason: "e2e"}) { run { state } } }`, { id: runId });
    await gone(pids, 30_000);
    const task = await settled(taskIds.waits!);
    // Its one attempt ended canceled (FAILED; SKIPPED had it had attempts left, as the run takes none).
    expect(['FAILED', 'SKIPPED']).toContain(task.state);
    expect(task.error).toMatch(/cancel/i);
    const { worker: after } = await server.ok(`query($id: ID!) { worker(id: $id) { state activeTaskCount } }`, { id: worker.id });
    expect(after).toEqual({ state: 'IDLE', activeTaskCount: 0 });
  });
});

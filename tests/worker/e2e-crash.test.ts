import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { byStream, dbId, killLeftover, nodeTool, readStepLog, registeredWorker, type RegisteredWorker, setTools, stopWorker, submitTools, workerToken } from '../helpers/worker.js';

// Issue 21: a worker killed (SIGKILL) while it runs a task. The gateway's reaper judges it stale after its
// --timeout-seconds and requeues the task (the attempt counts); the other worker runs it again, once.
let server: TestServer;
let root: string;
const workers: RegisteredWorker[] = [];
const pidDir = () => join(root, 'pids');

beforeAll(async () => {
  // The reaper every 200 ms, so the killed worker is judged soon after its 3 s timeout.
  server = await startTestServer({ jobs: { reaperIntervalMs: 200 }, limits: { mutationsPerMinute: 0 } });
  root = mkdtempSync(join(tmpdir(), 'uet-e2e-crash-'));
  mkdirSync(join(root, 'work'));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w, 5_000)));
  // The killed worker's tool lost its reader; whatever is still running of it goes now.
  if (existsSync(pidDir())) for (const pid of readdirSync(pidDir())) killLeftover(Number(pid));
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

const TICKS = 100;
const expectedTicks = Array.from({ length: TICKS }, (_, i) => `tick ${i + 1} of ${TICKS}\n`).join('');

describe('a worker killed mid-task', () => {
  it('the task is reaped, requeued and completed by the other worker, exactly once', { timeout: 180_000 }, async () => {
    onTestFailed(() => {
      for (const w of workers) console.error(`worker ${w.id} stderr:\n${w.output.stderr}`);
    });
    await setTools(server, { ticker: { command: nodeTool('ticker.mjs') } });
    const token = await workerToken(server, ['WORKER']);
    const work = join(root, 'work');
    // 100 lines, one every 50 ms: about 5 s per attempt. Two attempts allowed, retried after 1 s.
    const { runId, taskIds } = await submitTools(server, 'ws-crash', [{ id: 'tick', tool: 'ticker', args: [String(TICKS), '50'], env: { PID_DIR: pidDir() }, maxAttempts: 2, retry: 'fixed' }]);
    const taskId = taskIds.tick!;
    const doomed = await registeredWorker(server.url, token, ['--workdir', work, '--heartbeat-seconds', '1', '--timeout-seconds', '3']);
    workers.push(doomed);
    const taskNow = async () =>
      (await server.ok(`query($id: ID!) { task(id: $id) { state attempt attempts worker { id } run { steps(first: 5) { edges { node { id state } } } } } }`, { id: taskId })).task;

    // It holds the task and its tool has printed.
    let task: any;
    const deadline = Date.now() + 60_000;
    for (;;) {
      task = await taskNow();
      const step = task.run.steps.edges[0]?.node;
      if (task.state === 'RUNNING' && step && (await readStepLog(server, step.id)).size > 0) break;
      if (Date.now() > deadline) throw new Error(`the tool did not print in time (task ${JSON.stringify(task)})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(task.worker.id).toBe(doomed.id);

    doomed.kill('SIGKILL');
    await doomed.exited;
    const other = await registeredWorker(server.url, token, ['--workdir', work, '--heartbeat-seconds', '1', '--timeout-seconds', '30']);
    workers.push(other);

    const final = await (async () => {
      const end = Date.now() + 90_000;
      while (!['COMPLETED', 'FAILED', 'SKIPPED'].includes((task = await taskNow()).state)) {
        if (Date.now() > end) throw new Error(`task still ${task.state} after 90 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return task;
    })();
    expect(final).toMatchObject({ state: 'COMPLETED', attempt: 2, attempts: 2, worker: { id: other.id } });

    const { worker: crashed } = await server.ok(`query($id: ID!) { worker(id: $id) { state crashInfo { errorMessage } } }`, { id: doomed.id });
    expect(crashed.state).toBe('CRASHED');
    expect(crashed.crashInfo.errorMessage).toMatch(/heartbeat lost/);

    // The attempt history: leased to the killed worker, requeued (counted), leased to the other, completed once.
    const { runEvents } = await server.ok(
      `query($r: ID!) { runEvents(runId: $r, kinds: [TASK_STARTED, TASK_REQUEUED, TASK_FAILED, TASK_SKIPPED, TASK_COMPLETED], first: 50) { edges { node { kind payload } } } }`,
      { r: runId },
    );
    const history = runEvents.edges.map(({ node }: any) => ({ kind: node.kind, workerId: node.payload.workerId, attempt: node.payload.attempt, counted: node.payload.counted }));
    expect(history).toEqual([
      { kind: 'TASK_STARTED', workerId: dbId(doomed.id), attempt: 1, counted: undefined },
      { kind: 'TASK_REQUEUED', workerId: dbId(doomed.id), attempt: undefined, counted: true },
      { kind: 'TASK_STARTED', workerId: dbId(other.id), attempt: 2, counted: undefined },
      { kind: 'TASK_COMPLETED', workerId: dbId(other.id), attempt: 2, counted: undefined },
    ]);

    // The second attempt's step has the whole output; the first one's step (its worker gone) never completed on its own.
    const steps = final.run.steps.edges.map((e: any) => e.node);
    expect(steps).toHaveLength(2);
    const log = await readStepLog(server, steps[1].id);
    expect(byStream(log.chunks)).toEqual({ stdout: expectedTicks, stderr: '' });
    expect(steps[1].state).toBe('SUCCEEDED');
    expect(steps[0].state).not.toBe('SUCCEEDED');
  });
});

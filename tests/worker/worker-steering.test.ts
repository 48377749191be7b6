import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { alive, setTools, startWorker, stepsOf, submitTasks, taskOf, taskReaches, workerScratch, workerToken } from '../helpers/worker.js';

/**
 * A tool that runs until it is killed: it writes its pid (and its child's) to
 * <scratch>/<name>-<task>.pids, says "started", and, with `stubborn`, ignores
 * SIGTERM (so only the SIGKILL after the grace ends it), as its child does.
 */
function forever(pidDir: string, stubborn: boolean) {
  return `
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
${stubborn ? "process.on('SIGTERM', () => {});" : ''}
const child = spawn(process.execPath, ['-e', "${stubborn ? "process.on('SIGTERM', () => {}); " : ''}setInterval(() => {}, 1000)"], { stdio: 'ignore' });
writeFileSync(${JSON.stringify(pidDir)} + '/' + process.env.UET_TASK_ID + '.pids', process.pid + ' ' + child.pid);
console.log('started');
setInterval(() => {}, 1000);
`;
}

// Each test spawns the CLI (through tsx when dist/ is stale) and real tools: generous under load.
describe('uet-gateway worker: stopping tools', { timeout: 120_000 }, () => {
  let server: TestServer;
  const scratch = workerScratch();
  /** The tool's and its child's pids, once the tool has written them. */
  const pidsOf = async (taskId: string): Promise<number[]> => {
    const file = join(scratch.dir, `${taskId}.pids`);
    await until(() => existsSync(file) && readFileSync(file, 'utf8').includes(' '), `the tool of task ${taskId} to start`, 60_000);
    return readFileSync(file, 'utf8').split(' ').map(Number);
  };
  const gone = (pids: number[], what: string) => until(() => pids.every((pid) => !alive(pid)), what, 60_000);
  /** The run's first step: how it ended, and why. */
  const stepOf = async (runId: string) => (await server.ok(`query($r: ID!) { run(id: $r) { steps(first: 1) { edges { node { state stateReason } } } } }`, { r: runId })).run.steps.edges[0].node;

  beforeAll(async () => {
    server = await startTestServer();
    await setTools(server, {
      slow: { command: scratch.tool('slow', forever(scratch.dir, false)) },
      stubborn: { command: scratch.tool('stubborn', forever(scratch.dir, true)), timeoutSeconds: 2 },
    });
  });
  afterAll(async () => {
    await server?.stop();
    scratch.remove();
  });

  it('kills the whole process group when the tool runs out of time (SIGTERM, then SIGKILL after the grace)', async () => {
    const worker = startWorker(server.url, await workerToken(server), ['--tools', 'stubborn', '--workdir', scratch.dir]);
    try {
      const { runId, taskIds } = await submitTasks(server, ['stubborn']);
      const pids = await pidsOf(taskIds[0]!);
      const task = await taskReaches(server, taskIds[0]!, ['FAILED']);
      expect(task.error).toContain('timed out after 2 s');
      await gone(pids, 'the tool and its child to be killed');
      const [step] = await stepsOf(server, runId);
      expect(step).toMatchObject({ state: 'FAILED', errorLog: expect.stringContaining('timed out after 2 s') });
    } finally {
      worker.interrupt();
      await worker.exited;
    }
  });

  it("stops the tool when the task's run is canceled, and fails the task as canceled", async () => {
    const worker = startWorker(server.url, await workerToken(server), ['--tools', 'slow', '--workdir', scratch.dir]);
    try {
      const { runId, taskIds } = await submitTasks(server, ['slow']);
      const pids = await pidsOf(taskIds[0]!);
      await server.ok(`mutation($r: ID!) { cancelRun(input: {id: $r, reason: "not needed"}) { run { state } } }`, { r: runId });
      await gone(pids, 'the canceled tool to stop');
      const task = await taskReaches(server, taskIds[0]!, ['FAILED', 'SKIPPED']);
      expect(task.error).toContain('canceled');
      await worker.line(new RegExp(`task ${taskIds[0]} failed: canceled`));
      expect((await stepsOf(server, runId))[0].state).toBe('CANCELED');
    } finally {
      worker.interrupt();
      await worker.exited;
    }
  });

  it('stops its tool when paused and claims nothing until resumed', async () => {
    const worker = startWorker(server.url, await workerToken(server), ['--tools', 'slow', '--workdir', scratch.dir]);
    try {
      const [, workerId] = await worker.line(/worker (\S+) registered/);
      const { runId, taskIds } = await submitTasks(server, ['slow']);
      const pids = await pidsOf(taskIds[0]!);
      await server.ok(`mutation($w: ID!) { pauseWorker(input: {id: $w}) { worker { state } } }`, { w: workerId });
      await gone(pids, 'the paused worker to stop its tool');
      await worker.line(/paused .*claiming nothing until resumed/);
      // The gateway ended the attempt's step with the hand-back; the worker had nothing to report on it.
      expect(await stepOf(runId)).toEqual({ state: 'CANCELED', stateReason: expect.stringMatching(/^the task's attempt ended: worker \S+ was paused$/) });
      await worker.line(new RegExp(`task ${taskIds[0]} stopped: the gateway took it back`));
      expect(worker.output.stderr).not.toContain('completeStep');
      // Handed back without counting an attempt, and left alone: several claim intervals pass without a claim.
      expect(await taskOf(server, taskIds[0]!)).toMatchObject({ state: 'PENDING', attempts: 0, worker: null });
      const claimedBefore = worker.output.stderr.split(`task ${taskIds[0]} claimed`).length;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await taskOf(server, taskIds[0]!)).toMatchObject({ state: 'PENDING' });
      expect(worker.output.stderr.split(`task ${taskIds[0]} claimed`).length).toBe(claimedBefore);

      await server.ok(`mutation($w: ID!) { resumeWorker(input: {id: $w}) { worker { state } } }`, { w: workerId });
      await worker.line(/resumed/);
      await taskReaches(server, taskIds[0]!, ['RUNNING']);
      await server.ok(`mutation($r: ID!) { cancelRun(input: {id: $r}) { run { state } } }`, { r: runId });
      await taskReaches(server, taskIds[0]!, ['FAILED', 'SKIPPED']);
    } finally {
      worker.interrupt();
      await worker.exited;
    }
  });

  it('when the gateway judges it crashed, stops its tool and registers anew, then runs the requeued task', async () => {
    const worker = startWorker(server.url, await workerToken(server), ['--tools', 'slow', '--workdir', scratch.dir]);
    try {
      const [, workerId] = await worker.line(/worker (\S+) registered/);
      const { runId, taskIds } = await submitTasks(server, ['slow'], { maxAttempts: 2, retry: 'fixed' });
      const pids = await pidsOf(taskIds[0]!);
      rmSync(join(scratch.dir, `${taskIds[0]}.pids`));
      await server.ok(`mutation($w: ID!) { crashWorker(input: {id: $w, errorMessage: "no heartbeat"}) { worker { state } } }`, { w: workerId });
      await gone(pids, 'the crashed worker to stop its tool');
      expect(await stepOf(runId)).toEqual({ state: 'CANCELED', stateReason: expect.stringMatching(/^the task's attempt ended: worker \S+ crashed: no heartbeat$/) });
      const [, again] = await worker.line(/registering anew[\s\S]*worker (\S+) registered/);
      expect(again).not.toBe(workerId);
      // The crash counted an attempt; the second (after the fixed 1 s retry delay) runs on the new registration.
      const second = await pidsOf(taskIds[0]!);
      expect(await taskOf(server, taskIds[0]!)).toMatchObject({ state: 'RUNNING', attempts: 1, worker: { id: again } });
      await server.ok(`mutation($r: ID!) { cancelRun(input: {id: $r}) { run { state } } }`, { r: runId });
      await gone(second, 'the canceled tool to stop');
    } finally {
      worker.interrupt();
      await worker.exited;
    }
  });

  it('on SIGTERM stops its tool, hands the task back without counting an attempt, and exits 0', async () => {
    const worker = startWorker(server.url, await workerToken(server), ['--tools', 'slow', '--workdir', scratch.dir]);
    try {
      const [, workerId] = await worker.line(/worker (\S+) registered/);
      const { runId, taskIds } = await submitTasks(server, ['slow']);
      const pids = await pidsOf(taskIds[0]!);
      worker.terminate();
      const exit = await worker.exited;
      expect(exit.code).toBe(0);
      await gone(pids, 'the tool and its child to stop with the worker');
      expect(exit.stderr).toContain(`worker ${workerId} shut down`);
      expect(await taskOf(server, taskIds[0]!)).toMatchObject({ state: 'PENDING', attempts: 0, worker: null });
      expect((await server.ok(`query($id: ID!) { worker(id: $id) { state } }`, { id: workerId })).worker.state).toBe('STOPPED');
      expect((await stepsOf(server, runId))[0].state).toBe('CANCELED');
      await server.ok(`mutation($r: ID!) { cancelRun(input: {id: $r}) { run { state } } }`, { r: runId });
    } finally {
      worker.kill();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { setTools, startWorker, stepLogText, stepsOf, submitTasks, taskOf, taskReaches, workerScratch, workerToken } from '../helpers/worker.js';

// Output with multi-byte characters split across writes, both streams interleaved, and more than one append's worth.
const CHATTY = `
const out = (s) => new Promise((r) => process.stdout.write(s, r));
const err = (s) => new Promise((r) => process.stderr.write(s, r));
await out('héllo ');
await out(Buffer.from('wörld ✓ 🚀').subarray(0, 7));
await out(Buffer.from('wörld ✓ 🚀').subarray(7));
await out('\\n');
await err('a warning\\n');
for (let i = 0; i < 3000; i++) await out('line ' + i + ' ' + 'x'.repeat(40) + '\\n');
await out('args: ' + JSON.stringify(process.argv.slice(2)) + '\\n');
await out('env: ' + ['UET_RUN_ID', 'UET_TASK_ID', 'UET_STEP_ID', 'UET_WORKDIR', 'UET_COST_FD', 'UET_TOKEN'].map((k) => k + '=' + (process.env[k] ? 'set' : 'unset')).join(' ') + '\\n');
await out('cwd is workdir: ' + (process.cwd() === process.env.UET_WORKDIR) + '\\n');
`;

const EXPECTED_LINES = (() => {
  let text = 'héllo wörld ✓ 🚀\n';
  for (let i = 0; i < 3000; i++) text += `line ${i} ${'x'.repeat(40)}\n`;
  return text;
})();

// Each test spawns the CLI (through tsx when dist/ is stale) and real tools: generous under load.
describe('uet-gateway worker: a task end to end', { timeout: 120_000 }, () => {
  let server: TestServer;
  const scratch = workerScratch();

  beforeAll(async () => {
    server = await startTestServer();
    await setTools(server, { chatty: { command: scratch.tool('chatty', CHATTY) }, failing: { command: scratch.tool('failing', 'process.stderr.write("no\\n"); process.exit(3);') } });
  });
  afterAll(async () => {
    await server?.stop();
    scratch.remove();
  });

  it('registers, claims, runs the tool, stores its log byte for byte, completes the step and the task, and stops on SIGINT', async () => {
    const token = await workerToken(server);
    const { runId, taskIds } = await submitTasks(server, ['chatty', 'failing']);
    const worker = startWorker(server.url, token, ['--tools', 'chatty,failing', '--workdir', scratch.dir]);
    try {
      const [, workerId] = await worker.line(/worker (\S+) registered \(tools: chatty, failing; slots: 1\)/);
      const done = await taskReaches(server, taskIds[0]!, ['COMPLETED', 'FAILED']);
      expect(done).toMatchObject({ state: 'COMPLETED', error: null, worker: { id: workerId } });
      expect(done.result).toMatchObject({ exit_code: 0, signal: null, timed_out: false, gate_id: null, patch_ids: [] });
      const failed = await taskReaches(server, taskIds[1]!, ['COMPLETED', 'FAILED']);
      expect(failed.state).toBe('FAILED');
      expect(failed.error).toContain('exit code 3');

      const steps = await stepsOf(server, runId);
      const chatty = steps.find((s: any) => s.toolId === 'chatty');
      expect(chatty).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
      expect(steps.find((s: any) => s.toolId === 'failing')).toMatchObject({ state: 'FAILED', exitCode: 3, errorLog: expect.stringContaining('exit code 3') });

      const log = await stepLogText(server, chatty.id);
      expect(log.complete).toBe(true);
      // stdout and stderr share one log in the order the worker read them: take stderr's line out to compare stdout.
      expect(log.text).toContain('a warning\n');
      const stdout = log.text.replace('a warning\n', '');
      expect(stdout.startsWith(EXPECTED_LINES)).toBe(true);
      expect(stdout.slice(EXPECTED_LINES.length)).toBe('args: []\nenv: UET_RUN_ID=set UET_TASK_ID=set UET_STEP_ID=set UET_WORKDIR=set UET_COST_FD=set UET_TOKEN=unset\ncwd is workdir: true\n');
      expect(log.size).toBe(Buffer.byteLength(log.text));
      expect(done.result.log_bytes).toBe(log.size);
      await worker.line(new RegExp(`task ${taskIds[0]} done: exit 0 in`));
      await worker.line(new RegExp(`task ${taskIds[1]} failed: exit code 3`));

      worker.interrupt();
      const exit = await worker.exited;
      expect(exit.code).toBe(0);
      expect((await server.ok(`query($id: ID!) { worker(id: $id) { state } }`, { id: workerId })).worker.state).toBe('STOPPED');
    } finally {
      worker.kill();
    }
  });

  it('leaves a task routed to no tool to other workers (claimTask routedOnly), and runs the routed ones', async () => {
    const token = await workerToken(server);
    const { taskId } = await createTaskWithoutTool(server);
    const worker = startWorker(server.url, token, ['--workdir', scratch.dir]);
    try {
      await worker.line(/worker \S+ registered/);
      const { taskIds } = await submitTasks(server, ['chatty']);
      expect((await taskReaches(server, taskIds[0]!, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
      // The older task was queued before every claim the worker made, and passed over by each.
      expect(await taskOf(server, taskId)).toMatchObject({ state: 'PENDING', attempts: 0, worker: null });
      expect(worker.output.stderr).not.toContain(taskId);
    } finally {
      worker.interrupt();
      await worker.exited;
    }
  });

  it('refuses wrong usage with exit code 2 and says why', async () => {
    const missing = await runCli(['worker', '--url', server.url], { UET_TOKEN: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--token is required');
    const slots = await runCli(['worker', '--token', 't', '--slots', '0']);
    expect(slots.code).toBe(2);
    expect(slots.stderr).toContain('--slots must be a whole number from 1 to 1000, got "0"');
  });

  it('exits 1 saying so when the gateway refuses its token', async () => {
    const result = await runCli(['worker', '--url', server.url, '--token', 'uet_not-a-real-token'], {}, 30_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused the token/);
  });
});

async function createTaskWithoutTool(server: TestServer): Promise<{ taskId: string }> {
  const { createTask } = await server.ok(`mutation { createTask(input: {kind: "unrouted", maxAttempts: 1}) { task { id } } }`);
  expect((await taskOf(server, createTask.task.id)).state).toBe('PENDING');
  return { taskId: createTask.task.id };
}

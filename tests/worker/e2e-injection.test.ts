import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { byStream, nodeTool, readStepLog, registeredWorker, type RegisteredWorker, setTools, stopWorker, submitTools, watchRun, workerToken } from '../helpers/worker.js';

// Issue 21: a task's inputs (args, env) reach its tool as data. Shell syntax in them runs nothing: the worker starts
// tools without a shell, and a tool that is a shell gets them as positional parameters and variables, not as code.
let server: TestServer;
let root: string;
let worker: RegisteredWorker;

beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
  root = mkdtempSync(join(tmpdir(), 'uet-e2e-injection-'));
  mkdirSync(join(root, 'work'));
  mkdirSync(join(root, 'marks'));
});
afterAll(async () => {
  await stopWorker(worker);
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('shell syntax in a task spec', () => {
  it('runs nothing extra: no file appears, and the log shows the literal text', { timeout: 120_000 }, async () => {
    onTestFailed(() => console.error(`worker stderr:\n${worker?.output.stderr}`));
    const mark = (n: number) => join(root, 'marks', `X${n}`);
    const args = [
      `; touch ${mark(1)}`,
      `$(touch ${mark(2)})`,
      `\`touch ${mark(3)}\``,
      `line\ntouch ${mark(4)}`,
      `&& touch ${mark(5)}`,
      `| touch ${mark(6)}`,
      `> ${mark(7)}`,
      `'; touch ${mark(8)}; '`,
      `"; touch ${mark(9)}; "`,
      '$HOME *',
    ];
    const env = {
      INJECT_A: `$(touch ${mark(10)})`,
      INJECT_B: `\`touch ${mark(11)}\``,
      INJECT_C: `; touch ${mark(12)}`,
      INJECT_D: `line\ntouch ${mark(13)}`,
    };
    const names = Object.keys(env);
    await setTools(server, {
      // A shell as the tool: the arguments are its positional parameters, the variables its environment.
      shell: { command: `sh -c 'printf "%s\\n" "$@" "$INJECT_A" "$INJECT_B" "$INJECT_C" "$INJECT_D"' sh` },
      // A program: what it received, as JSON lines.
      program: { command: nodeTool('show-args.mjs') },
    });
    const { runId, taskIds } = await submitTools(server, 'ws-injection', [
      { id: 'shell', tool: 'shell', args, env },
      { id: 'program', tool: 'program', args, env: { ...env, SHOW_ENV: names.join(',') } },
    ]);
    const run = watchRun(server.wsClient(), runId);
    worker = await registeredWorker(server.url, await workerToken(server, ['WORKER']), ['--workdir', join(root, 'work'), '--slots', '2']);
    await run.done;

    expect(readdirSync(join(root, 'marks'))).toEqual([]);
    const expected = {
      shell: [...args, ...Object.values(env)].map((text) => `${text}\n`).join(''),
      program: [...args.map((arg) => JSON.stringify({ arg })), ...names.map((name) => JSON.stringify({ name, value: env[name as keyof typeof env] }))].map((line) => `${line}\n`).join(''),
    };
    for (const [name, id] of Object.entries(taskIds)) {
      const { task } = await server.ok(`query($id: ID!) { task(id: $id) { state toolId run { steps(first: 5) { edges { node { id toolId } } } } } }`, { id });
      expect(task.state, name).toBe('COMPLETED');
      const step = task.run.steps.edges.find((e: any) => e.node.toolId === task.toolId).node;
      expect(byStream((await readStepLog(server, step.id)).chunks)).toEqual({ stdout: expected[name as keyof typeof expected], stderr: '' });
    }
  });
});

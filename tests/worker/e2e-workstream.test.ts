import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { byStream, contiguous, nodeTool, readStepLog, registeredWorker, type RegisteredWorker, setTools, stopWorker, submitTools, TOOLS_DIR, watchRun, workerToken } from '../helpers/worker.js';

// Issue 21 end to end: a workstream of three real commands on two real worker processes, through a real gateway.
let server: TestServer;
let root: string;
const workers: RegisteredWorker[] = [];

beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
  root = mkdtempSync(join(tmpdir(), 'uet-e2e-workstream-'));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w)));
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

const LINES = 50_000;
const ECHO_ARGS = ['hello', 'wörld ✓', '  two  spaces', '*', '$HOME'];

describe('a workstream of three tools on two workers', () => {
  it('succeeds, with byte-exact step logs, a FAILED gate naming the failing test, and everything live to subscribers opened before it started', { timeout: 300_000 }, async () => {
    onTestFailed(() => {
      for (const w of workers) console.error(`worker ${w.id} stderr:\n${w.output.stderr}`);
    });
    const workdir = join(root, 'work');
    const copyDir = join(root, 'copy');
    mkdirSync(workdir);
    await setTools(server, {
      echo: { command: `sh -c 'echo "$@"' sh` },
      lines: { command: nodeTool('lines.mjs') },
      tests: { command: nodeTool('run-tests.mjs') },
    });
    const { runId, taskIds } = await submitTools(server, 'ws-three-tools', [
      { id: 'say', tool: 'echo', args: ECHO_ARGS },
      { id: 'print', tool: 'lines', args: [String(LINES)] },
      { id: 'check', tool: 'tests', env: { COPY_DIR: copyDir } },
    ]);

    // Subscribers first: the run starts with the first claim, and no worker runs yet.
    const client = server.wsClient();
    const streamsBefore = server.engine.openStreams();
    const run = watchRun(client, runId);
    const outcomes = subscribe(client, `subscription($r: ID) { gateOutcomes(runId: $r) { id name state } }`, { r: runId });
    await until(() => server.engine.openStreams() >= streamsBefore + 2, 'runEvents and gateOutcomes to attach', 20_000);

    // Each worker runs a tool the other does not, so both take part whatever the timing; either may run the lines.
    workers.push(await registeredWorker(server.url, await workerToken(server, ['WORKER']), ['--tools', 'echo,lines', '--workdir', workdir]));
    workers.push(await registeredWorker(server.url, await workerToken(server, ['WORKER']), ['--tools', 'lines,tests', '--workdir', workdir]));

    await run.done;
    expect(run.events.at(-1)).toMatchObject({ kind: 'RUN_STATE_CHANGED', payload: { to: 'succeeded' } });

    // Each task completed, on the worker that runs its tool.
    const tasks: Record<string, any> = {};
    for (const [name, id] of Object.entries(taskIds)) {
      tasks[name] = (await server.ok(`query($id: ID!) { task(id: $id) { state attempts toolId worker { id } result } }`, { id })).task;
    }
    expect(tasks.say).toMatchObject({ state: 'COMPLETED', attempts: 1, toolId: 'echo', worker: { id: workers[0]!.id }, result: { exit_code: 0, timed_out: false } });
    expect(tasks.check).toMatchObject({ state: 'COMPLETED', attempts: 1, toolId: 'tests', worker: { id: workers[1]!.id }, result: { exit_code: 1, timed_out: false } });
    expect(tasks.print).toMatchObject({ state: 'COMPLETED', attempts: 1, toolId: 'lines', result: { exit_code: 0 } });

    // The steps, one per task, and what each tool printed, byte for byte.
    const { run: stored } = await server.ok(`query($id: ID!) { run(id: $id) { state steps(first: 10) { edges { node { id toolId state exitCode } } } } }`, { id: runId });
    expect(stored.state).toBe('SUCCEEDED');
    const steps: Record<string, { id: string; state: string; exitCode: number }> = Object.fromEntries(stored.steps.edges.map(({ node }: { node: { toolId: string } }) => [node.toolId, node]));
    expect(Object.keys(steps).sort()).toEqual(['echo', 'lines', 'tests']);
    expect(steps.echo).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    expect(steps.lines).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
    // A test runner's "tests failed" is the gate's verdict, not the step's.
    expect(steps.tests).toMatchObject({ state: 'SUCCEEDED', exitCode: 1 });

    const raw = spawnSync(process.execPath, [`${TOOLS_DIR}lines.mjs`, String(LINES)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const testOutput = (name: string) => (existsSync(join(copyDir, name)) ? readFileSync(join(copyDir, name), 'utf8') : '');
    const expected = {
      echo: { stdout: `${ECHO_ARGS.join(' ')}\n`, stderr: '' },
      lines: { stdout: raw.stdout, stderr: raw.stderr },
      tests: { stdout: testOutput('stdout'), stderr: testOutput('stderr') },
    };
    expect(expected.lines.stderr.length).toBeGreaterThan(0);
    expect(expected.tests.stdout).toContain('divides seven by two exactly');
    for (const tool of ['echo', 'lines', 'tests'] as const) {
      const log = await readStepLog(server, steps[tool]!.id);
      const text = byStream(log.chunks);
      // Compared whole (not with toEqual's diff of megabytes) and then by length, for a readable failure.
      expect(text.stdout === expected[tool].stdout, `${tool}: stdout differs (${text.stdout.length} vs ${expected[tool].stdout.length} characters)`).toBe(true);
      expect(text.stderr === expected[tool].stderr, `${tool}: stderr differs (${text.stderr.length} vs ${expected[tool].stderr.length} characters)`).toBe(true);
      const bytes = Buffer.byteLength(expected[tool].stdout) + Buffer.byteLength(expected[tool].stderr);
      expect(log).toMatchObject({ size: bytes, cutBytes: 0, complete: true });
      expect(contiguous(log.chunks)).toBe(bytes);

      // The live subscriber (opened as the step started, from offset 0) got exactly the stored log, then completed.
      const live = run.steps.get(steps[tool]!.id);
      expect(live, `no stepLogAppended subscription for ${tool}`).toBeDefined();
      await live!.done;
      expect(live!.chunks).toEqual(log.chunks.map(({ offset, endOffset, stream, text }) => ({ offset, endOffset, stream, text })));
    }
    // The lines arrived while the tool's step ran, not after it ended.
    const linesEnded = run.events.find((e) => e.kind === 'TOOL_CALL_COMPLETED' && e.step?.id === steps.lines!.id);
    expect(run.steps.get(steps.lines!.id)!.firstAt).toBeLessThan(linesEnded!.at);

    // The gate: made by the worker from the JUnit report, FAILED, naming the failing test.
    const { testGates } = await server.ok(
      `query($r: ID!) { testGates(filter: {runId: $r}) { edges { node { id name type state executionRequestId
        execution { command exitCode } criteria { maxFailures }
        results { totalTests passedTests failedTests skippedTests failures { test message } testNames }
        decision { passed reason } } } } }`,
      { r: runId },
    );
    expect(testGates.edges).toHaveLength(1);
    const gate = testGates.edges[0].node;
    expect(gate).toMatchObject({
      name: 'task check: tests',
      type: 'UNIT_TESTS',
      state: 'FAILED',
      execution: { exitCode: 0, command: nodeTool('run-tests.mjs') },
      criteria: { maxFailures: 0 },
      results: { totalTests: 3, passedTests: 2, failedTests: 1, skippedTests: 0 },
      decision: { passed: false },
    });
    expect(gate.executionRequestId).toBeTruthy();
    expect(gate.results.failures).toHaveLength(1);
    const failing = gate.results.failures[0];
    expect(failing.test).toMatch(/ > divides seven by two exactly$/);
    expect(failing.message).toContain('integer division expected');
    expect(gate.decision.reason).toContain(failing.test);

    // gateOutcomes, open before the run started, delivered that outcome live.
    await outcomes.next(1, 30_000);
    expect(outcomes.results.map((r) => r.data.gateOutcomes)).toEqual([{ id: gate.id, name: gate.name, state: 'FAILED' }]);
    outcomes.stop();

    // Each attempt's working folder is removed after it.
    await until(() => readdirSync(workdir).length === 0, 'the task folders to be removed', 20_000);
  });
});

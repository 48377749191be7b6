import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { setTools, startWorker, stepsOf, submitTasks, taskReaches, workerScratch, workerToken } from '../helpers/worker.js';

// A test runner's way: a JUnit report with one failure and exit code 1; two cost lines (and one bad) on fd 3; changes under src/.
const REPORTING = `
import { writeFileSync, writeSync, mkdirSync, appendFileSync } from 'node:fs';
import { dirname } from 'node:path';
mkdirSync(dirname(process.env.UET_JUNIT_FILE), { recursive: true });
writeFileSync(process.env.UET_JUNIT_FILE, \`<?xml version="1.0"?>
<testsuites><testsuite name="math" tests="2" failures="1">
  <testcase classname="math" name="adds"/>
  <testcase classname="math" name="divides"><failure message="expected 2, got 3"/></testcase>
</testsuite></testsuites>\`);
const fd = Number(process.env.UET_COST_FD);
writeSync(fd, JSON.stringify({ model: 'gpt-x', tokens_in: 1200, tokens_out: 340, amount: '0.0123', currency: 'USD' }) + '\\n');
writeSync(fd, 'not json\\n');
writeSync(fd, JSON.stringify({ model: 'gpt-y', amount: 0.5 }) + '\\n');
appendFileSync('src/app.txt', 'changed by the tool\\n');
writeFileSync('src/new.txt', 'a new file\\n');
console.log('1 passed, 1 failed');
process.exit(1);
`;

// Each test spawns the CLI (through tsx when dist/ is stale) and real tools: generous under load.
describe('uet-gateway worker: reports from tools', { timeout: 120_000 }, () => {
  let server: TestServer;
  const scratch = workerScratch();
  const repo = join(scratch.dir, 'checkout');

  beforeAll(async () => {
    server = await startTestServer();
    await setTools(server, { reporting: { command: scratch.tool('reporting', REPORTING) } });
    mkdirSync(repo);
    // The test workstream's resource scope lets a task write under src/ only.
    mkdirSync(join(repo, 'src'));
    writeFileSync(join(repo, 'src', 'app.txt'), 'the project\n');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: repo });
    git('init', '--quiet');
    git('add', '-A');
    git('commit', '--quiet', '-m', 'first');
  });
  afterAll(async () => {
    await server?.stop();
    scratch.remove();
  });

  it.each([
    { who: 'a worker token', scopes: ['WORKER', 'READ'] },
    { who: 'a worker run with the operate scope', scopes: ['WORKER', 'READ', 'OPERATE'] },
  ])('turns the JUnit report into a gate, records each cost line at once, and sends the changes as a patch ($who)', async ({ scopes }) => {
    const worker = startWorker(server.url, await workerToken(server, scopes), ['--tools', 'reporting', '--workdir', join(scratch.dir, 'work'), '--repo', repo]);
    try {
      const { runId, taskIds } = await submitTasks(server, ['reporting']);
      const task = await taskReaches(server, taskIds[0]!, ['COMPLETED', 'FAILED']);
      // Exit code 1 with a readable report: the tests' verdict is the gate's, the task succeeded.
      expect(task.state).toBe('COMPLETED');
      expect(task.result).toMatchObject({ exit_code: 1, patch_ids: [expect.any(String)] });
      if (task.result.gate_id === null) {
        // A gateway that keeps createTestGate to operators: the worker says so, and the task's outcome does not change.
        expect(scopes).not.toContain('OPERATE');
        expect(worker.output.stderr).toMatch(/the test gate refused \(FORBIDDEN\)/);
      } else {
        const { testGate } = await server.ok(
          `query($id: ID!) { testGate(id: $id) { name type state executionRequestId execution { command exitCode } results { totalTests passedTests failedTests failures { test message } } } }`,
          { id: task.result.gate_id },
        );
        expect(testGate).toMatchObject({ name: 'task t1: tests', type: 'UNIT_TESTS', state: 'FAILED', execution: { exitCode: 0, command: expect.stringContaining('reporting.mjs') } });
        expect(testGate.executionRequestId).toEqual(expect.any(String));
        expect(testGate.results).toMatchObject({ totalTests: 2, passedTests: 1, failedTests: 1, failures: [{ test: 'math > divides', message: 'expected 2, got 3' }] });
      }

      const { costs } = await server.ok(`query($r: ID) { costs(filter: {runId: $r}, first: 10) { edges { node { amount currency resourceType metadata { model tokensInput tokensOutput } } } } }`, {
        r: runId,
      });
      const recorded = costs.edges.map((e: any) => e.node);
      expect(recorded).toHaveLength(2);
      expect(recorded).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ currency: 'USD', resourceType: 'API_CALL', metadata: { model: 'gpt-x', tokensInput: 1200, tokensOutput: 340 } }),
          expect.objectContaining({ currency: 'USD', metadata: expect.objectContaining({ model: 'gpt-y' }) }),
        ]),
      );
      expect(recorded.map((c: any) => Number(c.amount)).sort()).toEqual([0.0123, 0.5]);
      expect(worker.output.stderr).toContain('cost line skipped');

      const { patch } = await server.ok(`query($id: ID!) { patch(id: $id) { targetRepo baseCommit diffText origin scope { filesTouched } ledgerEntry { state } } }`, { id: task.result.patch_ids[0] });
      expect(patch).toMatchObject({ targetRepo: 'checkout', origin: expect.objectContaining({ tool_id: 'reporting' }) });
      expect(patch.baseCommit).toMatch(/^[0-9a-f]{40}$/);
      expect([...patch.scope.filesTouched].sort()).toEqual(['src/app.txt', 'src/new.txt']);
      expect(patch.diffText).toContain('+changed by the tool');
      expect(patch.diffText).not.toContain('.uet');
      // A worker token validates and queues its own patch where the gateway allows it; where it does not, the worker says so.
      if (patch.ledgerEntry.state === 'CREATED') {
        expect(scopes).not.toContain('OPERATE');
        expect(worker.output.stderr).toMatch(/validate FORBIDDEN for this token/);
      } else expect(patch.ledgerEntry.state).toBe('APPLIED');

      const [step] = await stepsOf(server, runId);
      expect(step).toMatchObject({ state: 'SUCCEEDED', exitCode: 1 });
      expect(step.errorLog).toContain('cost line skipped');
    } finally {
      worker.interrupt();
      await worker.exited;
    }
  });
});

import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { ADMIN_SECRET, startTestServer, type TestServer } from '../helpers/server.js';

/** A port nothing listens on: one the system just handed out and that was closed again. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('uet-gateway simulate', () => {
  let server: TestServer;
  let port: string;
  beforeAll(async () => {
    server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
    port = new URL(server.url).port;
  });
  afterAll(() => server?.stop());

  it('follows PORT when --url is not given, and prints a progress line every --every seconds', async () => {
    const run = await runCli(['simulate', '--token', ADMIN_SECRET, '--workers', '2', '--seconds', '4', '--tasks', '2', '--every', '1'], { PORT: port, UET_TOKEN: '', UET_ADMIN_TOKEN: '' });
    expect(run.code, run.stderr).toBe(0);
    const progress = run.stderr.split('\n').filter((line) => /^\d\d:\d\d:\d\d workers \d+ registered; tasks \d+ claimed, \d+ completed, \d+ failed; \d+ heartbeats; costs USD \d+\.\d{4}$/.test(line));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toMatch(/workers 2 registered/);
    expect(run.stdout).toMatch(/^simulated 2 workers for up to 4 s: \d+ tasks completed, \d+ failed, \d+ heartbeats, costs USD \d+\.\d{4}$/m);
    const fleet = await server.ok(`{ workerSummary { total } }`);
    expect(fleet.workerSummary.total).toBe(2);
  }, 60_000);

  it('--real runs the demo tools on real worker processes: the run succeeds with its logs, a failing test gate, a patch and a cost', async () => {
    const run = await runCli(['simulate', '--real', '--url', server.url, '--token', ADMIN_SECRET, '--workers', '2', '--seconds', '150', '--every', '2'], {}, 180_000);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    // The workers' own lines come through, marked with their number, and they were stopped at the end.
    expect(run.stderr).toMatch(/^\[worker [12]\] .*registered/m);
    expect(run.stderr).toMatch(/^\[worker [12]\] .*task \S+ claimed: demo-agent/m);
    expect(run.stderr).toMatch(/^\[worker 1\] exited \(code 0\)$/m);
    expect(run.stderr).toMatch(/^\[worker 2\] exited \(code 0\)$/m);
    expect(run.stdout).toMatch(/^run \S+ SUCCEEDED/m);
    for (const task of ['edit (demo-agent)', 'lint (demo-lint)', 'tests (demo-tests)']) expect(run.stdout).toContain(`  task ${task}: COMPLETED`);
    expect(run.stdout).toMatch(/^ {2}gate "Run the tests: tests": FAILED \(4 tests, 1 failed: test > trims the name\)$/m);
    expect(run.stdout).toMatch(/^ {2}patches: 1 created, 1 applied$/m);
    expect(run.stdout).toMatch(/^ {2}costs: USD 0\.0123$/m);

    // What the gateway kept: the tools' output, byte for byte in the step logs.
    const runId = /^run (\S+) SUCCEEDED/m.exec(run.stdout)![1];
    const { run: ran } = await server.ok(`query($r: ID!) { run(id: $r) { steps(first: 10) { edges { node { id toolId } } } } }`, { r: runId });
    const logs: Record<string, string> = {};
    for (const { node: step } of ran.steps.edges) {
      const { stepLog } = await server.ok(`query($s: ID!) { stepLog(stepId: $s, first: 500) { chunks { text } complete } }`, { s: step.id });
      expect(stepLog.complete).toBe(true);
      logs[step.toolId] = stepLog.chunks.map((chunk: { text: string }) => chunk.text).join('');
    }
    expect(logs['demo-lint']).toMatch(/^src\/greet\.js:7: line is 115 characters long \(at most 100\)$/m);
    // Each task folder is a fresh clone of the sample project: the agent's change is its patch, not the others' input.
    expect(logs['demo-lint']).toMatch(/^src\/greet\.js:4: TODO left in: return `Hello, \$\{name\}!`; \/\/ TODO: trim the name$/m);
    expect(logs['demo-tests']).toContain('✖ trims the name');
    expect(logs['demo-agent']).toContain('src/greet.js: the name is trimmed now');
  }, 200_000);

  it('says in one line that the gateway cannot be reached, and exits 1', async () => {
    const closed = await closedPort();
    const run = await runCli(['simulate', '--token', 'uet_anything', '--seconds', '1'], { PORT: String(closed) });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: cannot reach the gateway at http://127.0.0.1:${closed}/graphql: connection refused; is it running? set --url or PORT\n`);
    expect(run.stdout).toBe('');
  });

  it('says in one line that the gateway refused the token, and exits 1', async () => {
    const run = await runCli(['simulate', '--url', server.url, '--token', 'uet_not-a-token', '--seconds', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: the gateway at ${server.url.replace(/[.]/g, '\\.')} refused the token: [^\\n]+\\n$`));
  });

  it('says in one line that a URL is not the GraphQL endpoint, and exits 1', async () => {
    const url = server.url.replace(/\/graphql$/, '/nowhere');
    const run = await runCli(['simulate', '--url', url, '--token', ADMIN_SECRET, '--seconds', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`error: ${url} answered HTTP 404 without a GraphQL answer; is it the gateway's /graphql endpoint? set --url or PORT\n`);
  });

  it.each([
    [['--token', 't', '--workers', 'abc'], 'error: --workers must be a whole number from 1 to 500, got "abc"'],
    [['--token', 't', '--seconds', '0'], 'error: --seconds must be a whole number from 1 to 86400, got "0"'],
    [['--token', 't', '--url', 'localhost:4000'], 'error: --url must give an http(s) URL such as http://127.0.0.1:4000/graphql, got "localhost:4000"'],
    [['--workers', '2'], 'error: --token is required'],
    [['--token', 't', '--bogus'], "error: Unknown option '--bogus'"],
  ])('simulate %j exits 2 saying what was wrong, with the usage', async (args, message) => {
    const run = await runCli(['simulate', ...args], { UET_TOKEN: '', UET_ADMIN_TOKEN: '' });
    expect(run.code).toBe(2);
    expect(run.stderr.startsWith(message), run.stderr).toBe(true);
    expect(run.stderr).toContain('usage: uet-gateway simulate');
  });

  it('--help prints its usage and exits 0 without connecting', async () => {
    const run = await runCli(['simulate', '--help'], { PORT: '1' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^usage: uet-gateway simulate --token TOKEN/);
    expect(run.stdout).toContain('PORT defaults to 4000');
  });
});

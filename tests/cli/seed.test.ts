import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { onPostgres } from '../helpers/database.js';
import { startTestServer, subscribe } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'uet-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const missing = join(dir, 'missing.sqlite');
const env = { DATABASE_URL: `sqlite:${missing}` };

describe('uet-gateway seed', () => {
  it('--help prints its usage and exits 0 without opening a database', async () => {
    const help = await runCli(['seed', '--demo', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: uet-gateway seed --demo \[--runs 24\]/);
    expect(help.stderr).toBe('');
    expect(existsSync(missing)).toBe(false);
  });

  it.each([
    [['--demo', '--runs', 'abc'], 'error: --runs must be a whole number from 6 to 10000, got "abc"'],
    [['--demo', '--runs', '5'], 'error: --runs must be a whole number from 6 to 10000, got "5"'],
    [['--demo', '--runs', '12.5'], 'error: --runs must be a whole number from 6 to 10000, got "12.5"'],
    [['--runs', '12'], 'error: --demo is required'],
    [['--demo', '--bogus'], "error: Unknown option '--bogus'"],
    [['--demo', 'extra'], 'error: Unexpected argument'],
  ])('seed %j exits 2 saying what was wrong, with the usage, and touches no database', async (args, message) => {
    const run = await runCli(['seed', ...args], env);
    expect(run.code).toBe(2);
    expect(run.stderr.startsWith(message), run.stderr).toBe(true);
    expect(run.stderr).toContain('usage: uet-gateway seed');
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses to create a database: one line saying which and how to create it, exit 1', async () => {
    const run = await runCli(['seed', '--demo'], env);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`error: no database at ${missing}: start the gateway once (npm start) or run \`uet-gateway migrate\` to create it, or set DATABASE_URL to the one you mean`);
    expect(existsSync(missing)).toBe(false);
  });

  it.skipIf(onPostgres)(
    'seeds a running gateway: it serves the demo at once, nothing it holds goes stale, no seeded worker is reaped, and seeding again adds another set',
    async () => {
      const server = await startTestServer();
      try {
        const database = { DATABASE_URL: `sqlite:${server.sqlitePath}` };
        expect((await server.ok('{ tools { id } }')).tools).toEqual([]);
        // A dashboard following every run while the seed writes from another process.
        const streams = server.engine.openStreams();
        const followAll = subscribe(server.wsClient(), 'subscription { runEvents { cursor kind run { id projectId } } }');
        await until(() => server.engine.openStreams() > streams, 'the stream to open');

        const seeded = await runCli(['seed', '--demo', '--runs', '6'], database);
        expect(seeded.code, seeded.stderr).toBe(0);
        expect(seeded.stderr).toContain(`database: ${server.sqlitePath}`);
        expect(seeded.stdout).toContain('seeded 6 runs of demo-web and demo-api');

        const demo = await server.ok(`{
          tools { id successRate p50LatencyMs }
          workerSummary { total byState { state count } }
          staleWorkers { id }
          web: runs(filter: { projectId: "demo-web" }) { totalCount }
          api: runs(filter: { projectId: "demo-api" }) { totalCount }
          queued: tasks(filter: { states: [PENDING] }) { totalCount }
          costSummary { currency total byTool { toolId total } }
        }`);
        // The fleet's attempts ran on every tool the router configuration names: each has figures, and the costs of those attempts name their tool.
        expect(demo.tools).toEqual([
          { id: 'aider', successRate: 1, p50LatencyMs: expect.any(Number) },
          { id: 'claude_code', successRate: 1, p50LatencyMs: expect.any(Number) },
          { id: 'pytest', successRate: 0, p50LatencyMs: expect.any(Number) },
          { id: 'ruff', successRate: 1, p50LatencyMs: expect.any(Number) },
        ]);
        expect(new Set(demo.costSummary[0].byTool.map((row: { toolId: string | null }) => row.toolId))).toEqual(new Set(['aider', 'claude_code', 'pytest', 'ruff', null]));
        // The fleet is history: every seeded worker has ended, so the reaper has nothing to crash, now or later.
        expect(demo.workerSummary.total).toBe(8);
        expect(demo.workerSummary.byState).toEqual(
          expect.arrayContaining([
            { state: 'STOPPED', count: 6 },
            { state: 'CRASHED', count: 2 },
          ]),
        );
        expect(demo.workerSummary.byState).toHaveLength(2);
        expect(demo.staleWorkers).toEqual([]);
        expect((await server.engine.reaper.reap()).crashedWorkers).toEqual([]);
        // 4 of the 6 runs, and the workstream's.
        expect(demo.web.totalCount).toBe(5);
        expect(demo.api.totalCount).toBe(2);
        expect(demo.queued.totalCount).toBeGreaterThan(0);
        expect(Number(demo.costSummary[0].total)).toBeGreaterThan(0);

        // The gateway's live stream hears of the seeded events with its next own write: late, but in log order and all of them.
        const { createRun } = await server.ok(`mutation { createRun(input: { projectId: "demo-web", phaseId: "p" }) { run { id } } }`);
        const ours = (r: { data?: { runEvents: { run: { id: string } } } }) => r.data?.runEvents.run.id === createRun.run.id;
        await until(() => followAll.results.some(ours), "the new run's event", 10_000);
        const received = followAll.results.map((r) => r.data.runEvents);
        expect(received.at(-1).run.id).toBe(createRun.run.id);
        expect(new Set(received.map((e: { run: { projectId: string } }) => e.run.projectId))).toEqual(new Set(['demo-web', 'demo-api']));
        expect(new Set(received.map((e: { cursor: string }) => e.cursor)).size).toBe(received.length);

        // Seeding again adds another set (the workstream is the same one: same spec, same workstream).
        const again = await runCli(['seed', '--demo', '--runs', '6'], database);
        expect(again.code, again.stderr).toBe(0);
        const twice = await server.ok(`{ web: runs(filter: { projectId: "demo-web" }) { totalCount } workerSummary { total } }`);
        expect(twice).toEqual({ web: { totalCount: 10 }, workerSummary: { total: 16 } });
      } finally {
        await server.stop();
      }
    },
    120_000,
  );
});

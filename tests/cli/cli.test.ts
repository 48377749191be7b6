import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { ADMIN_SECRET, startTestServer } from '../helpers/server.js';

const BIN = new URL('../../bin/uet-gateway.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'uet-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the package's command as a user would; resolves to its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the uet-gateway command', () => {
  it('prints help (exit 0), and refuses an unknown command or wrong usage with exit 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/commands:[\s\S]*serve[\s\S]*seed --demo[\s\S]*simulate/);
    expect((await cli(['nonsense'])).code).toBe(2);
    expect((await cli(['seed'])).code).toBe(2);
    expect((await cli(['simulate'], { UET_ADMIN_TOKEN: '' })).code).toBe(2);
  });

  it('seed --demo fills a database through the engine, and token create/list work on it', async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}` };
    const seeded = await cli(['seed', '--demo', '--runs', '12'], env);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toContain('seeded 12 runs');
    expect(seeded.stderr).toContain('100%');
    const orm = await openDatabase({ sqlitePath: join(dir, 'demo.sqlite') });
    try {
      await migrateDatabase(orm);
      const em = orm.em.fork();
      const states = (await em.getKnex()('run').select('state').count({ n: '*' }).groupBy('state')) as { state: string; n: number }[];
      expect(states.map((s) => s.state).sort()).toEqual(['canceled', 'failed', 'pending', 'quarantined', 'running', 'succeeded']);
      expect(await em.count('Worker', {})).toBe(8);
      expect(await em.count('Workstream', {})).toBe(1);
      expect(await em.count('CostRecord', {})).toBeGreaterThan(0);
      expect(await em.count('LedgerEntry', { state: 'committed' })).toBeGreaterThan(0);
    } finally {
      await orm.close();
    }
    const created = await cli(['token', 'create', '--name', 'ci', '--scopes', 'read,operate'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^uet_/m);
    const listed = await cli(['token', 'list'], env);
    expect(listed.stdout).toMatch(/ci\s+read,operate\s+active/);
  });

  it('simulate drives workers against a running gateway through its API', async () => {
    const server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
    try {
      const run = await cli(['simulate', '--url', server.url, '--token', ADMIN_SECRET, '--workers', '2', '--seconds', '4', '--tasks', '3']);
      expect(run.code, run.stderr).toBe(0);
      const completed = Number(/(\d+) tasks completed/.exec(run.stdout)?.[1]);
      const failed = Number(/(\d+) failed/.exec(run.stdout)?.[1]);
      expect(completed + failed).toBeGreaterThan(0);
      const fleet = await server.ok(`{ workerSummary { total byState { state count } } tasks(filter: {states: [COMPLETED, FAILED, PENDING]}) { totalCount } }`);
      // Both simulated workers registered and shut down cleanly at the end.
      expect(fleet.workerSummary).toMatchObject({ total: 2, byState: [{ state: 'STOPPED', count: 2 }] });
      expect(fleet.tasks.totalCount).toBe(3);
    } finally {
      await server.stop();
    }
  });
});

describe('uet-gateway schema:check', () => {
  it('passes against the released schema, and exits 1 listing what a change breaks', async () => {
    const clean = await cli(['schema:check']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^0 breaking, \d+ dangerous, \d+ safe change\(s\) against .*schema\.released\.graphql$/m);

    // A "release" that had a field the code no longer has.
    const released = join(dir, 'released.graphql');
    const sdl = readFileSync(new URL('../../schema.released.graphql', import.meta.url), 'utf8');
    writeFileSync(released, sdl.replace(/^type Query \{$/m, 'type Query {\n  retiredField: String'));
    const broken = await cli(['schema:check', '--against', released]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^breaking \(1\):\n {2}Query\.retiredField: Field 'retiredField' was removed from object type 'Query'/m);
    expect((await cli(['schema:check', '--bogus'])).code).toBe(2);
  });
});

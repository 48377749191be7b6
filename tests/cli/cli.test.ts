import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { BIN, runCli as cli } from '../helpers/cli.js';
import { ADMIN_SECRET, startTestServer } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'uet-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the uet-gateway command', { timeout: 120_000 }, () => {
  it('prints help (exit 0), and refuses an unknown command or wrong usage with exit 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/commands:[\s\S]*serve[\s\S]*seed --demo[\s\S]*simulate[\s\S]*backup FILE/);
    expect((await cli(['nonsense'])).code).toBe(2);
    expect((await cli(['seed'])).code).toBe(2);
    expect((await cli(['simulate'], { UET_ADMIN_TOKEN: '' })).code).toBe(2);
  });

  it('migrate creates the database and says which; seed and token then work on it', async () => {
    const path = join(dir, 'demo.sqlite');
    const env = { DATABASE_URL: `sqlite:${path}` };
    const migrated = await cli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stderr).toBe(`database: ${path}\n`);
    expect(migrated.stdout).toMatch(/^applied: Migration\d+Init, /);
    expect(await cli(['migrate'], env)).toMatchObject({ code: 0, stdout: 'database is up to date\n' });

    const seeded = await cli(['seed', '--demo', '--runs', '12'], env);
    expect(seeded.code, seeded.stderr).toBe(0);
    const orm = await openDatabase({ sqlitePath: path });
    try {
      await migrateDatabase(orm);
      expect(await orm.em.fork().count('Run', {})).toBeGreaterThanOrEqual(12);
    } finally {
      await orm.close();
    }
    const created = await cli(['token', 'create', '--name', 'ci', '--scopes', 'read,operate'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^uet_\S+\n$/);
    const listed = await cli(['token', 'list'], env);
    expect(listed.stdout).toMatch(/ ci +read,operate +active +never +never\n/);
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

describe('uet-gateway schema:check', { timeout: 60_000 }, () => {
  const RELEASED = new URL('../../schema.released.graphql', import.meta.url);

  it('prints the verdict first, then only what breaks or is dangerous unless --verbose', async () => {
    const clean = await cli(['schema:check']);
    expect(clean.code, clean.stderr).toBe(0);
    const [verdict, ...rest] = clean.stdout.trimEnd().split('\n');
    const counts = /^no breaking changes \((\d+) dangerous, (\d+) safe\) against .*schema\.released\.graphql$/.exec(verdict!);
    expect(counts, verdict).not.toBeNull();
    const [dangerous, safe] = [Number(counts![1]), Number(counts![2])];
    expect(rest.filter((line) => line.startsWith('  '))).toHaveLength(dangerous);
    expect(clean.stdout).not.toMatch(/^safe \(/m);

    const verbose = await cli(['schema:check', '--verbose']);
    expect(verbose.code).toBe(0);
    expect(verbose.stdout.split('\n')[0]).toBe(verdict);
    expect(verbose.stdout.split('\n').filter((line) => line.startsWith('  '))).toHaveLength(dangerous + safe);
    if (safe > 0) expect(verbose.stdout).toMatch(new RegExp(`^safe \\(${safe}\\):$`, 'm'));
  });

  it('exits 1 naming what a change breaks', async () => {
    // A "release" that had a field the code no longer has.
    const released = join(dir, 'released.graphql');
    writeFileSync(released, readFileSync(RELEASED, 'utf8').replace(/^type Query \{$/m, 'type Query {\n  retiredField: String'));
    const broken = await cli(['schema:check', '--against', released]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^1 breaking change \\(\\d+ dangerous, \\d+ safe\\) against ${released}\n`));
    expect(broken.stdout).toMatch(/^breaking \(1\):\n {2}Query\.retiredField: Field 'retiredField' was removed from object type 'Query'/m);
  });

  it('a schema file it cannot read is one line and exit 2 (not 1, which means "breaking")', async () => {
    const missing = await cli(['schema:check', '--against', join(dir, 'nope.graphql')]);
    expect(missing).toMatchObject({ code: 2, stdout: '', stderr: `error: cannot read ${join(dir, 'nope.graphql')}: no such file\n` });
    const notSdl = join(dir, 'not.graphql');
    writeFileSync(notSdl, '# a README\nHello');
    const unparsable = await cli(['schema:check', '--against', notSdl]);
    expect(unparsable).toMatchObject({ code: 2, stdout: '', stderr: `error: ${notSdl} is not a GraphQL schema: Syntax Error: Unexpected Name "Hello".\n` });
  });

  it('piped into head, it ends quietly with its own exit code', async () => {
    // `set -o pipefail` is not in every sh: the command's status comes back through a file.
    const status = join(dir, 'status');
    const result = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', `{ "$0" "$1" schema:check --verbose; echo $? > "$2"; } | head -1`, process.execPath, BIN, status], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', () => resolve({ stdout, stderr }));
    });
    expect(result.stdout).toMatch(/^no breaking changes \(\d+ dangerous, \d+ safe\) against .*\n$/);
    expect(result.stderr).toBe('');
    expect(readFileSync(status, 'utf8')).toBe('0\n');
  });
});

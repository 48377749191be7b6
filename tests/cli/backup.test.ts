import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orm } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'uet-backup-'));
beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const backup = (file: string) => runCli(['backup', file], { DATABASE_URL: `sqlite:${server.sqlitePath}` });

/** Every table's rows, by table name, ordered by their first column (the id). */
async function snapshot(orm: Orm): Promise<Map<string, unknown[]>> {
  const knex = orm.em.getKnex();
  const tables = (await knex.raw(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`)) as { name: string }[];
  const rows = new Map<string, unknown[]>();
  for (const { name } of tables) rows.set(name, (await knex.raw(`select * from "${name}" order by 1`)) as unknown[]);
  return rows;
}

async function withCopy<T>(file: string, read: (orm: Orm) => Promise<T>): Promise<T> {
  const orm = await openDatabase({ sqlitePath: file });
  try {
    return await read(orm);
  } finally {
    await orm.close();
  }
}

describe('uet-gateway backup', { timeout: 90_000 }, () => {
  it('copies the database a running gateway is writing to: complete, consistent, private', async () => {
    // A client creating runs one after another while the backup runs.
    let writing = true;
    let created = 0;
    const writer = (async () => {
      while (writing) {
        await server.ok(`mutation { createRun(input: {projectId: "backup-test", phaseId: "p1"}) { run { id } } }`);
        created += 1;
      }
    })();
    while (created < 5) await new Promise((resolve) => setTimeout(resolve, 20));
    const before = created;
    const file = join(dir, 'during.sqlite');
    const result = await backup(file);
    const after = created;
    writing = false;
    await writer;

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`database: ${server.sqlitePath}\n`);
    expect(result.stdout).toBe(`backed up ${server.sqlitePath} to ${file} (${statSync(file).size} bytes)\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(after).toBeGreaterThan(before); // the writes really went on beside the copy

    const live = await snapshot(server.engine.orm);
    await withCopy(file, async (orm) => {
      expect(await orm.em.getKnex().raw('pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      const copy = await snapshot(orm);
      // One snapshot: the runs of a moment between the start and the end of the backup, each as it is live.
      const copiedRuns = copy.get('run') as { id: string }[];
      expect(copiedRuns.length).toBeGreaterThanOrEqual(before);
      expect(copiedRuns.length).toBeLessThanOrEqual(after);
      expect(copiedRuns).toEqual((live.get('run') as { id: string }[]).slice(0, copiedRuns.length));
      expect(copy.get('mikro_orm_migrations')).toEqual(live.get('mikro_orm_migrations'));
    });
  });

  it('a copy taken at rest equals the database row for row; an existing FILE is never overwritten', async () => {
    const file = join(dir, 'rest.sqlite');
    expect((await backup(file)).code).toBe(0);
    const live = await snapshot(server.engine.orm);
    expect(live.get('run')!.length).toBeGreaterThan(0);
    const content = readFileSync(file);

    const again = await backup(file);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`database: ${server.sqlitePath}\nerror: ${file} already exists: backup never overwrites a file; choose a new name\n`);
    expect(readFileSync(file).equals(content)).toBe(true);

    await withCopy(file, async (orm) => expect(await snapshot(orm)).toEqual(live));

    const nowhere = await backup(join(dir, 'missing-folder', 'copy.sqlite'));
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/\nerror: cannot create .*missing-folder\/copy\.sqlite: its folder does not exist\n$/);
  });
});

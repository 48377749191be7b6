import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestServer, type TestServer } from '../helpers/server.js';

/** A second process's connection holding SQLite's write lock, as a backup tool or a stray script would. */
async function holdWriteLock(path: string): Promise<{ release(): Promise<void> }> {
  const db = new sqlite3.Database(path);
  const run = (sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
  await run('BEGIN IMMEDIATE');
  return {
    async release() {
      await run('COMMIT');
      await new Promise<void>((resolve) => db.close(() => resolve()));
    },
  };
}

const CREATE = `mutation { createRun(input: { projectId: "busy", phaseId: "p" }) { run { id } } }`;

describe('a database locked by another writer', () => {
  const BUSY_MS = 200;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ busyTimeoutMs: BUSY_MS });
  });
  afterAll(() => server.stop());
  const runs = () => server.engine.orm.em.fork().count('Run', { projectId: 'busy' });

  it('is waited for, retried once, then refused as UNAVAILABLE with nothing written; reads go on; writes resume after', async () => {
    const lock = await holdWriteLock(server.sqlitePath);
    try {
      const started = Date.now();
      const refused = await server.gql(CREATE);
      const waited = Date.now() - started;
      expect(codes(refused)).toEqual(['UNAVAILABLE']);
      expect(refused.errors?.[0]?.extensions!.retryAfterSeconds).toBe(1);
      expect(refused.data?.createRun ?? null).toBeNull();
      // Two busy waits (the attempt and its retry), bounded: never a hang.
      expect(waited).toBeGreaterThanOrEqual(2 * BUSY_MS);
      expect(waited).toBeLessThan(10_000);
      // WAL readers are not blocked by the writer's lock.
      const read = await server.gql('{ runs(first: 1) { totalCount } }');
      expect(read.errors).toBeUndefined();
      expect(server.logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    } finally {
      await lock.release();
    }
    expect(await runs()).toBe(0);
    expect((await server.gql(CREATE)).errors).toBeUndefined();
    expect(await runs()).toBe(1);
  });

  it('a lock released during the wait lets the write through (the retry)', async () => {
    const lock = await holdWriteLock(server.sqlitePath);
    setTimeout(() => void lock.release(), BUSY_MS * 1.5);
    const res = await server.gql(CREATE);
    expect(res.errors).toBeUndefined();
    expect(await runs()).toBe(2);
  });
});

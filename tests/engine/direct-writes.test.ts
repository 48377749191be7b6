import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/engine/core/event-bus.js';
import { createIdSource } from '../../src/engine/core/ids.js';
import { createTransact, type Transact } from '../../src/engine/core/write-scope.js';
import { rowsByIds } from '../../src/engine/db/plain-rows.js';
import { RunSchema, type Run } from '../../src/engine/runs/entities.js';
import type { TestEngine } from '../helpers/domain.js';
import { createTestEngine } from '../helpers/engine.js';

/**
 * Direct writes (Transact.direct, db/direct-sql.ts): statements sent past the
 * ORM, prepared once per connection, in the run's database (SQLite, or
 * PostgreSQL with UET_TEST_POSTGRES_URL).
 */
let engine: TestEngine;
let transact: Transact;

beforeAll(async () => {
  engine = await createTestEngine();
  transact = createTransact(engine.orm, engine.clock, createIdSource(engine.clock), createEventBus());
});
afterAll(async () => {
  // Closing finalizes the prepared statements first (SQLite refuses to close with open ones).
  await engine.dispose();
});

const runIds = async (ids: string[]) => (await rowsByIds(engine.orm.em.fork(), RunSchema, ids)).map((run) => run.id);

describe('direct writes', () => {
  it('store what the ORM reads back, over many transactions on the same prepared statements', async () => {
    const metadata = { note: 'naïve – ✓', nested: { list: [1, 'two', null] } };
    const runs: Run[] = [];
    for (let i = 0; i < 20; i++) runs.push(await engine.runs.createRun({ projectId: 'direct', phaseId: `p${i}`, metadata }));
    for (const run of runs.slice(0, 10)) await engine.runs.startRun(run.id);
    const stored = await rowsByIds(engine.orm.em.fork(), RunSchema, [runs[0]!.id, runs[15]!.id]);
    const started = stored.find((run) => run.id === runs[0]!.id)!;
    expect(started).toMatchObject({ projectId: 'direct', phaseId: 'p0', state: 'running', metadata, origin: { trigger_type: 'manual' }, stepAttempts: 0, errors: 0 });
    expect(started.startedAt).toEqual(engine.clock.now());
    expect(started.createdAt.getTime()).toBe(runs[0]!.createdAt.getTime());
    expect(stored.find((run) => run.id === runs[15]!.id)).toMatchObject({ state: 'pending', startedAt: null });
    const log = await engine.events.after({ runId: runs[0]!.id, after: 0, limit: 10 });
    expect(log.map((event) => event.kind)).toEqual(['run_created', 'run_started']);
    expect(log[1]!.position).toBeGreaterThan(log[0]!.position);
  });

  it('roll back everything a failed write did, and leave the connection usable', async () => {
    const id = 'direct-rollback-run-000001';
    const failed = transact.direct(async (scope) => {
      await scope.sql.run(`insert into "run" ("id", "project_id", "phase_id", "state", "created_at", "origin", "metadata") values (?, ?, ?, ?, ?, ?, ?)`, [
        id,
        'direct',
        'p',
        'pending',
        scope.sql.date(scope.now),
        scope.sql.json({}),
        scope.sql.json({}),
      ]);
      throw new Error('after the insert');
    });
    await expect(failed).rejects.toThrow('after the insert');
    expect(await runIds([id])).toEqual([]);
    expect((await engine.runs.createRun({ projectId: 'direct', phaseId: 'after' })).state).toBe('pending');
  });

  it('report a statement that fails to prepare as an error (not a hang), every time it is tried', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(transact.direct((scope) => scope.sql.all('select "nope" from "no_such_table"'))).rejects.toThrow(/no_such_table/);
    }
    expect((await engine.runs.createRun({ projectId: 'direct', phaseId: 'still' })).state).toBe('pending');
  });

  it('have no entity manager: a direct write uses scope.sql only', async () => {
    await expect(transact.direct(async (scope) => scope.em)).rejects.toThrow(/no entity manager/);
  });
});

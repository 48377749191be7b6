import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { WorkerSchema } from '../../src/engine/workers/entities.js';
import { createTestEngine } from '../helpers/engine.js';

type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;
const admin: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

let dir: string;
const open: TestEngine[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'uet-workers-'));
});
afterEach(async () => {
  for (const engine of open.splice(0)) await engine.dispose().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function engineOn(file = 'gateway.sqlite', start?: Date): Promise<TestEngine> {
  const engine = await createTestEngine(join(dir, file), start);
  open.push(engine);
  return engine;
}

/** SQL statements `work` issues (transaction control included). */
async function statements(engine: TestEngine, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (query: { sql: string }) => seen.push(query.sql);
  const knex = engine.orm.em.getKnex();
  knex.on('query', listener);
  try {
    await work();
  } finally {
    knex.off('query', listener);
  }
  return seen;
}

const storedHeartbeat = async (engine: TestEngine, id: string) => (await engine.orm.em.fork().findOneOrFail(WorkerSchema, { id })).lastHeartbeatAt?.toISOString() ?? null;

describe('heartbeats in memory', () => {
  it('cost no SQL once the worker is known, read fresh, and are written by one UPDATE per flush', async () => {
    const engine = await engineOn();
    const workers = await Promise.all(Array.from({ length: 50 }, () => engine.workers.register(admin, { type: 'executor' })));
    engine.clock.advance(1_000);
    const beats = await statements(engine, async () => {
      for (const worker of workers) await engine.workers.heartbeat(admin, { workerId: worker.id, progress: 40 });
    });
    expect(beats).toEqual([]);
    const at = engine.clock.now().toISOString();
    expect(await storedHeartbeat(engine, workers[0]!.id)).toBeNull();
    const fresh = engine.workerQueries.liveness((await engine.workerQueries.workersByIds([workers[0]!.id]))[0]!);
    expect(fresh).toMatchObject({ lastHeartbeat: new Date(at), progress: 40, secondsSinceHeartbeat: 0, stale: false });

    const flush = await statements(engine, () => engine.liveWorkers.flush());
    expect(flush.filter((sql) => /^update/i.test(sql))).toHaveLength(1);
    expect(flush).toHaveLength(3); // BEGIN, the UPDATE, COMMIT
    for (const worker of workers) expect(await storedHeartbeat(engine, worker.id)).toBe(at);
    const row = await engine.orm.em.fork().findOneOrFail(WorkerSchema, { id: workers[0]!.id });
    expect(row.staleAfter.getTime()).toBe(new Date(at).getTime() + 60_000);
    expect(row.heartbeatProgress).toBe(40);
    expect(await statements(engine, () => engine.liveWorkers.flush())).toEqual([]);
  });

  it('a flush never moves a stored heartbeat back (an older beat from another instance flushed later)', async () => {
    const file = 'two.sqlite';
    const first = await engineOn(file);
    const workers = await Promise.all(Array.from({ length: 3 }, () => first.workers.register(admin, { type: 'executor' })));
    const second = await engineOn(file, first.clock.now());
    second.clock.advance(1_000);
    first.clock.advance(2_000);
    for (const worker of workers) {
      await first.workers.heartbeat(admin, { workerId: worker.id, progress: 20 });
      await second.workers.heartbeat(admin, { workerId: worker.id, progress: 10 });
    }
    // The second instance's beat on workers[2] is the newest one.
    second.clock.advance(5_000);
    await second.workers.heartbeat(admin, { workerId: workers[2]!.id, progress: 30 });
    await first.liveWorkers.flush();
    await second.liveWorkers.flush();
    const stored = await Promise.all(workers.map((w) => first.orm.em.fork().findOneOrFail(WorkerSchema, { id: w.id })));
    expect(stored.map((row) => [row.lastHeartbeatAt?.getTime(), row.heartbeatProgress])).toEqual([
      [first.clock.now().getTime(), 20],
      [first.clock.now().getTime(), 20],
      [second.clock.now().getTime(), 30],
    ]);
  });

  it('a crash loses at most the heartbeats since the last flush, never a state change', async () => {
    const file = 'crash.sqlite';
    const first = await engineOn(file);
    const worker = await first.workers.register(admin, { type: 'monitor' });
    first.clock.advance(1_000);
    await first.workers.heartbeat(admin, { workerId: worker.id });
    const flushedAt = first.clock.now().toISOString();
    await first.liveWorkers.flush();
    first.clock.advance(1_000);
    await first.workers.heartbeat(admin, { workerId: worker.id });
    await first.workers.pause(admin, worker.id);
    // The process dies here: no final flush.
    const second = await engineOn(file);
    const row = (await second.workerQueries.workersByIds([worker.id]))[0]!;
    expect(row.state).toBe('paused');
    expect(row.lastHeartbeatAt?.toISOString()).toBe(flushedAt);
  });
});

describe('the reaper', () => {
  it('after a restart, waits one timeout before judging workers it could not hear from', async () => {
    const file = 'restart.sqlite';
    const before = await engineOn(file);
    const worker = await before.workers.register(admin, { type: 'executor', config: { timeoutSeconds: 60 } });
    await before.dispose();
    open.splice(open.indexOf(before), 1);

    const restarted = await engineOn(file, new Date(before.clock.now().getTime() + 10 * 60_000));
    expect((await restarted.workerQueries.staleWorkers(null, 100)).map((w) => w.id)).toEqual([worker.id]);
    expect((await restarted.reaper.reap()).crashedWorkers).toEqual([]);
    restarted.clock.advance(61_000);
    expect((await restarted.reaper.reap()).crashedWorkers).toEqual([worker.id]);
  });

  it('takes back a task that ran past its timeout: attempt counted, worker idle again', async () => {
    const engine = await engineOn();
    const worker = await engine.workers.register(admin, { type: 'executor', config: { timeoutSeconds: 600 } });
    const task = await engine.tasks.create({ kind: 'slow', timeoutSeconds: 10, maxAttempts: 2 });
    await engine.tasks.claim(admin, { workerId: worker.id });
    engine.clock.advance(10_000);
    expect((await engine.reaper.reap()).timedOutTasks).toEqual([]);
    engine.clock.advance(1);
    expect(await engine.reaper.reap()).toEqual({ crashedWorkers: [], timedOutTasks: [task.id] });
    const [after] = await engine.workerQueries.tasksByIds([task.id]);
    expect(after).toMatchObject({ state: 'pending', attempts: 1, workerId: null, deadlineAt: null });
    expect(after?.error).toBe('timed out after 10 s (timeout 10 s)');
    expect((await engine.liveWorkers.get(worker.id))!).toMatchObject({ state: 'idle', activeTasks: 0, currentTaskId: null });
    expect(await engine.reaper.reap()).toEqual({ crashedWorkers: [], timedOutTasks: [] });

    // The second attempt times out too: no attempts left, so it fails for good.
    await engine.tasks.claim(admin, { workerId: worker.id });
    engine.clock.advance(10_001);
    await engine.reaper.reap();
    expect((await engine.workerQueries.tasksByIds([task.id]))[0]).toMatchObject({ state: 'failed', attempts: 2 });
  });

  it('leaves stopped and crashed workers alone, and a worker that keeps beating', async () => {
    const engine = await engineOn();
    const register = () => engine.workers.register(admin, { type: 'executor', config: { timeoutSeconds: 5 } });
    const [stopped, crashed, beating] = await Promise.all([register(), register(), register()]);
    await engine.workers.shutdown(admin, stopped.id);
    await engine.workers.crash(admin, { id: crashed.id, errorMessage: 'earlier' });
    for (let i = 0; i < 5; i++) {
      engine.clock.advance(4_000);
      await engine.workers.heartbeat(admin, { workerId: beating.id });
      expect((await engine.reaper.reap()).crashedWorkers).toEqual([]);
    }
    expect((await engine.liveWorkers.get(crashed.id))!.crashInfo?.error_message).toBe('earlier');
  });
});

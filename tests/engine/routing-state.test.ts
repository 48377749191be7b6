import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskSchema } from '../../src/engine/runs/entities.js';
import { createTestEngine } from '../helpers/engine.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';

const dir = mkdtempSync(join(tmpdir(), 'uet-routing-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function toolsOf(engine: Awaited<ReturnType<typeof createTestEngine>>, id: string, count: number): Promise<string[]> {
  const ws = await engine.workstreams.submit(
    workstreamSpec(
      Array.from({ length: count }, (_, i) => taskSpec(`t${i}`)),
      { id },
    ),
  );
  const tasks = await engine.orm.em.fork().find(TaskSchema, { workstreamId: ws.id }, { orderBy: { id: 'asc' } });
  return tasks.map((t) => t.toolId!);
}

describe('routing state survives a restart', () => {
  it('round_robin continues where it stopped after the engine is created again on the same database', async () => {
    const file = join(dir, 'routing.sqlite');
    const first = await createTestEngine(file);
    await first.routing.setConfig(routerConfig('round_robin'));
    expect(await toolsOf(first, 'before', 3)).toEqual(['coder', 'reviewer', 'coder']);
    await first.dispose();
    const second = await createTestEngine(file);
    expect(await toolsOf(second, 'after', 3)).toEqual(['reviewer', 'coder', 'reviewer']);
    await second.dispose();
  });
});

describe('claims and a tool that takes no call', () => {
  it('route a backlog of tasks left on such a tool again, at most 50 per claim, and the claim still ends', async () => {
    const engine = await createTestEngine();
    const actor = { tokenId: null, tokenName: 'test', anyWorker: true };
    const config = routerConfig('fixed');
    await engine.routing.setConfig(config);
    const worker = await engine.workers.register(actor, { type: 'executor', tools: ['linter'], config: { maxParallelTasks: 1, timeoutSeconds: 86_400 } });
    for (let i = 0; i < 5; i++) {
      await engine.workstreams.submit(workstreamSpec([taskSpec(`f${i}`, [], { kind: 'lint' })], { id: `fail-${i}` }));
      const claimed = await engine.tasks.claim(actor, { workerId: worker.id, kinds: ['lint'] });
      await engine.tasks.complete(actor, { workerId: worker.id, success: false, error: 'boom' });
      expect(claimed?.task.toolId).toBe('linter');
    }
    engine.clock.advance(60_000);
    // 61 ready tasks, all routed to the half-open linter (routing reserves nothing); the first lease is the trial.
    const ws = await engine.workstreams.submit(
      workstreamSpec(
        Array.from({ length: 61 }, (_, i) => taskSpec(`t${String(i).padStart(2, '0')}`, [], { kind: 'lint' })),
        { id: 'backlog', maxParallel: 100 },
      ),
    );
    const rows = () => engine.orm.em.fork().find(TaskSchema, { workstreamId: ws.id, state: 'pending' }, { orderBy: { id: 'asc' } });
    expect((await rows()).every((t) => t.toolId === 'linter' && t.routeError === null)).toBe(true);
    expect((await engine.tasks.claim(actor, { workerId: worker.id, kinds: ['lint'] }))?.task.toolId).toBe('linter');

    const other = await engine.workers.register(actor, { type: 'executor', config: { maxParallelTasks: 1 } });
    expect(await engine.tasks.claim(actor, { workerId: other.id, kinds: ['lint'] })).toBeNull();
    let waiting = await rows();
    expect(waiting.filter((t) => t.routeError !== null)).toHaveLength(50);
    expect(waiting.filter((t) => t.toolId === 'linter')).toHaveLength(10);
    expect(await engine.tasks.claim(actor, { workerId: other.id, kinds: ['lint'] })).toBeNull();
    waiting = await rows();
    expect(waiting.filter((t) => t.routeError?.includes('linter (circuit open)'))).toHaveLength(60);
    await engine.dispose();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskSchema } from '../../src/engine/db/entities.js';
import { createTestEngine } from '../helpers/engine.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';

const dir = mkdtempSync(join(tmpdir(), 'uet-routing-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function toolsOf(engine: Awaited<ReturnType<typeof createTestEngine>>, id: string, count: number): Promise<string[]> {
  const ws = await engine.workstreams.submit(workstreamSpec(Array.from({ length: count }, (_, i) => taskSpec(`t${i}`)), { id }));
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

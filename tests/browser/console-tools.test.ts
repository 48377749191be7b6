/**
 * The console's Tools panel in Chromium against a real gateway on the seeded
 * demo (./console-harness.ts): the router's tools as the API gives them, and
 * a tool's row changing in place, without a reload, as a second client leases
 * an attempt on it (toolChanged).
 */
import { describe, expect, it } from 'vitest';
import { onPostgres } from '../helpers/database.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades } from './console-harness.js';

describe.skipIf(!haveChromium || onPostgres)('the Tools panel, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();

  async function openTools() {
    const opened = await seeded.open('/tools');
    await signIn(opened.page);
    await opened.page.getByRole('heading', { name: 'Tools', level: 1 }).waitFor({ timeout: 10_000 });
    await opened.page.locator('table.tools').waitFor({ timeout: 10_000 });
    return opened;
  }

  const apiTools = async () =>
    (await seeded.server.ok('{ tools { id circuitState successRate inFlight } }')).tools as { id: string; circuitState: string; successRate: number | null; inFlight: number }[];

  /** A lint task (only ruff takes lint) and a worker running ruff, as a second client; `claim` leases the task, an attempt on ruff. */
  async function lintTask(workstreamId: string) {
    const { submitWorkstream } = await seeded.server.ok('mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } } } }', {
      s: workstreamSpec([taskSpec('lint-1', [], { kind: 'lint' })], { id: workstreamId, projectId: 'console-tools' }),
    });
    const { registerWorker } = await seeded.server.ok('mutation { registerWorker(input: {type: EXECUTOR, tools: ["ruff"]}) { worker { id } } }');
    const workerId = registerWorker.worker.id as string;
    const claim = async () => {
      const { claimTask } = await seeded.server.ok('mutation($w: ID!, $r: ID) { claimTask(input: {workerId: $w, runId: $r}) { task { id executionRequest { toolId } } } }', {
        w: workerId,
        r: submitWorkstream.workstream.run.id,
      });
      expect(claimTask.task.executionRequest.toolId).toBe('ruff');
      return claimTask.task.id as string;
    };
    return { workerId, claim };
  }

  it('lists the seeded tools as the API gives them, the circuit state in words', async () => {
    const { context, page, errors } = await openTools();
    const api = await apiTools();
    expect(api.map((tool) => tool.id)).toEqual(['aider', 'claude_code', 'pytest', 'ruff']);
    const rows = page.locator('table.tools tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-tool')))).toEqual(api.map((tool) => tool.id));
    expect(await page.getByRole('columnheader').allInnerTexts()).toEqual(['Tool', 'Circuit', 'Success rate', 'p50 latency', 'In flight', 'Domains']);
    for (const tool of api) {
      const row = page.locator(`tr[data-tool="${tool.id}"]`);
      expect(await row.locator('[data-circuit]').getAttribute('data-circuit')).toBe(tool.circuitState);
      expect(await row.locator('td[data-field="circuit"]').innerText()).toMatch(/^(Closed|Open: passed over|Half-open: on trial)$/);
      expect(await row.locator('td[data-field="inFlight"]').innerText()).toBe(String(tool.inFlight));
      // The demo's fleet ran an attempt on every tool: each has its measurements.
      expect(tool.successRate).not.toBeNull();
      expect(await row.locator('td[data-field="successRate"]').innerText()).toBe(`${Math.round(tool.successRate! * 1000) / 10}%`);
      expect(await row.locator('td[data-field="p50"]').innerText()).toMatch(/^(\d+ ms|\d+\.\d s)$/);
    }
    await page.screenshot({ path: artifact('console-tools.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('updates a tool’s in-flight count in place within 1 s when another client leases an attempt on it', async () => {
    const { context, page, errors } = await openTools();
    const inFlight = page.locator('tr[data-tool="ruff"] td[data-field="inFlight"]');
    const before = (await apiTools()).find((tool) => tool.id === 'ruff')!.inFlight;
    expect(await inFlight.innerText()).toBe(String(before));
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));

    const { workerId, claim } = await lintTask('ws-console-tools');
    const started = Date.now();
    const taskId = await claim();
    await expect.poll(() => inFlight.innerText(), { timeout: 1_000, interval: 20 }).toBe(String(before + 1));
    const shownAfterMs = Date.now() - started;
    expect((await apiTools()).find((tool) => tool.id === 'ruff')!.inFlight).toBe(before + 1);

    // The attempt fails: the count goes back and the tool's success rate falls, still in place.
    const row = page.locator('tr[data-tool="ruff"]');
    const rateBefore = await row.locator('td[data-field="successRate"]').innerText();
    await seeded.server.ok('mutation($w: ID!, $t: ID!) { completeTask(input: {workerId: $w, taskId: $t, success: false, error: "lint failed", executionTimeSeconds: 2}) { task { state } } }', {
      w: workerId,
      t: taskId,
    });
    const ended = (await apiTools()).find((tool) => tool.id === 'ruff')!;
    expect(ended.inFlight).toBe(before);
    const rateAfter = `${Math.round(ended.successRate! * 1000) / 10}%`;
    expect(rateAfter).not.toBe(rateBefore);
    await expect.poll(() => row.locator('td[data-field="successRate"]').innerText(), { timeout: 1_000, interval: 20 }).toBe(rateAfter);
    expect(await inFlight.innerText()).toBe(String(before));
    expect(await row.locator('td[data-field="p50"]').innerText()).toMatch(/^(\d+ ms|\d+\.\d s)$/);
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    console.log(`tools panel: lease shown after ${shownAfterMs} ms`);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('catches up after its socket drops: a lease made meanwhile shows once it reconnects', async () => {
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openTools();
      const inFlight = page.locator('tr[data-tool="ruff"] td[data-field="inFlight"]');
      const before = (await apiTools()).find((tool) => tool.id === 'ruff')!.inFlight;
      expect(await inFlight.innerText()).toBe(String(before));
      const { claim } = await lintTask('ws-console-tools-reconnect');
      await expect.poll(() => sockets.length).toBe(1);
      // Cut the connection seeded.server-side, then lease before graphql-ws's first retry (at least a second later).
      sockets[0]!.destroy();
      await claim();
      await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2);
      await expect.poll(() => inFlight.innerText(), { timeout: 5_000 }).toBe(String(before + 1));
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 60_000);
});

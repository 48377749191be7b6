/**
 * The console's Workers panel in Chromium against a real gateway on the seeded
 * demo (./console-harness.ts). The demo's workers are all STOPPED or CRASHED,
 * so live ones are registered and beat through a second client (the admin
 * token). The reaper is off, so a worker let go stale stays live and stale.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { sleep } from '../helpers/wait.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades } from './console-harness.js';

describe.skipIf(!haveChromium || onPostgres)('the Workers panel, on the seeded demo', () => {
  const seeded = seededConsoleForSuite({ jobs: { reaperIntervalMs: 0 } });

  async function openWorkers(token?: string, path = '/workers') {
    const opened = await seeded.open(path);
    await signIn(opened.page, token);
    await opened.page.getByRole('heading', { level: 1 }).waitFor({ timeout: 10_000 });
    return opened;
  }

  /** A live worker, registered by the admin token (a second client), newest so on page 1. */
  async function liveWorker(config: Record<string, unknown> = {}): Promise<string> {
    const { registerWorker } = await seeded.server.ok('mutation($c: WorkerConfigInput) { registerWorker(input: {type: EXECUTOR, tools: ["ruff"], config: $c}) { worker { id } } }', { c: config });
    return registerWorker.worker.id as string;
  }
  const heartbeat = (id: string, progress: number) =>
    seeded.server.ok('mutation($w: ID!, $p: Float) { heartbeat(input: {workerId: $w, progress: $p}) { worker { lastHeartbeat } } }', { w: id, p: progress });
  const steer = (verb: 'pause' | 'resume', id: string) => seeded.server.ok(`mutation($id: ID!) { ${verb}Worker(input: {id: $id}) { worker { state } } }`, { id });
  const token = async (name: string, scopes: string) =>
    (await seeded.server.ok(`mutation { createApiToken(input: { name: "${name}", scopes: [${scopes}] }) { token } }`)).createApiToken.token as string;

  /** POSTs (queries and mutations) the gateway takes while `during` runs. */
  async function postsDuring(during: () => Promise<void>): Promise<string[]> {
    const posts: string[] = [];
    const onRequest = (req: IncomingMessage) => req.method === 'POST' && posts.push(req.url ?? '');
    seeded.server.app.server.on('request', onRequest);
    try {
      await during();
    } finally {
      seeded.server.app.server.off('request', onRequest);
    }
    return posts;
  }

  const row = (page: Page, id: string) => page.locator(`tr[data-worker="${id}"]`);
  const cell = (page: Page, id: string, field: string) => row(page, id).locator(`[data-field="${field}"]`);
  const seconds = async (page: Page, id: string) => Number((await cell(page, id, 'heartbeat').innerText()).match(/^(\d+) s ago$/)?.[1] ?? NaN);

  it('lists the fleet as the API gives it (ids, states, totalCount), and a worker’s detail page', async () => {
    const { context, page, errors } = await openWorkers();
    await page.locator('table.workers').waitFor({ timeout: 10_000 });
    const { workers } = await seeded.server.ok('{ workers(first: 20) { totalCount edges { node { id state type crashInfo { errorMessage } } } } }');
    const api = workers.edges.map((edge: { node: { id: string; state: string } }) => edge.node);
    expect(api.length).toBeGreaterThan(0);
    expect(await page.locator('table.workers tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-worker')))).toEqual(api.map((w: { id: string }) => w.id));
    expect(await page.locator('table.workers tbody td[data-field="state"]').allInnerTexts()).toEqual(api.map((w: { state: string }) => w.state));
    expect(await page.locator('table.workers caption').innerText()).toMatch(new RegExp(`^${workers.totalCount} workers?`));
    expect(await page.getByRole('columnheader').allInnerTexts()).toEqual(['Worker', 'Type', 'State', 'Last heartbeat', 'Current task', 'Tools', 'Progress', 'Actions']);
    await page.screenshot({ path: artifact('console-workers.png'), fullPage: true });
    await expectAccessible(page);

    // A registration is announced, not inserted: the page holds still until the user asks for it.
    const id = await liveWorker();
    await expect.poll(() => page.getByRole('status').innerText(), { timeout: 1_000, interval: 20 }).toBe('1 new worker registered — show');
    expect(await row(page, id).count()).toBe(0);
    await page.getByRole('button', { name: 'show' }).click();
    await expect.poll(() => cell(page, id, 'state').innerText()).toBe('IDLE');
    expect(await page.locator('table.workers caption').innerText()).toMatch(new RegExp(`^${workers.totalCount + 1} workers`));
    expect(await page.getByRole('status').innerText()).toBe('');

    // A crashed one if the demo has it: its detail page shows why.
    const shown = api.find((w: { state: string }) => w.state === 'CRASHED') ?? api[0];
    await row(page, shown.id).getByRole('link').click();
    await page.getByRole('heading', { name: 'Statistics', level: 2 }).waitFor({ timeout: 10_000 });
    expect(new URL(page.url()).pathname).toBe(`/workers/${encodeURIComponent(shown.id)}`);
    expect(await page.locator('[data-field="state"]').innerText()).toContain(shown.state);
    if (shown.crashInfo) expect(await page.locator('[data-field="crash"]').innerText()).toBe(shown.crashInfo.errorMessage);
    await page.screenshot({ path: artifact('console-worker-detail.png'), fullPage: true });
    await expectAccessible(page);
    await page.goBack();
    await page.locator('table.workers').waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('ticks "N s ago" with no request sent, resets it on another client’s heartbeat within 1 s, and marks a silent worker stale as time passes', async () => {
    const id = await liveWorker({ timeoutSeconds: 4, heartbeatInterval: 1 });
    await heartbeat(id, 10);
    const { context, page, errors } = await openWorkers();
    await expect.poll(() => cell(page, id, 'progress').innerText(), { timeout: 10_000 }).toBe('10 %');
    const posts = await postsDuring(async () => {
      const first = await seconds(page, id);
      await expect.poll(() => seconds(page, id), { timeout: 4_000 }).toBeGreaterThanOrEqual(first + 2);
    });
    expect(posts, 'the ticking display sends no query').toEqual([]);
    expect(await row(page, id).getAttribute('data-stale')).toBeNull();

    const started = Date.now();
    await heartbeat(id, 55);
    await expect.poll(() => cell(page, id, 'progress').innerText(), { timeout: 1_000, interval: 20 }).toBe('55 %');
    expect(await seconds(page, id)).toBeLessThanOrEqual(1);
    console.log(`workers panel: heartbeat shown after ${Date.now() - started} ms`);

    // Silent past its 4 s timeout: stale without a query (the server's reaper is off, so only the clock changed).
    const whileSilent = await postsDuring(() => expect.poll(() => row(page, id).getAttribute('data-stale'), { timeout: 8_000 }).toBe('true'));
    expect(whileSilent).toEqual([]);
    expect(await cell(page, id, 'state').innerText()).toBe('IDLE stale');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('disables the actions for a READ token with the reason; an OPERATE token pauses, and the row follows the server’s pushes', async () => {
    const id = await liveWorker();
    const reader = await openWorkers(await token('console-workers-reader', 'READ'));
    await row(reader.page, id).waitFor({ timeout: 10_000 });
    for (const name of ['Pause', 'Shut down'])
      await expect
        .poll(() =>
          row(reader.page, id)
            .getByRole('button', { name: new RegExp(`^${name} worker`) })
            .isDisabled(),
        )
        .toBe(true);
    expect(await reader.page.locator('#worker-actions-refused').innerText()).toMatch(/disabled: needs a token with the OPERATE scope; this one \(console-workers-reader\) has READ/);
    await reader.context.close();

    const operator = await openWorkers(await token('console-workers-operator', 'READ, OPERATE'));
    const { page, errors, context } = operator;
    const state = cell(page, id, 'state');
    await expect.poll(() => state.innerText(), { timeout: 10_000 }).toBe('IDLE');
    expect(await page.locator('#worker-actions-refused').count()).toBe(0);
    await row(page, id)
      .getByRole('button', { name: /^Pause worker/ })
      .click();
    await expect.poll(() => state.innerText(), { timeout: 2_000, interval: 20 }).toBe('PAUSED');
    expect((await seeded.server.ok('query($id: ID!) { worker(id: $id) { state } }', { id })).worker.state).toBe('PAUSED');
    // Another client steers it: the row follows what the server pushes, with Resume or Pause to match.
    await steer('resume', id);
    await expect.poll(() => state.innerText(), { timeout: 1_000, interval: 20 }).toBe('IDLE');
    await steer('pause', id);
    await expect.poll(() => state.innerText(), { timeout: 1_000, interval: 20 }).toBe('PAUSED');
    await row(page, id)
      .getByRole('button', { name: /^Resume worker/ })
      .click();
    await expect.poll(() => state.innerText(), { timeout: 2_000, interval: 20 }).toBe('IDLE');

    // Its detail page is live too: another client's pause and heartbeat show in place.
    await row(page, id).getByRole('link').click();
    const detailState = page.locator('[data-field="state"]');
    await expect.poll(() => detailState.innerText(), { timeout: 10_000 }).toBe('IDLE');
    await steer('pause', id);
    await expect.poll(() => detailState.innerText(), { timeout: 1_000, interval: 20 }).toBe('PAUSED');
    expect(await page.getByRole('button', { name: /^Resume worker/ }).isEnabled()).toBe(true);
    await heartbeat(id, 77);
    await expect.poll(() => page.locator('[data-field="progress"]').innerText(), { timeout: 1_000, interval: 20 }).toBe('77 %');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('catches up after its socket drops: a pause made meanwhile shows once it reconnects', async () => {
    const id = await liveWorker();
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openWorkers();
      const state = cell(page, id, 'state');
      await expect.poll(() => state.innerText(), { timeout: 10_000 }).toBe('IDLE');
      await expect.poll(() => sockets.length).toBe(1);
      // Cut the connection server-side, then pause before graphql-ws's first retry (at least a second later).
      sockets[0]!.destroy();
      await steer('pause', id);
      await sleep(200);
      expect(await state.innerText()).toBe('IDLE');
      await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2);
      await expect.poll(() => state.innerText(), { timeout: 5_000 }).toBe('PAUSED');
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 60_000);
});

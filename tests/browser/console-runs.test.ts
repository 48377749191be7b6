/**
 * The console's Runs panel in Chromium against a real gateway on the seeded
 * demo (./console-harness.ts): the list and its totalCount as the API gives
 * them, filters and pages kept in the URL, and live changes from a second
 * client that never move the rows under the user's eyes.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { createRun } from '../helpers/server.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades } from './console-harness.js';

describe.skipIf(!haveChromium || onPostgres)('the Runs panel, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();

  /** The API's answer for a filter: the total and page 1's ids, newest first. */
  async function apiRuns(filter: Record<string, unknown> = {}): Promise<{ total: number; ids: string[] }> {
    const { runs } = await seeded.server.ok('query($filter: RunFilter) { runs(filter: $filter, first: 20) { totalCount edges { node { id } } } }', { filter });
    return { total: runs.totalCount, ids: runs.edges.map((edge: { node: { id: string } }) => edge.node.id) };
  }

  /** Opens the Runs panel at `path` signed in as ADMIN, once its table is shown. */
  async function openRuns(path = '/runs') {
    const opened = await seeded.open(path);
    await signIn(opened.page);
    await opened.page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor({ timeout: 10_000 });
    await opened.page.locator('table.runs').waitFor({ timeout: 10_000 });
    return opened;
  }

  const shownIds = (page: Page) => page.locator('table.runs tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-run')));
  const caption = (page: Page) => page.locator('table.runs caption').innerText();
  const query = (page: Page) => Object.fromEntries(new URL(page.url()).searchParams);

  it('lists the seeded runs newest first with the API’s totalCount, each linking to its page', async () => {
    const { context, page, errors } = await openRuns();
    const api = await apiRuns();
    expect(api.total, 'the demo seed has more than a page of runs').toBeGreaterThan(20);
    expect(await caption(page)).toBe(`${api.total} runs, 20 on this page`);
    expect(await shownIds(page)).toEqual(api.ids);
    const first = page.locator('table.runs tbody tr').first();
    expect(await first.locator('a').getAttribute('href')).toBe(`/runs/${encodeURIComponent(api.ids[0]!)}`);
    expect(await first.locator('a').innerText()).toMatch(/^[0-9A-Z]{8}$/);
    expect(await page.getByRole('columnheader').allInnerTexts()).toEqual(['Run', 'Project', 'Phase', 'State', 'Created', 'Duration']);
    await page.screenshot({ path: artifact('console-runs.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('filters by state and by project into the URL; a link reproduces the view and back returns to the last one', async () => {
    const { context, page, errors } = await openRuns();
    const filter = page.getByRole('form', { name: 'Filter runs' });
    await filter.getByLabel('SUCCEEDED').check();
    await filter.getByLabel('FAILED').check();
    await filter.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/state=/);
    expect(query(page)).toEqual({ state: 'SUCCEEDED,FAILED' });
    const byState = await apiRuns({ states: ['SUCCEEDED', 'FAILED'] });
    expect(byState.total).toBeGreaterThan(0);
    await expect.poll(() => shownIds(page)).toEqual(byState.ids);
    expect(await caption(page)).toBe(`${byState.total} runs`);

    await filter.getByLabel('Project').fill('demo-web');
    await filter.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/project=/);
    expect(query(page)).toEqual({ project: 'demo-web', state: 'SUCCEEDED,FAILED' });
    const byBoth = await apiRuns({ projectId: 'demo-web', states: ['SUCCEEDED', 'FAILED'] });
    expect(byBoth.total).toBeGreaterThan(0);
    expect(byBoth.total).toBeLessThan(byState.total);
    await expect.poll(() => shownIds(page)).toEqual(byBoth.ids);

    await page.goBack();
    await expect.poll(() => shownIds(page)).toEqual(byState.ids);
    expect(await filter.getByLabel('Project').inputValue()).toBe('');
    expect(await filter.getByLabel('SUCCEEDED').isChecked()).toBe(true);

    // The same URL in a fresh browser opens the same view.
    const again = await openRuns('/runs?project=demo-web&state=SUCCEEDED,FAILED');
    await expect.poll(() => shownIds(again.page)).toEqual(byBoth.ids);
    expect(await again.page.getByRole('form', { name: 'Filter runs' }).getByLabel('Project').inputValue()).toBe('demo-web');
    expect([...errors, ...again.errors]).toEqual([]);
    await again.context.close();
    await context.close();
  }, 60_000);

  it('pages forward and back through the runs with the cursors in the URL', async () => {
    const { context, page, errors } = await openRuns();
    const { total, ids: firstPage } = await apiRuns();
    expect(await page.getByRole('link', { name: 'Previous page' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/after=/);
    await expect.poll(async () => (await shownIds(page)).length).toBe(Math.min(20, total - 20));
    const secondPage = await shownIds(page);
    expect(secondPage.filter((id) => firstPage.includes(id!))).toEqual([]);
    const { runs } = await seeded.server.ok('query($after: String) { runs(first: 20, after: $after) { edges { node { id } } } }', { after: query(page).after });
    expect(secondPage).toEqual(runs.edges.map((edge: { node: { id: string } }) => edge.node.id));

    await page.getByRole('link', { name: 'Previous page' }).click();
    await page.waitForURL(/before=/);
    await expect.poll(() => shownIds(page)).toEqual(firstPage);
    await page.goBack();
    await expect.poll(() => shownIds(page)).toEqual(secondPage);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows runs another client creates as a notice within 1 s without moving the rows, and a state change in place within 1 s', async () => {
    const { context, page, errors } = await openRuns('/runs?project=console-live');
    await page.getByText('0 runs', { exact: true }).waitFor();
    // A project of its own, so the page holds exactly the runs this test makes.
    const onPage = await createRun(seeded.server, { projectId: 'console-live', phaseId: 'phase-1' });
    await page.getByRole('button', { name: 'show' }).click();
    await expect.poll(() => shownIds(page)).toEqual([onPage]);
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));

    let started = Date.now();
    const created = await createRun(seeded.server, { projectId: 'console-live', phaseId: 'phase-2' });
    await page.getByRole('status').getByText('1 new run —').waitFor({ timeout: 1_000 });
    const noticeAfterMs = Date.now() - started;
    expect(await shownIds(page), 'the page keeps its rows').toEqual([onPage]);
    // Another project's run is not this view's news.
    await createRun(seeded.server, { projectId: 'elsewhere' });

    started = Date.now();
    await seeded.server.ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }', { id: onPage });
    const stateCell = page.locator(`tr[data-run="${onPage}"] td[data-field="state"]`);
    await expect.poll(() => stateCell.innerText(), { timeout: 1_000, interval: 20 }).toBe('RUNNING');
    const stateAfterMs = Date.now() - started;
    expect(await page.getByRole('status').innerText()).toBe('1 new run — show');

    await page.getByRole('button', { name: 'show' }).click();
    await expect.poll(() => shownIds(page)).toEqual([created, onPage]);
    expect(await page.getByRole('status').innerText()).toBe('');
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    console.log(`runs panel: new-run notice after ${noticeAfterMs} ms, state change shown after ${stateAfterMs} ms`);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('catches up after its socket drops: a state change and a new run made meanwhile show once it reconnects', async () => {
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openRuns('/runs?project=console-reconnect');
      const onPage = await createRun(seeded.server, { projectId: 'console-reconnect' });
      await page.getByRole('button', { name: 'show' }).click();
      await expect.poll(() => shownIds(page)).toEqual([onPage]);
      expect(sockets).toHaveLength(1);
      // Cut the connection seeded.server-side, then change things before graphql-ws's first retry (at least a second later).
      sockets[0]!.destroy();
      await seeded.server.ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }', { id: onPage });
      await createRun(seeded.server, { projectId: 'console-reconnect' });
      await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2);
      const stateCell = page.locator(`tr[data-run="${onPage}"] td[data-field="state"]`);
      await expect.poll(() => stateCell.innerText(), { timeout: 5_000 }).toBe('RUNNING');
      expect(await page.getByRole('status').innerText()).toBe('1 new run — show');
      expect(await shownIds(page)).toEqual([onPage]);
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 60_000);
});

/**
 * The console's Costs panel in Chromium against a real gateway on the seeded
 * demo (./console-harness.ts): totals, breakdowns, the hourly series and the
 * budgets as the API gives them for the window the page shows; a cost from a
 * second client that crosses a budget's threshold, shown live with its alert;
 * and the time window kept in the URL.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades } from './console-harness.js';

interface Named {
  name: string;
  total: string;
}
interface Figures {
  currency: string;
  total: string;
  count: string;
  byModel: Named[];
  byTool: Named[];
  byProject: Named[];
  series: { start: string; total: string }[];
}
interface ApiBudget {
  id: string;
  scope: string;
  projectId: string | null;
  currency: string;
  limit: string;
  spent: string;
  thresholds: number[];
  crossedThresholds: number[];
}

const SUMMARY = `query($from: DateTime!) { costSummary(filter: {from: $from}) {
  currency total count
  series(bucket: HOUR, last: 200) { start total }
  byModel { model total } byTool { toolId total } byProject(top: 10) { projectId total }
} }`;
const BUDGETS = '{ budgets { id scope projectId currency limit spent thresholds crossedThresholds } }';

describe.skipIf(!haveChromium || onPostgres)('the Costs panel, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();

  /** Opens the Costs panel at `path` signed in as ADMIN, once its figures are shown. */
  async function openCosts(path = '/costs') {
    const opened = await seeded.open(path);
    // uPlot sets its styles from script; a Content-Security-Policy refusal would show here.
    const consoleErrors: string[] = [];
    opened.page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    await signIn(opened.page);
    await opened.page.getByRole('heading', { name: 'Costs', level: 1 }).waitFor({ timeout: 10_000 });
    await opened.page.locator('table.budgets').waitFor({ timeout: 10_000 });
    return { ...opened, consoleErrors };
  }

  /** The start of the window the page shows, as its read asked the API. */
  const shownFrom = (page: Page) => page.locator('.window-start time').getAttribute('datetime') as Promise<string>;

  /** The API's figures for a window starting at `from`, in the page's shape (a null name as ''). */
  async function apiFigures(from: string): Promise<Figures[]> {
    const { costSummary } = await seeded.server.ok(SUMMARY, { from });
    const named = (rows: { total: string }[], key: string) => rows.map((row) => ({ name: ((row as Record<string, unknown>)[key] as string | null) ?? '', total: row.total }));
    return costSummary.map((s: any) => ({
      currency: s.currency,
      total: s.total,
      count: String(s.count),
      byModel: named(s.byModel, 'model'),
      byTool: named(s.byTool, 'toolId'),
      byProject: named(s.byProject, 'projectId'),
      series: s.series,
    }));
  }

  /** The figures on the page: exact amounts from each <data value>. */
  const shownFigures = (page: Page): Promise<Figures[]> =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('section[data-currency]')].map((section) => {
        const amount = (element: Element | null) => (element?.querySelector('data') as HTMLDataElement | null)?.value ?? '';
        const rows = (by: string) =>
          [...section.querySelectorAll<HTMLElement>(`table[data-breakdown="${by}"] tbody tr`)].map((tr) => ({ name: tr.dataset.name ?? '', total: amount(tr.querySelector('[data-field="total"]')) }));
        return {
          currency: section.dataset.currency ?? '',
          total: amount(section.querySelector('[data-summary="total"]')),
          count: /\d+/.exec(section.querySelector('[data-summary="count"]')?.textContent ?? '')?.[0] ?? '',
          byModel: rows('model'),
          byTool: rows('tool'),
          byProject: rows('project'),
          series: [...section.querySelectorAll('table.spend-series tbody tr')].map((tr) => ({
            start: tr.querySelector('time')?.getAttribute('datetime') ?? '',
            total: amount(tr.querySelector('td')),
          })),
        };
      }),
    );

  const apiBudgets = async () => (await seeded.server.ok(BUDGETS)).budgets as ApiBudget[];

  it('shows the totals, breakdowns, hourly series and budgets the API gives for its window, with a drawn chart', async () => {
    const { context, page, errors, consoleErrors } = await openCosts();
    const from = await shownFrom(page);
    const api = await apiFigures(from);
    expect(api.length, 'the demo seed records costs in the last 24 hours').toBeGreaterThan(0);
    expect(await shownFigures(page)).toEqual(api);
    expect(api[0]!.byModel.length + api[0]!.byTool.length + api[0]!.byProject.length).toBeGreaterThan(0);

    // The chart is drawn: uPlot's canvas, loaded in a chunk of its own, of a real size, named for screen readers.
    const canvas = page.locator(`section[data-currency="${api[0]!.currency}"] .spend-plot canvas`).first();
    await canvas.waitFor({ timeout: 10_000 });
    const size = await canvas.evaluate((c: HTMLCanvasElement) => ({ width: c.width, height: c.height }));
    expect(size.width).toBeGreaterThan(100);
    expect(size.height).toBeGreaterThan(100);
    expect(await page.getByRole('img', { name: `Spend per hour in ${api[0]!.currency}, 24 hours` }).count()).toBe(1);

    const budgets = await apiBudgets();
    expect(budgets.length, 'the demo seed sets a budget').toBeGreaterThan(0);
    for (const budget of budgets) {
      const row = page.locator(`tr[data-budget="${budget.id}"]`);
      expect(await row.locator('[data-field="limit"] data').getAttribute('value')).toBe(budget.limit);
      expect(await row.locator('[data-field="spent"] data').getAttribute('value')).toBe(budget.spent);
      const thresholds = await row.locator('li[data-threshold]').evaluateAll((lis) => lis.map((li) => [Number(li.getAttribute('data-threshold')), li.getAttribute('data-crossed') === 'true']));
      expect(thresholds).toEqual(budget.thresholds.map((t) => [t, budget.crossedThresholds.includes(t)]));
    }

    await page.locator('details summary').first().click();
    await page.screenshot({ path: artifact('console-costs.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a cost that crosses a budget threshold within 1 s, with an alert naming the budget and threshold', async () => {
    const { context, page, errors } = await openCosts();
    const budget = (await apiBudgets()).find((b) => b.scope === 'PROJECT' && b.projectId === 'demo-web')!;
    expect(budget, 'the demo seed sets a budget on demo-web').toBeDefined();
    const next = budget.thresholds.find((t) => !budget.crossedThresholds.includes(t));
    expect(next, 'the demo-web budget has a threshold left to cross').toBeDefined();
    // A cent past the threshold.
    const amount = Math.max(0.01, (Number(budget.limit) * next!) / 100 - Number(budget.spent) + 0.01).toFixed(2);
    const { runs } = await seeded.server.ok('{ runs(filter: {projectId: "demo-web"}, first: 1) { edges { node { id } } } }');
    const total = page.locator(`section[data-currency="${budget.currency}"] [data-summary="total"] data`);
    const before = await total.getAttribute('value');
    expect(before).toBe((await apiFigures(await shownFrom(page))).find((f) => f.currency === budget.currency)?.total);
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));

    const started = Date.now();
    await seeded.server.ok('mutation($input: RecordCostInput!) { recordCost(input: $input) { cost { id } } }', {
      input: { runId: runs.edges[0].node.id, resourceType: 'API_CALL', amount, currency: budget.currency, metadata: { model: 'console-test' } },
    });
    const recordedAfterMs = Date.now() - started;
    const alert = page.getByRole('alert').locator(`li[data-alert-budget="${budget.id}"][data-threshold="${next}"]`);
    await expect.poll(() => alert.count(), { timeout: 1_000, interval: 20 }).toBe(1);
    await expect.poll(() => total.getAttribute('value'), { timeout: 1_000, interval: 20 }).not.toBe(before);
    const shownAfterMs = Date.now() - started;
    expect(await alert.innerText()).toContain(`Budget of project demo-web crossed ${next} %`);
    expect(await total.getAttribute('value')).toBe((await apiFigures(await shownFrom(page))).find((f) => f.currency === budget.currency)?.total);
    const crossed = page.locator(`tr[data-budget="${budget.id}"] li[data-threshold="${next}"]`);
    expect(await crossed.getAttribute('data-crossed')).toBe('true');
    expect(await page.locator('table[data-breakdown="model"] tr[data-name="console-test"]').count()).toBe(1);
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    console.log(`costs panel: cost recorded in ${recordedAfterMs} ms, it and its alert shown ${shownAfterMs} ms after the mutation was sent`);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('catches up after its socket drops: a cost recorded meanwhile shows once it reconnects', async () => {
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openCosts();
      const budget = (await apiBudgets()).find((b) => b.scope === 'PROJECT' && b.projectId === 'demo-web')!;
      const spent = page.locator(`tr[data-budget="${budget.id}"] [data-field="spent"] data`);
      expect(await spent.getAttribute('value')).toBe(budget.spent);
      const { runs } = await seeded.server.ok('{ runs(filter: {projectId: "demo-web"}, first: 1) { edges { node { id } } } }');
      await expect.poll(() => sockets.length).toBe(1);
      // Cut the connection server-side, then record before graphql-ws's first retry (at least a second later).
      sockets[0]!.destroy();
      await seeded.server.ok('mutation($input: RecordCostInput!) { recordCost(input: $input) { cost { id } } }', {
        input: { runId: runs.edges[0].node.id, resourceType: 'API_CALL', amount: '0.01', currency: budget.currency },
      });
      const after = (await apiBudgets()).find((b) => b.id === budget.id)!.spent;
      expect(after).not.toBe(budget.spent);
      await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2);
      await expect.poll(() => spent.getAttribute('value'), { timeout: 5_000 }).toBe(after);
      expect(await shownFigures(page)).toEqual(await apiFigures(await shownFrom(page)));
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 60_000);

  it('keeps the window in the URL: 7 days shows the API’s figures for a week, and back returns to 24 hours', async () => {
    const { context, page, errors } = await openCosts();
    const windowLink = (name: string) => page.getByRole('navigation', { name: 'Time window' }).getByRole('link', { name });
    expect(await windowLink('24 hours').getAttribute('aria-current')).toBe('true');
    const dayFrom = await shownFrom(page);

    await windowLink('7 days').click();
    await expect.poll(() => new URL(page.url()).search).toBe('?window=7d');
    await expect.poll(() => shownFrom(page)).not.toBe(dayFrom);
    const weekFrom = await shownFrom(page);
    // A week back, not a day: the window the page asked for changed, not only its label.
    expect(Date.parse(dayFrom) - Date.parse(weekFrom)).toBeGreaterThan(6 * 24 * 3_600_000 - 60_000);
    expect(await windowLink('7 days').getAttribute('aria-current')).toBe('true');
    expect(await shownFigures(page)).toEqual(await apiFigures(weekFrom));

    await page.goBack();
    await expect.poll(() => new URL(page.url()).pathname + new URL(page.url()).search).toBe('/costs');
    await expect.poll(async () => Date.parse(await shownFrom(page)) - Date.parse(weekFrom)).toBeGreaterThan(6 * 24 * 3_600_000 - 60_000);
    expect(await windowLink('24 hours').getAttribute('aria-current')).toBe('true');
    expect(await shownFigures(page)).toEqual(await apiFigures(await shownFrom(page)));

    await windowLink('Today').click();
    await expect.poll(() => new URL(page.url()).search).toBe('?window=today');
    // The browser's midnight, in its own time zone.
    await expect.poll(async () => page.evaluate((from) => new Date(from).getHours() * 60 + new Date(from).getMinutes(), await shownFrom(page))).toBe(0);
    expect(await shownFigures(page)).toEqual(await apiFigures(await shownFrom(page)));
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});

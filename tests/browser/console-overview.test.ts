/**
 * The console's Overview beyond the counts (console.test.ts has those): active
 * workstreams with progress and ETA, spend today against budgets, the latest
 * gate outcomes and the error rate, in Chromium against a real gateway on the
 * seeded demo; each equal to the API's answer, and each live through its
 * subscriptions when a second client acts.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { createRun } from '../helpers/server.js';
import { artifact, expectAccessible, haveChromium, seededConsoleForSuite, signIn } from './console-harness.js';

/** What the Overview's sections show, read from the page. */
async function shown(page: Page) {
  return page.evaluate(() => {
    const text = (element: Element | null | undefined) => element?.textContent?.trim() ?? null;
    return {
      workstreams: [...document.querySelectorAll('tr[data-workstream]')].map((row) => ({
        id: row.getAttribute('data-workstream'),
        name: text(row.querySelector('th')),
        percent: Number(row.querySelector('progress')!.getAttribute('value')),
        label: row.querySelector('progress')!.getAttribute('aria-label'),
        tasks: /\((\d+) of (\d+) tasks\)/
          .exec(text(row.querySelector('.progress-cell'))!)!
          .slice(1)
          .map(Number),
        eta: row.querySelector('[data-field="eta"] time')?.getAttribute('datetime') ?? null,
      })),
      spend: [...document.querySelectorAll('li[data-currency]')].map((item) => text(item)),
      budgets: [...document.querySelectorAll('tr[data-budget]')].map((row) => ({
        id: row.getAttribute('data-budget'),
        spent: text(row.querySelector('[data-field="spent"]')),
        thresholds: text(row.querySelector('[data-field="thresholds"]')),
      })),
      gates: [...document.querySelectorAll('tr[data-gate]')].map((row) => ({ id: row.getAttribute('data-gate'), state: text(row.querySelector('[data-field="state"]')) })),
      errorRate: text(document.querySelector('[data-field="errorRate"]')),
    };
  });
}

type Shown = Awaited<ReturnType<typeof shown>>;

describe.skipIf(!haveChromium || onPostgres)('the Overview in a real browser, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();

  /** The same sections from the API, in the page's words; `from` is the page's midnight. */
  async function expected(from: string): Promise<Omit<Shown, 'workstreams'> & { workstreams: Omit<Shown['workstreams'][number], 'label'>[] }> {
    const data = await seeded.server.ok(
      `query($from: DateTime!) {
        workstreams(first: 10, filter: { active: true }) { edges { node { id name progress { completionPercent completed total estimatedCompletionAt } } } }
        costSummary(filter: { from: $from }) { currency total count }
        budgets { id currency limit spent thresholds crossedThresholds }
        testGates(first: 5, filter: { states: [PASSED, FAILED, ERROR, SKIPPED] }) { edges { node { id state } } }
        runSummary { recent(windowSeconds: 86400) { failureRate failed succeeded } }
      }`,
      { from },
    );
    const { recent } = data.runSummary;
    type Budget = { id: string; currency: string; limit: string; spent: string; thresholds: number[]; crossedThresholds: number[] };
    type Workstream = { id: string; name: string; progress: { completionPercent: number; completed: number; total: number; estimatedCompletionAt: string | null } };
    return {
      workstreams: data.workstreams.edges.map(({ node }: { node: Workstream }) => ({
        id: node.id,
        name: node.name,
        percent: node.progress.completionPercent,
        tasks: [node.progress.completed, node.progress.total],
        eta: node.progress.estimatedCompletionAt,
      })),
      spend: data.costSummary.map((s: { currency: string; total: string; count: number }) => `${s.total} ${s.currency} in ${s.count} ${s.count === 1 ? 'cost' : 'costs'} since midnight`),
      budgets: data.budgets.map((b: Budget) => ({
        id: b.id,
        spent: `${b.spent} of ${b.limit} ${b.currency}`,
        thresholds: b.thresholds.map((t) => `${t} %${b.crossedThresholds.includes(t) ? ' (crossed)' : ''}`).join(', '),
      })),
      gates: data.testGates.edges.map(({ node }: { node: { id: string; state: string } }) => node),
      errorRate: `Error rate, last 24 h: ${recent.failureRate === null ? 'no run ended' : `${Math.round(recent.failureRate * 1000) / 10}%`} (${recent.failed} failed, ${recent.succeeded} succeeded)`,
    };
  }

  /** The page's sections equal the API's; an ETA (computed at each read) within a minute of the API's. */
  async function expectSameAsApi(page: Page, from: string): Promise<void> {
    const [onPage, api] = [await shown(page), await expected(from)];
    expect(onPage.workstreams.map(({ label: _label, eta: _eta, ...rest }) => rest)).toEqual(api.workstreams.map(({ eta: _eta, ...rest }) => rest));
    for (const [i, workstream] of onPage.workstreams.entries()) {
      const apiEta = api.workstreams[i]!.eta;
      if (apiEta === null || workstream.eta === null) expect(workstream.eta).toBe(apiEta);
      else expect(Math.abs(Date.parse(workstream.eta) - Date.parse(apiEta))).toBeLessThan(60_000);
    }
    expect({ ...onPage, workstreams: undefined }).toEqual({ ...api, workstreams: undefined });
  }

  const midnightOf = (page: Page) =>
    page.evaluate(() => {
      const midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      return midnight.toISOString();
    });

  async function openOverview() {
    const opened = await seeded.open();
    await signIn(opened.page);
    await opened.page.locator('tr[data-gate]').first().waitFor({ timeout: 10_000 });
    await opened.page.locator('tr[data-budget]').first().waitFor();
    await opened.page.locator('tr[data-workstream]').first().waitFor();
    return opened;
  }

  it('shows the seeded workstreams, spend today, budgets, gate outcomes and error rate as the API answers them, accessibly', async () => {
    const { context, page, errors } = await openOverview();
    const from = await midnightOf(page);
    const onPage = await shown(page);
    expect(onPage.workstreams.length, 'the demo has an active workstream').toBeGreaterThan(0);
    expect(onPage.workstreams[0]!.label).toMatch(/^Refactor the checkout flow: [\d.]+ % complete$/);
    expect(onPage.gates).toHaveLength(5);
    expect(onPage.errorRate).toMatch(/\d+ failed, \d+ succeeded/);
    await expectSameAsApi(page, from);
    await page.screenshot({ path: artifact('console-overview.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("a second client's workstream progress, gate completion, cost and failed run show within 1 s each, without a reload", async () => {
    const { context, page, errors } = await openOverview();
    const from = await midnightOf(page);
    const { server } = seeded;
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));
    /** Runs `act`, then waits (1 s at most) for `shows` on the page; returns the milliseconds it took. */
    const within1s = async (act: () => Promise<unknown>, shows: (page: Page) => Promise<unknown>) => {
      await act();
      const started = Date.now();
      await shows(page);
      return Date.now() - started;
    };
    const fast = { timeout: 1_000 };

    // A new workstream appears; its first completed task moves its bar (runProgress, no re-read: the run stays RUNNING).
    const { submitWorkstream } = await server.ok(
      `mutation { submitWorkstream(input: { spec: { workstream_id: "console-live", project_id: "console-live", phase_id: "p1", name: "Live bar", objective: "Move the bar",
        tasks: [{ task_id: "first", name: "First", kind: "lint" }, { task_id: "second", name: "Second", kind: "lint", depends_on: ["first"] }] } }) { workstream { id run { id } } } }`,
    );
    const row = `tr[data-workstream="${submitWorkstream.workstream.id}"]`;
    await page.waitForSelector(row, fast);
    const { registerWorker } = await server.ok('mutation { registerWorker(input: { type: EXECUTOR }) { worker { id } } }');
    const workerId = registerWorker.worker.id;
    // The claim starts the run: the list is read again. Once that answer is in, only runProgress can move the bar.
    const reread = page.waitForResponse((res) => res.request().postData()?.includes('ConsoleActiveWorkstreams') === true);
    await server.ok('mutation($w: ID!, $r: ID!) { claimTask(input: { workerId: $w, runId: $r }) { task { id } } }', { w: workerId, r: submitWorkstream.workstream.run.id });
    await (await reread).finished();
    const progressMs = await within1s(
      () => server.ok('mutation($w: ID!) { completeTask(input: { workerId: $w, success: true, executionTimeSeconds: 3 }) { task { state } } }', { w: workerId }),
      (p) => p.waitForFunction((selector) => document.querySelector(`${selector} progress`)?.getAttribute('value') === '50', row, fast),
    );
    expect(await page.locator(row).locator('.progress-cell').innerText()).toContain('(1 of 2 tasks)');

    // A gate completes: it heads the latest outcomes.
    const { createTestGate } = await server.ok('mutation { createTestGate(input: { name: "live gate", type: UNIT_TESTS, projectId: "console-live" }) { gate { id } } }');
    const gateId = createTestGate.gate.id;
    await server.ok('mutation($id: ID!) { startTestGate(input: { id: $id, command: "npm test" }) { gate { state } } }', { id: gateId });
    const gateMs = await within1s(
      () => server.ok('mutation($id: ID!) { completeTestGate(input: { id: $id, exitCode: 0 }) { gate { state } } }', { id: gateId }),
      (p) => p.waitForFunction((id) => document.querySelector('tr[data-gate]')?.getAttribute('data-gate') === id, gateId, fast),
    );

    // A cost today: the day's total changes.
    const before = (await shown(page)).spend.join();
    const costMs = await within1s(
      () => server.ok('mutation { recordCost(input: { projectId: "console-live", resourceType: API_CALL, amount: "1.25", currency: "USD" }) { cost { id } } }'),
      (p) => p.waitForFunction((old) => [...document.querySelectorAll('li[data-currency]')].map((li) => li.textContent!.trim()).join() !== old, before, fast),
    );

    // A run fails: the error rate changes.
    const runId = await createRun(server, { projectId: 'console-live' });
    await server.ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }', { id: runId });
    const rateBefore = (await shown(page)).errorRate;
    const rateMs = await within1s(
      () => server.ok('mutation($id: ID!) { completeRun(input: { id: $id, state: FAILED, exitCode: 1 }) { run { state } } }', { id: runId }),
      (p) => p.waitForFunction((old) => document.querySelector('[data-field="errorRate"]')?.textContent?.trim() !== old, rateBefore, fast),
    );

    await expectSameAsApi(page, from);
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    for (const ms of [progressMs, gateMs, costMs, rateMs]) expect(ms).toBeLessThan(1_000);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});

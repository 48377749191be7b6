/**
 * The console's Patches panel and patch detail page in Chromium against a real
 * gateway on the seeded demo (./console-harness.ts): the ledger and its counts
 * by state as the API gives them, the diff and the policy verdicts of a patch,
 * live changes from a second client, and deep links.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades } from './console-harness.js';

/** Two files, two hunks in the first; a removed line that reads like a file header ("--- ..."), and a note. */
const POLICY_DIFF = [
  'diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml',
  '--- a/.github/workflows/ci.yml',
  '+++ b/.github/workflows/ci.yml',
  '@@ -1,3 +1,3 @@',
  ' name: ci',
  '--- old marker',
  '+on: push',
  ' jobs:',
  '@@ -10,2 +10,3 @@',
  ' steps:',
  '-  - run: npm test',
  '+  - run: npm ci',
  '+  - run: npm test',
  'diff --git a/src/app.ts b/src/app.ts',
  '--- a/src/app.ts',
  '+++ b/src/app.ts',
  '@@ -1 +1 @@',
  '-export const a = 1;',
  '\\ No newline at end of file',
  '+export const a = 2;',
  '\\ No newline at end of file',
  '',
].join('\n');

/** The diff's hunks as sign-prefixed lines, per file, read straight from the text (headers skipped). */
function hunksOf(diffText: string): string[][][] {
  const files: string[][][] = [];
  for (const line of diffText.split('\n')) {
    if (line.startsWith('diff --git ')) files.push([]);
    else if (line.startsWith('@@ ')) files.at(-1)!.push([]);
    else if (files.at(-1)?.at(-1) && line !== '') files.at(-1)!.at(-1)!.push(line);
  }
  return files;
}

describe.skipIf(!haveChromium || onPostgres)('the Patches panel, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();
  const ok = (query: string, variables?: Record<string, unknown>) => seeded.server.ok(query, variables);

  async function apiLedger(filter: Record<string, unknown> = {}) {
    const { patchLedger, patchLedgerCounts } = await ok(
      'query($filter: PatchLedgerFilter, $p: String) { patchLedger(filter: $filter, first: 20) { totalCount edges { node { id state } } } patchLedgerCounts(filter: { projectId: $p }) { state count } }',
      { filter, p: filter.projectId ?? null },
    );
    return {
      total: patchLedger.totalCount as number,
      rows: patchLedger.edges.map((edge: { node: { id: string; state: string } }) => [edge.node.id, edge.node.state]),
      counts: Object.fromEntries(patchLedgerCounts.map((c: { state: string; count: number }) => [c.state, c.count])),
    };
  }

  async function createPatch(projectId: string, diffText = 'diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n', summary = 'fix #7') {
    const { createPatch: created } = await ok('mutation($input: CreatePatchInput!) { createPatch(input: $input) { ledgerEntry { id } } }', {
      input: { projectId, targetRepo: 'git@example.test:app.git', diffText, summary },
    });
    return created.ledgerEntry.id as string;
  }
  const validate = (id: string) => ok('mutation($id: ID!) { validatePatch(input: { ledgerId: $id }) { ledgerEntry { state validation { validationErrors } } } }', { id });

  /** Opens `path` signed in as ADMIN, once `ready` shows. */
  async function openAt(path: string, ready = 'table.patches') {
    const opened = await seeded.open(path);
    await signIn(opened.page);
    await opened.page.locator(ready).first().waitFor({ timeout: 10_000 });
    return opened;
  }

  const shownRows = (page: Page) =>
    page.locator('table.patches tbody tr').evaluateAll((rows) => rows.map((row) => [row.getAttribute('data-entry'), row.querySelector('[data-field="state"]')?.textContent]));
  const shownCounts = (page: Page) =>
    page.locator('a.flow-state').evaluateAll((links) => Object.fromEntries(links.map((link) => [link.getAttribute('data-state'), Number(link.querySelector('.flow-count')?.textContent)])));
  /** Each hunk's lines as the view shows them: the sign (as drawn) and the text. */
  const shownHunks = (page: Page, file: string) =>
    page
      .locator(`section[data-file="${file}"] table.hunk`)
      .evaluateAll((tables) =>
        tables.map((table) => [...table.querySelectorAll('tbody tr')].map((row) => `${row.querySelector('.line-sign [aria-hidden]')?.textContent}${row.querySelector('.line-text')?.textContent}`)),
      );

  it('shows the ledger as the API lists it and its counts by state as a flow; each row opens its detail page', async () => {
    const { context, page, errors } = await openAt('/patches');
    const api = await apiLedger();
    expect(api.total, 'the demo seed has a patch per started run').toBeGreaterThan(1);
    await expect.poll(() => shownRows(page)).toEqual(api.rows);
    expect(await page.locator('table.patches caption').innerText()).toBe(api.total > 20 ? `${api.total} patches, 20 on this page` : `${api.total} patches`);
    expect(await page.locator('table.patches thead th').allInnerTexts()).toEqual(['Patch', 'State', 'Project', 'Run', 'Summary', 'Files changed', 'Created']);
    expect(await shownCounts(page)).toEqual(api.counts);
    expect(Object.values(api.counts).reduce((a, b) => a + b, 0)).toBe(api.total);
    await page.screenshot({ path: artifact('console-patches.png'), fullPage: true });
    await expectAccessible(page);

    // A count is a link to the table filtered by its state.
    const state = Object.entries(api.counts).find(([, count]) => count > 0)![0];
    await page.locator(`a.flow-state[data-state="${state}"]`).click();
    await page.waitForURL(/state=/);
    const filtered = await apiLedger({ states: [state] });
    await expect.poll(() => shownRows(page)).toEqual(filtered.rows);

    const [id] = api.rows[0]!;
    await page.goto(`${seeded.base}/patches`);
    await page.locator(`tr[data-entry="${id}"] th a`).click();
    await page.getByRole('heading', { name: 'Policy verdicts' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/patches/${id}`);
    await page.screenshot({ path: artifact('console-patch-detail.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a patch’s files and hunks line for line, and the verdicts of a patch that breaks a policy; the page follows its state', async () => {
    const [seededId] = (await apiLedger()).rows[0]!;
    const { ledgerEntry: seededEntry } = await ok('query($id: ID!) { ledgerEntry(id: $id) { patch { diffText scope { filesTouched hunks } } } }', { id: seededId });
    const first = await openAt(`/patches/${seededId}`, 'table.hunk');
    const [seededHunks] = hunksOf(seededEntry.patch.diffText);
    expect(await first.page.locator('section.diff-file').evaluateAll((s) => s.map((f) => f.getAttribute('data-file')))).toEqual(seededEntry.patch.scope.filesTouched);
    expect(await shownHunks(first.page, seededEntry.patch.scope.filesTouched[0])).toEqual(seededHunks);
    expect(await first.page.locator('table.hunk').count()).toBe(seededEntry.patch.scope.hunks);
    // The seed's hunk is "@@ -1,2 +1,2 @@": a context line, then one line removed and one added, each numbered on its side only.
    expect(seededEntry.patch.diffText).toContain('@@ -1,2 +1,2 @@\n context\n-');
    const numbers = await first.page.locator('table.hunk tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('.line-number')].map((cell) => cell.textContent)));
    expect(numbers).toEqual([
      ['1', '1'],
      ['2', ''],
      ['', '2'],
    ]);
    await first.context.close();

    // A second client sets a policy and submits a patch that breaks it.
    await ok('mutation { setPatchPolicy(input: { level: PROJECT, projectId: "console-policy", constraints: { forbidTouchingPaths: [".github/**"], maxLinesChanged: 4 } }) { policy { id } } }');
    const id = await createPatch('console-policy', POLICY_DIFF, 'tighten the pipeline');
    const validated = await validate(id);
    expect(validated.validatePatch.ledgerEntry.state).toBe('APPLY_FAILED');
    const violations: string[] = validated.validatePatch.ledgerEntry.validation.validationErrors;
    expect(violations.some((v) => v.startsWith('forbid_touching_paths'))).toBe(true);
    expect(violations.some((v) => v.startsWith('max_lines_changed'))).toBe(true);

    const { context, page, errors } = await openAt(`/patches/${id}`, 'table.hunk');
    const [ciHunks, appHunks] = hunksOf(POLICY_DIFF);
    expect(await shownHunks(page, '.github/workflows/ci.yml')).toEqual(ciHunks);
    expect(await shownHunks(page, 'src/app.ts')).toEqual(appHunks);
    // Added and removed lines say so in words, not only in colour.
    expect(await page.locator('section[data-file="src/app.ts"] tbody tr .line-sign .sr-only').allTextContents()).toEqual(['removed', 'note', 'added', 'note']);
    expect(await page.locator('table.violations tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-violation')))).toEqual(violations);
    expect(await page.locator('table.verdicts tbody tr').evaluateAll((rows) => rows.map((row) => row.textContent))).toEqual([
      'Formatpassed',
      "Run's resource scopepassed",
      'Policy constraintsfailed',
      'Tests or gatesnot judged yet',
    ]);
    expect(await page.locator('[data-field="state"]').innerText()).toBe('APPLY_FAILED');
    await expectAccessible(page);

    // The page follows the entry: a retry by the second client shows in its state and history, without a reload.
    await ok('mutation($id: ID!) { retryPatch(input: { ledgerId: $id }) { ledgerEntry { state } } }', { id });
    await expect.poll(() => page.locator('[data-field="state"]').innerText(), { timeout: 1_000, interval: 20 }).toBe('QUEUED');
    expect(await page.locator('table.history tbody th').allInnerTexts()).toEqual(['CREATED', 'APPLY_FAILED', 'QUEUED']);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a patch another client creates within 1 s as a notice and in the flow, and its state change in place', async () => {
    const { context, page, errors } = await openAt('/patches?project=console-live');
    await page.getByText('0 patches', { exact: true }).waitFor();
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));
    const created = () => page.locator('a.flow-state[data-state="CREATED"] .flow-count').innerText();
    const validatedCount = () => page.locator('a.flow-state[data-state="VALIDATED"] .flow-count').innerText();
    expect(await created()).toBe('0');

    let started = Date.now();
    const id = await createPatch('console-live');
    await page.getByRole('status').getByText('1 new patch —').waitFor({ timeout: 1_000 });
    await expect.poll(created, { timeout: 1_000, interval: 20 }).toBe('1');
    const newAfterMs = Date.now() - started;
    expect(await shownRows(page), 'the page keeps its rows').toEqual([]);
    await page.getByRole('button', { name: 'show' }).click();
    await expect.poll(() => shownRows(page)).toEqual([[id, 'CREATED']]);

    started = Date.now();
    await validate(id);
    await expect.poll(() => shownRows(page), { timeout: 1_000, interval: 20 }).toEqual([[id, 'VALIDATED']]);
    await expect.poll(validatedCount, { timeout: 1_000, interval: 20 }).toBe('1');
    const changeAfterMs = Date.now() - started;
    expect(await created()).toBe('0');
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    console.log(`patches panel: new patch shown after ${newAfterMs} ms, state change after ${changeAfterMs} ms`);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('catches up after its socket drops: a state change and a new patch made meanwhile show once it reconnects', async () => {
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openAt('/patches?project=console-reconnect');
      const onPage = await createPatch('console-reconnect');
      await page.getByRole('button', { name: 'show' }).click();
      await expect.poll(() => shownRows(page)).toEqual([[onPage, 'CREATED']]);
      expect(sockets).toHaveLength(1);
      // Cut the connection server-side, then change things before graphql-ws's first retry (at least a second later).
      sockets[0]!.destroy();
      await validate(onPage);
      await createPatch('console-reconnect');
      await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2);
      await expect.poll(() => shownRows(page), { timeout: 5_000 }).toEqual([[onPage, 'VALIDATED']]);
      await expect.poll(() => shownCounts(page), { timeout: 5_000 }).toMatchObject({ CREATED: 1, VALIDATED: 1 });
      expect(await page.getByRole('status').innerText()).toBe('1 new patch — show');
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 60_000);

  it('opens the same entry from a link in a fresh browser, and back returns to the list', async () => {
    const [id, state] = (await apiLedger({ projectId: 'demo-api' })).rows[0]!;
    const { ledgerEntry } = await ok('query($id: ID!) { ledgerEntry(id: $id) { patch { summary } } }', { id });
    const fresh = await openAt(`/patches/${id}`, 'table.hunk');
    expect(await fresh.page.locator('[data-field="state"]').innerText()).toBe(state);
    expect(await fresh.page.getByText(ledgerEntry.patch.summary, { exact: true }).count()).toBe(1);
    await fresh.context.close();

    const { context, page, errors } = await openAt('/patches?project=demo-api');
    await page.locator(`tr[data-entry="${id}"] th a`).click();
    await page.locator('table.hunk').first().waitFor();
    expect(await page.locator('[data-field="state"]').innerText()).toBe(state);
    await page.goBack();
    await page.waitForURL(/\/patches\?project=demo-api$/);
    await expect.poll(async () => (await shownRows(page))[0]).toEqual([id, state]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});

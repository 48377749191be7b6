/**
 * The console's Run detail page in Chromium against a real gateway on the
 * seeded demo (./console-harness.ts): header, step timeline, event log,
 * patches and gates as the API gives them; the log following a run live,
 * resuming after its last event when the socket is cut, and loading older
 * pages as it scrolls back; actions by the token's scopes.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { createRun } from '../helpers/server.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';
import { encodeGlobalId } from '../../src/schema/builder.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades, writeAcrossReconnect } from './console-harness.js';

describe.skipIf(!haveChromium || onPostgres)('the Run detail page, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();
  const ok = (query: string, variables?: Record<string, unknown>) => seeded.server.ok(query, variables);

  /** Opens /runs/<id> signed in (ADMIN unless a token is given), once its log has read its first page. */
  async function openRun(id: string, token?: string) {
    const opened = await seeded.open(`/runs/${encodeURIComponent(id)}`);
    await signIn(opened.page, token);
    await opened.page.getByRole('heading', { name: 'Event log' }).waitFor({ timeout: 10_000 });
    await opened.page.locator('.events tbody tr').first().waitFor({ timeout: 10_000 });
    return opened;
  }

  /** The whole log as the API lists it, in order: each event's cursor and kind. */
  async function apiEvents(runId: string): Promise<{ cursor: string; kind: string }[]> {
    const events: { cursor: string; kind: string }[] = [];
    for (let after: string | null = null; ;) {
      const { runEvents } = await ok('query($id: ID!, $after: String) { runEvents(runId: $id, first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { cursor kind } } } }', {
        id: runId,
        after,
      });
      events.push(...runEvents.edges.map((edge: { node: { cursor: string; kind: string } }) => edge.node));
      if (!runEvents.pageInfo.hasNextPage) return events;
      after = runEvents.pageInfo.endCursor;
    }
  }

  const shownEvents = (page: Page) => page.locator('.events tbody tr').evaluateAll((rows) => rows.map((row) => ({ cursor: row.getAttribute('data-cursor'), kind: row.getAttribute('data-kind') })));
  const field = async (page: Page, name: string) => (await page.locator(`.run-header dd[data-field="${name}"]`).innerText()).trim();
  const note = (runId: string, message: string) => ok('mutation($id: ID!, $m: String!) { addRunNote(input: { runId: $id, message: $m }) { event { cursor } } }', { id: runId, m: message });

  it('shows a finished seeded run as the API gives it: header, timeline, log, patches and gates', async () => {
    const { runs } = await ok('{ runs(filter: { projectId: "demo-api", states: [SUCCEEDED] }, first: 1) { edges { node { id state } } } }');
    const runId = runs.edges[0].node.id as string;
    const { context, page, errors } = await openRun(runId);
    const api = await ok(
      `query($id: ID!) {
        run(id: $id) { state steps(first: 100) { edges { node { sequence toolId state } } } }
        runProgress(runId: $id) { total }
        costSummary(filter: { runId: $id }) { currency total count }
        patchLedger(filter: { runId: $id }, first: 100) { edges { node { id state } } }
        testGates(filter: { runId: $id }, first: 100) { edges { node { id state decision { reason } } } }
      }`,
      { id: runId },
    );

    expect(await page.getByRole('heading', { level: 1 }).innerText()).toMatch(/^Run [0-9A-Z]{8} SUCCEEDED$/);
    expect(await field(page, 'state')).toBe('SUCCEEDED');
    const [cost] = api.costSummary;
    expect(cost.count).toBe(3);
    expect(await field(page, 'cost')).toBe(`${cost.total} ${cost.currency} (3 records)`);
    expect(api.runProgress.total).toBe(0);
    expect(await field(page, 'progress')).toBe('no tasks (its steps are in the timeline)');
    expect(await field(page, 'eta')).toBe('ended');

    const steps = api.run.steps.edges.map((edge: { node: { sequence: number; toolId: string; state: string } }) => edge.node);
    expect(steps.map((step: { toolId: string }) => step.toolId)).toEqual(['aider', 'claude_code', 'pytest']);
    const stepRows = await page.locator('table.steps tbody tr').evaluateAll((rows) => rows.map((row) => [...row.children].slice(0, 3).map((cell) => (cell as HTMLElement).innerText)));
    expect(stepRows).toEqual(steps.map((step: { sequence: number; toolId: string; state: string }) => [`#${step.sequence}`, step.toolId, step.state]));
    expect(await page.locator('svg.gantt rect.bar').evaluateAll((bars) => bars.map((bar) => bar.getAttribute('data-state')))).toEqual(steps.map((step: { state: string }) => step.state));

    const events = await apiEvents(runId);
    expect(events.length).toBeGreaterThan(10);
    expect(await shownEvents(page)).toEqual(events);
    expect(await page.locator('.events tr[data-kind="NOTE"] td[data-field="details"]').innerText()).toMatch(/^demo run \d+$/);

    const ledger = api.patchLedger.edges.map((edge: { node: { id: string; state: string } }) => edge.node);
    expect(ledger).toHaveLength(1);
    const patchRow = page.locator(`table.patches tr[data-ledger="${ledger[0].id}"]`);
    expect(await patchRow.locator('td[data-field="state"]').innerText()).toBe('COMMITTED');
    expect(await patchRow.locator('a').getAttribute('href')).toBe(`/patches/${encodeURIComponent(ledger[0].id)}`);

    const gates = api.testGates.edges.map((edge: { node: { id: string; state: string; decision: { reason: string } } }) => edge.node);
    expect(gates).toHaveLength(1);
    const gateRow = page.locator(`table.gates tr[data-gate="${gates[0].id}"]`);
    expect(await gateRow.locator('td[data-field="state"]').innerText()).toBe('PASSED');
    expect(await gateRow.locator('td[data-field="outcome"]').innerText()).toBe(gates[0].decision.reason);
    expect(await gateRow.innerText()).toContain('at most 0 failed tests; coverage at least 70%');

    await page.screenshot({ path: artifact('console-run-detail.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('says so when the link names no run, or is not a run id', async () => {
    const missing = encodeGlobalId('Run', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    for (const [id, message] of [
      [missing, new RegExp(`^Run ${missing} does not exist$`)],
      ['not-a-run', /^id: "not-a-run" is not a valid Run ID: pass a Run's id field/],
    ] as const) {
      const { context, page, errors } = await seeded.open(`/runs/${id}`);
      await signIn(page);
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 10_000 });
      expect(await alert.innerText()).toMatch(message);
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 60_000);

  it('follows a run another client creates and drives: each event shows in the log within 1 s, without a reload', async () => {
    const runId = await createRun(seeded.server, { projectId: 'console-detail-live' });
    const { context, page, errors } = await openRun(runId);
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));
    expect(await shownEvents(page)).toEqual(await apiEvents(runId));

    const delays: number[] = [];
    /** Runs a mutation and waits until the log's last row is the event it appended. */
    const shows = async (kind: string, mutate: () => Promise<unknown>) => {
      const before = (await shownEvents(page)).length;
      const started = Date.now();
      await mutate();
      await expect.poll(async () => (await shownEvents(page)).map((event) => event.kind), { timeout: 1_000, interval: 10 }).toHaveLength(before + 1);
      delays.push(Date.now() - started);
      expect((await shownEvents(page)).at(-1)!.kind).toBe(kind);
    };

    await shows('RUN_STARTED', () => ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { id } } }', { id: runId }));
    await expect.poll(() => field(page, 'state'), { timeout: 1_000 }).toBe('RUNNING');
    let stepId = '';
    await shows('TOOL_CALL_STARTED', async () => {
      stepId = (await ok('mutation($id: ID!) { startStep(input: { runId: $id, toolId: "aider" }) { step { id } } }', { id: runId })).startStep.step.id;
    });
    await expect.poll(() => page.locator('svg.gantt rect.bar[data-state="RUNNING"]').count(), { timeout: 1_000 }).toBe(1);
    await shows('NOTE', () => note(runId, 'halfway through'));
    await shows('TOOL_CALL_COMPLETED', () => ok('mutation($id: ID!) { completeStep(input: { id: $id, state: SUCCEEDED }) { step { id } } }', { id: stepId }));
    await expect.poll(() => page.locator('table.steps td[data-field="state"]').allInnerTexts(), { timeout: 1_000 }).toEqual(['SUCCEEDED']);
    await shows('NOTE', () => note(runId, 'done'));

    // A patch and a gate of the run appear in their tables, and follow their states there.
    let ledgerId = '';
    await shows('PATCH_CREATED', async () => {
      const diffText = 'diff --git a/src/app.ts b/src/app.ts\n--- a/src/app.ts\n+++ b/src/app.ts\n@@ -1 +1 @@\n-old\n+new\n';
      const { createPatch } = await ok(
        'mutation($id: ID!, $d: String!) { createPatch(input: { runId: $id, projectId: "console-detail-live", targetRepo: "git@example.test:live.git", diffText: $d, summary: "live patch" }) { ledgerEntry { id } } }',
        {
          id: runId,
          d: diffText,
        },
      );
      ledgerId = createPatch.ledgerEntry.id;
    });
    const patchState = () => page.locator(`table.patches tr[data-ledger="${ledgerId}"] td[data-field="state"]`).allInnerTexts();
    await expect.poll(patchState, { timeout: 1_000 }).toEqual(['CREATED']);
    await shows('PATCH_VALIDATED', () => ok('mutation($id: ID!) { validatePatch(input: { ledgerId: $id }) { ledgerEntry { state } } }', { id: ledgerId }));
    await expect.poll(patchState, { timeout: 1_000 }).toEqual(['VALIDATED']);
    let gateId = '';
    await shows('GATE_CREATED', async () => {
      gateId = (await ok('mutation($id: ID!) { createTestGate(input: { runId: $id, name: "live gate", type: UNIT_TESTS, criteria: { maxFailures: 0 } }) { gate { id } } }', { id: runId }))
        .createTestGate.gate.id;
    });
    const gateState = () => page.locator(`table.gates tr[data-gate="${gateId}"] td[data-field="state"]`).allInnerTexts();
    await expect.poll(gateState, { timeout: 1_000 }).toEqual(['PENDING']);
    await shows('GATE_STARTED', () => ok('mutation($id: ID!) { startTestGate(input: { id: $id }) { gate { id } } }', { id: gateId }));
    await expect.poll(gateState, { timeout: 1_000 }).toEqual(['RUNNING']);
    await shows('GATE_PASSED', () => ok('mutation($id: ID!) { completeTestGate(input: { id: $id, exitCode: 0 }) { gate { id } } }', { id: gateId }));
    await expect.poll(gateState, { timeout: 1_000 }).toEqual(['PASSED']);

    expect(await shownEvents(page)).toEqual(await apiEvents(runId));
    expect(await page.locator('.events tr[data-kind="NOTE"]').last().locator('td[data-field="details"]').innerText()).toBe('done');
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    console.log(`run detail: each event shown in the log after ${delays.join(', ')} ms (max ${Math.max(...delays)} ms)`);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('keeps the header of a workstream run current: its task progress, ETA and cost, as the API gives them', async () => {
    const spec = workstreamSpec(
      ['one', 'two', 'three', 'four', 'five'].map((id) => taskSpec(id)),
      { id: 'console-detail-header', projectId: 'console-detail' },
    );
    const { submitWorkstream } = await ok('mutation($s: JSON!) { submitWorkstream(input: { spec: $s }) { workstream { run { id } } } }', { s: spec });
    const runId = submitWorkstream.workstream.run.id as string;
    const { context, page, errors } = await openRun(runId);
    const progress = () => ok('query($id: ID!) { runProgress(runId: $id) { total completed running pending estimatedRemainingSeconds } }', { id: runId }).then((d) => d.runProgress);
    expect(await progress()).toMatchObject({ total: 5, completed: 0, running: 0, pending: 5, estimatedRemainingSeconds: null });
    expect(await field(page, 'progress')).toBe('0% — 0 of 5 tasks done, 5 pending');
    expect(await field(page, 'eta')).toBe('no estimate yet');
    expect(await field(page, 'cost')).toBe('none recorded');

    // A worker claims a task (its claim starts the run), then completes it: each change is pushed (runProgress, runStateChanged).
    const { registerWorker } = await ok('mutation { registerWorker(input: { type: EXECUTOR, tools: ["aider", "claude_code", "pytest", "ruff"] }) { worker { id } } }');
    const workerId = registerWorker.worker.id as string;
    const { claimTask } = await ok('mutation($w: ID!, $r: ID) { claimTask(input: { workerId: $w, runId: $r }) { task { id } } }', { w: workerId, r: runId });
    await expect.poll(() => field(page, 'progress'), { timeout: 1_000 }).toBe('0% — 0 of 5 tasks done, 1 running, 4 pending');
    await expect.poll(() => field(page, 'state'), { timeout: 1_000 }).toBe('RUNNING');
    await ok('mutation($w: ID!, $t: ID!) { completeTask(input: { workerId: $w, taskId: $t, success: true, executionTimeSeconds: 60 }) { task { state } } }', { w: workerId, t: claimTask.task.id });
    await expect.poll(() => field(page, 'progress'), { timeout: 1_000 }).toBe('20% — 1 of 5 tasks done, 4 pending');
    expect((await progress()).estimatedRemainingSeconds).toBeGreaterThan(0);
    await expect.poll(() => field(page, 'eta'), { timeout: 1_000 }).toMatch(/\(about .+ left\)$/);

    await ok('mutation($r: ID!) { recordCost(input: { runId: $r, resourceType: API_CALL, currency: "USD", amount: "0.25" }) { cost { id } } }', { r: runId });
    await expect.poll(() => field(page, 'cost'), { timeout: 1_000 }).toBe('0.25 USD (1 record)');
    expect(await page.locator('progress').getAttribute('value')).toBe('20');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('resumes after the last event it shows when its socket is cut while events keep coming: every event once, in order', async () => {
    const runId = await createRun(seeded.server, { projectId: 'console-detail-resume' });
    await ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { id } } }', { id: runId });
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openRun(runId);
      expect(sockets).toHaveLength(1);
      const { written, afterCut } = await writeAcrossReconnect(
        sockets,
        async () => (await shownEvents(page)).length,
        10,
        (n) => note(runId, `note ${n}`),
      );
      expect(afterCut, 'notes were written while the socket was down').toBeGreaterThan(20);
      const events = await apiEvents(runId);
      await expect.poll(async () => (await shownEvents(page)).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(events.length);
      expect(await shownEvents(page)).toEqual(events);
      console.log(`run detail resume: ${events.length} events (${written} notes), ${afterCut} written from the cut to the end, each shown once in order`);
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 60_000);

  it('loads older pages of the log as the user scrolls back', async () => {
    const run = await seeded.server.engine.runs.createRun({ projectId: 'console-detail-history', phaseId: 'phase-1' });
    for (let i = 0; i < 130; i++) await seeded.server.engine.runs.addRunNote({ runId: run.id, message: `history ${i}` });
    const runId = encodeGlobalId('Run', run.id);
    const events = await apiEvents(runId);
    expect(events).toHaveLength(131);
    const { context, page, errors } = await openRun(runId);
    const first = await shownEvents(page);
    expect(first, 'the latest page').toEqual(events.slice(-50));
    const box = page.getByRole('region', { name: 'Event log, newest at the bottom' });
    expect(await box.evaluate((node) => node.scrollTop + node.clientHeight >= node.scrollHeight - 1), 'opened at the newest event').toBe(true);
    const counts: number[] = [];
    await expect
      .poll(async () => {
        await box.evaluate((node) => (node.scrollTop = 0));
        const shown = (await shownEvents(page)).length;
        if (counts.at(-1) !== shown) counts.push(shown);
        return shown;
      })
      .toBe(events.length);
    expect(counts, 'page by page').toEqual([50, 100, 131]);
    expect(await shownEvents(page)).toEqual(events);
    await page.getByText('The start of the log.').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('disables cancel and add-note for a READ token with the reason; an OPERATE token adds a note (shown live) and cancels', async () => {
    const runId = await createRun(seeded.server, { projectId: 'console-detail-actions' });
    await ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { id } } }', { id: runId });
    const tokens = await ok(`mutation {
      reader: createApiToken(input: { name: "detail-reader", scopes: [READ] }) { token }
      operator: createApiToken(input: { name: "detail-operator", scopes: [READ, OPERATE] }) { token }
    }`);

    const reader = await openRun(runId, tokens.reader.token);
    expect(await reader.page.getByRole('button', { name: 'Cancel run' }).isDisabled()).toBe(true);
    expect(await reader.page.getByRole('button', { name: 'Add note' }).isDisabled()).toBe(true);
    expect(await reader.page.getByLabel('Reason for canceling').isDisabled()).toBe(true);
    const why = 'needs a token with the OPERATE scope; this one (detail-reader) has READ';
    expect(await reader.page.locator('#cancel-why').innerText()).toBe(`Cancel is unavailable: ${why}.`);
    expect(await reader.page.locator('#note-why').innerText()).toBe(`Adding a note is unavailable: ${why}.`);
    await expectAccessible(reader.page);
    expect(reader.errors).toEqual([]);
    await reader.context.close();

    const { context, page, errors } = await openRun(runId, tokens.operator.token);
    await page.getByRole('button', { name: 'Add note' }).click();
    expect(await page.getByRole('alert').innerText()).toBe('Write the note first: it cannot be empty.');
    await page.getByLabel('Note', { exact: true }).fill('looked at it from the console');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.locator('.events tr[data-kind="NOTE"]').last().waitFor({ timeout: 1_000 });
    expect(await page.locator('.events tr[data-kind="NOTE"] td[data-field="details"]').innerText()).toBe('looked at it from the console');
    expect(await page.getByLabel('Note', { exact: true }).inputValue()).toBe('');
    expect(await page.getByRole('alert').count()).toBe(0);

    await page.getByLabel('Reason for canceling').fill('not needed any more');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expect.poll(() => field(page, 'state'), { timeout: 2_000 }).toBe('CANCELED: not needed any more');
    await page.locator('.events tr[data-kind="RUN_STATE_CHANGED"]').waitFor({ timeout: 1_000 });
    expect(await page.getByRole('button', { name: 'Cancel run' }).isDisabled()).toBe(true);
    expect(await page.locator('#cancel-why').innerText()).toBe('Cancel is unavailable: the run has ended (CANCELED).');
    const { run } = await ok('query($id: ID!) { run(id: $id) { state stateReason } }', { id: runId });
    expect(run).toEqual({ state: 'CANCELED', stateReason: 'not needed any more' });
    expect(await shownEvents(page)).toEqual(await apiEvents(runId));
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});

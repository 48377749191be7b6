/**
 * A step's log on the console's Run detail page, in Chromium against a real
 * gateway (./console-harness.ts): output appended through the API while the
 * page is open shows live and the view follows the tail unless the user
 * scrolled up; a long log loads its history as the user scrolls back without
 * the view jumping; stderr is tinted; a log over the per-step maximum shows
 * where the gateway cut it; the step's end shows; and a log longer than the
 * page holds drops far text and reads it again on scroll.
 */
import { describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { createRun, type TestServer } from '../helpers/server.js';
import { artifact, expectAccessible, haveChromium, signIn, seededConsoleForSuite, watchUpgrades, writeAcrossReconnect, type SeededConsole } from './console-harness.js';

/** What the page holds at most (console/src/panels/step-log-blocks.ts HELD_CHARS). */
const HELD_CHARS = 4_000_000;

/** A RUNNING step of a new RUNNING run. */
async function runningStep(server: TestServer, projectId: string): Promise<{ runId: string; stepId: string }> {
  const runId = await createRun(server, { projectId });
  await server.ok('mutation($id: ID!) { startRun(input: { id: $id }) { run { id } } }', { id: runId });
  const { startStep } = await server.ok('mutation($id: ID!) { startStep(input: { runId: $id, toolId: "aider" }) { step { id } } }', { id: runId });
  return { runId, stepId: startStep.step.id as string };
}

/** Appends to a step's log through the API, as a worker would, keeping the offset; `text` is all it appended. */
function appender(server: TestServer, stepId: string) {
  const log = {
    text: '',
    offset: 0,
    async append(text: string, stream: 'STDOUT' | 'STDERR' = 'STDOUT') {
      const { appendStepLog } = await server.ok(
        'mutation($s: ID!, $o: Int!, $t: String!, $k: StepLogStream) { appendStepLog(input: { stepId: $s, offset: $o, text: $t, stream: $k }) { size duplicate } }',
        { s: stepId, o: log.offset, t: text, k: stream },
      );
      expect(appendStepLog.duplicate).toBe(false);
      log.offset = appendStepLog.size;
      log.text += text;
    },
  };
  return log;
}

const completeStep = (server: TestServer, stepId: string) => server.ok('mutation($id: ID!) { completeStep(input: { id: $id, state: SUCCEEDED }) { step { state } } }', { id: stepId });

/** The log's text as the page holds it (without cut notices). */
const shownText = (page: Page) => page.locator('.log-lines').evaluate((node) => [...node.querySelectorAll('span[data-stream]')].map((span) => span.textContent).join(''));
const atBottom = (box: Locator) => box.evaluate((node) => node.scrollTop + node.clientHeight >= node.scrollHeight - 2);
const logBox = (page: Page) => page.getByRole('log', { name: 'Output of step #1 aider, newest at the bottom' });

/** Opens a run's detail page on one step's log (the link the timeline's Log button makes), signed in as ADMIN. */
async function openLog(seeded: SeededConsole, runId: string, stepId: string) {
  const opened = await seeded.open(`/runs/${encodeURIComponent(runId)}?step=${encodeURIComponent(stepId)}`);
  await signIn(opened.page);
  await logBox(opened.page).waitFor({ timeout: 10_000 });
  return opened;
}

/**
 * Scrolls to the top of the log until its start is shown, checking that each page read lands above the text shown
 * without moving it; returns the number of pages read.
 */
async function scrollBackToStart(page: Page): Promise<number> {
  const box = logBox(page);
  let pages = 0;
  while (!(await box.getByText('The start of the log.').isVisible())) {
    // The first block held, where it is in the box as the view reaches the top (which starts the read).
    const before = await box.evaluate((node) => {
      node.scrollTop = 0;
      const first = node.querySelector<HTMLElement>('.log-block')!;
      return { from: first.dataset.from!, top: first.getBoundingClientRect().top - node.getBoundingClientRect().top };
    });
    await expect.poll(() => box.evaluate((node) => node.querySelector<HTMLElement>('.log-block')!.dataset.from), { timeout: 5_000 }).not.toBe(before.from);
    const after = await box.evaluate((node, from) => {
      const block = node.querySelector<HTMLElement>(`.log-block[data-from="${from}"]`);
      return { top: block ? block.getBoundingClientRect().top - node.getBoundingClientRect().top : null, scrollTop: node.scrollTop };
    }, before.from);
    pages++;
    if (after.top === null) continue; // dropped: the page read older text past what it holds
    expect(after.scrollTop, 'the view stayed on the text it showed').toBeGreaterThan(0);
    expect(Math.abs(after.top - before.top), 'the text shown did not move (but for rounding)').toBeLessThanOrEqual(2);
  }
  return pages;
}

describe.skipIf(!haveChromium || onPostgres)('a step’s log on the Run detail page', () => {
  // Small enough that a test log goes past it: the gateway keeps its first quarter and newest tail.
  const seeded = seededConsoleForSuite({ limits: { stepLogMaxBytes: 65_536 } });

  it('shows a running step’s output live: it follows the tail, holds still when scrolled up, tints stderr and shows the step’s end', async () => {
    const { runId, stepId } = await runningStep(seeded.server, 'console-log-live');
    const opened = await seeded.open(`/runs/${encodeURIComponent(runId)}`);
    const { context, page, errors } = opened;
    await signIn(page);
    // Keyboard: the step's Log button opens its log, and the URL says which.
    const button = page.getByRole('button', { name: 'Log of step #1' });
    await button.focus();
    await page.keyboard.press('Enter');
    const box = logBox(page);
    await box.waitFor({ timeout: 10_000 });
    expect(new URL(page.url()).searchParams.get('step')).toBe(stepId);
    expect(await button.getAttribute('aria-pressed')).toBe('true');
    await box.getByText('No output yet.').waitFor({ timeout: 5_000 });
    expect(await box.getAttribute('aria-live')).toBe('off');

    const log = appender(seeded.server, stepId);
    const delays: number[] = [];
    const shows = async (text: string, stream?: 'STDOUT' | 'STDERR') => {
      const started = Date.now();
      await log.append(text, stream);
      await expect.poll(() => shownText(page), { timeout: 2_000, interval: 10 }).toBe(log.text);
      delays.push(Date.now() - started);
    };
    await shows('compiling 3 files…\n');
    await shows('warning: unused variable `x`\n', 'STDERR');
    for (let i = 0; i < 60; i++) await shows(`test ${i} … ok\n`);
    expect(await atBottom(box), 'the view followed the tail').toBe(true);
    expect(await page.locator('.log-summary [data-field="size"]').innerText()).toBe(`${Buffer.byteLength(log.text).toLocaleString('en')} bytes`);
    expect(await page.locator('.log-summary [data-field="state"]').innerText()).toBe('live');

    // stderr is told apart: its own span, tinted.
    const colours = await page.locator('.log-lines span[data-stream]').evaluateAll((spans) => spans.map((span) => [span.getAttribute('data-stream'), getComputedStyle(span).backgroundColor]));
    expect(colours.map(([stream]) => stream)).toEqual(['STDOUT', 'STDERR', 'STDOUT']);
    expect(colours[1]![1]).not.toBe(colours[0]![1]);
    expect(await page.locator('.log-lines span[data-stream="STDERR"]').innerText()).toBe('warning: unused variable `x`\n');

    // Scrolled up, the view holds still as output arrives, and offers the way back.
    await box.evaluate((node) => (node.scrollTop = 0));
    const jump = page.getByRole('button', { name: 'Jump to latest' });
    await jump.waitFor({ timeout: 2_000 });
    for (let i = 60; i < 80; i++) await log.append(`test ${i} … ok\n`);
    await expect.poll(() => shownText(page), { timeout: 2_000 }).toBe(log.text);
    expect(await box.evaluate((node) => node.scrollTop), 'the view stayed where the user left it').toBe(0);
    await jump.click();
    await expect.poll(() => atBottom(box), { timeout: 2_000 }).toBe(true);
    await expect.poll(() => jump.count(), { timeout: 2_000 }).toBe(0);
    await shows('done\n');
    expect(await atBottom(box), 'following again').toBe(true);

    // The step ends: the log says so at its end, and a screen reader hears only that. The timeline reads its steps again
    // meanwhile; the log stays the same element (not opened again).
    await box.evaluate((node) => (node.dataset.opened = 'once'));
    await completeStep(seeded.server, stepId);
    const size = Buffer.byteLength(log.text);
    await expect
      .poll(() => page.locator('.log-end').textContent(), { timeout: 3_000 })
      .toMatch(new RegExp(`^End of the log: step #1 SUCCEEDED at .+, after .+; ${size.toLocaleString('en')} bytes in all\\.$`));
    expect(await page.locator('.step-log [aria-live="polite"]').innerText()).toBe(`The log of step #1 aider has ended: ${size.toLocaleString('en')} bytes.`);
    expect(await page.locator('.log-summary [data-field="state"]').innerText()).toBe('ended');
    await expect.poll(() => page.locator('table.steps tr[data-step="1"] td[data-field="state"]').innerText(), { timeout: 2_000 }).toBe('SUCCEEDED');
    expect(await box.getAttribute('data-opened')).toBe('once');
    await expect.poll(() => atBottom(box), { timeout: 2_000 }).toBe(true);
    expect(await shownText(page)).toBe(log.text);

    await page.screenshot({ path: artifact('console-step-log.png'), fullPage: true });
    await expectAccessible(page);
    console.log(`step log: each chunk shown after ${Math.min(...delays)}-${Math.max(...delays)} ms`);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('resumes after the last chunk it shows when its socket is cut while output keeps coming: every byte once, in order', async () => {
    const { runId, stepId } = await runningStep(seeded.server, 'console-log-resume');
    const { sockets, stop } = watchUpgrades(seeded.server);
    try {
      const { context, page, errors } = await openLog(seeded, runId, stepId);
      expect(sockets).toHaveLength(1);
      const log = appender(seeded.server, stepId);
      const { written, afterCut } = await writeAcrossReconnect(
        sockets,
        async () => (await shownText(page)).length,
        50,
        (n) => log.append(`line ${n}\n`, n % 7 === 6 ? 'STDERR' : 'STDOUT'),
      );
      expect(afterCut, 'output was appended while the socket was down').toBeGreaterThan(20);
      await expect.poll(() => shownText(page), { timeout: 5_000 }).toBe(log.text);
      expect(await page.locator('.log-lines .cut').count()).toBe(0);
      console.log(`step log resume: ${written} chunks, ${afterCut} appended from the cut to the end, each shown once in order`);
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      stop();
    }
  }, 90_000);

  it('loads a long log’s history as the user scrolls back, above the text shown without moving it', async () => {
    const { runId, stepId } = await runningStep(seeded.server, 'console-log-history');
    const log = appender(seeded.server, stepId);
    // 4,000 lines in 500 chunks, under the maximum: nothing is cut. A page is 200 chunks.
    for (let chunk = 0; chunk < 500; chunk++) {
      await log.append(Array.from({ length: 8 }, (_, i) => `${String(chunk * 8 + i).padStart(4, '0')}\n`).join(''), chunk % 50 === 49 ? 'STDERR' : 'STDOUT');
    }
    expect(log.text.split('\n')).toHaveLength(4001);
    await completeStep(seeded.server, stepId);

    const { context, page, errors } = await openLog(seeded, runId, stepId);
    const box = logBox(page);
    await expect.poll(() => shownText(page), { timeout: 5_000 }).toBe(log.text.slice(-200 * 8 * 5));
    expect(await atBottom(box), 'opened at the tail').toBe(true);
    await page.locator('.log-end').waitFor();
    expect(await scrollBackToStart(page)).toBe(2);
    expect(await shownText(page)).toBe(log.text);
    expect(await page.locator('.log-lines span[data-stream="STDERR"]').count()).toBe(10);
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it('shows where the gateway cut the middle of a log over the per-step maximum', async () => {
    const { runId, stepId } = await runningStep(seeded.server, 'console-log-cut');
    const log = appender(seeded.server, stepId);
    const line = (n: number) => `${String(n).padStart(6, '0')} ${'x'.repeat(56)}\n`; // 64 bytes
    for (let chunk = 0; chunk < 40; chunk++) {
      await log.append(Array.from({ length: 64 }, (_, i) => line(chunk * 64 + i)).join(''), chunk % 4 === 3 ? 'STDERR' : 'STDOUT');
    }
    const { stepLog } = await seeded.server.ok('query($s: ID!) { stepLog(stepId: $s, first: 500) { size cutBytes cutFrom cutTo chunks { text } } }', { s: stepId });
    expect(stepLog.size).toBe(40 * 4096);
    expect(stepLog.cutBytes).toBeGreaterThan(0);
    expect(stepLog.cutTo - stepLog.cutFrom).toBe(stepLog.cutBytes);

    const { context, page, errors } = await openLog(seeded, runId, stepId);
    await expect.poll(() => shownText(page), { timeout: 5_000 }).toBe(stepLog.chunks.map((chunk: { text: string }) => chunk.text).join(''));
    const notice = page.locator('.log-lines .cut');
    expect(await notice.count()).toBe(1);
    expect(await notice.innerText()).toBe(`… ${stepLog.cutBytes.toLocaleString('en')} bytes cut …`);
    expect(await notice.getAttribute('data-cut-from')).toBe(String(stepLog.cutFrom));
    expect(await notice.getAttribute('data-cut-to')).toBe(String(stepLog.cutTo));
    expect(await page.locator('.log-summary [data-field="cut"]').innerText()).toBe(`${stepLog.cutBytes.toLocaleString('en')} bytes cut from the middle`);
    expect(await page.locator('.log-summary [data-field="size"]').innerText()).toBe(`${(40 * 4096).toLocaleString('en')} bytes`);

    // Still running: output appended now follows the cut tail live.
    await log.append('still going\n', 'STDERR');
    await expect.poll(() => shownText(page), { timeout: 2_000 }).toMatch(/still going\n$/);
    await notice.scrollIntoViewIfNeeded();
    await page.screenshot({ path: artifact('console-step-log-cut.png'), fullPage: true });
    await expectAccessible(page);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);
});

describe.skipIf(!haveChromium || onPostgres)('a step’s log longer than the page holds', () => {
  const seeded = seededConsoleForSuite({ limits: { stepLogMaxBytes: 16 * 1_048_576 } });

  it('following a log that grows past its bound, drops the oldest text and stays at the tail', async () => {
    const { runId, stepId } = await runningStep(seeded.server, 'console-log-live-bound');
    const { context, page, errors } = await openLog(seeded, runId, stepId);
    const box = logBox(page);
    await box.getByText('No output yet.').waitFor({ timeout: 5_000 });
    const log = appender(seeded.server, stepId);
    const line = (n: number) => `${String(n).padStart(7, '0')} ${'z'.repeat(55)}\n`; // 64 bytes
    // 5 MiB appended while the page follows: past the bound, the text at the top goes.
    for (let chunk = 0; chunk < 80; chunk++) await log.append(Array.from({ length: 1024 }, (_, i) => line(chunk * 1024 + i)).join(''), chunk % 10 === 9 ? 'STDERR' : 'STDOUT');
    await expect.poll(async () => log.text.endsWith(await shownText(page)) && (await shownText(page)).endsWith(line(80 * 1024 - 1)), { timeout: 10_000 }).toBe(true);
    const held = await shownText(page);
    expect(held.length).toBeLessThanOrEqual(HELD_CHARS);
    expect(held.length).toBeGreaterThan(HELD_CHARS / 2);
    expect(await atBottom(box), 'still at the tail').toBe(true);
    expect(await page.locator('.log-summary [data-field="state"]').innerText()).toBe('live');
    // The dropped text is read again on the way back.
    await scrollBackToStart(page);
    expect(log.text.startsWith(await shownText(page))).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);

  it('drops the text farthest from the view past its bound and reads it again as the user scrolls back to it', async () => {
    const { runId, stepId } = await runningStep(seeded.server, 'console-log-bound');
    const log = appender(seeded.server, stepId);
    const line = (n: number) => `${String(n).padStart(7, '0')} ${'y'.repeat(55)}\n`; // 64 bytes
    // 6 MiB: 96 chunks of 64 KiB (1,024 lines each), half again what the page holds.
    for (let chunk = 0; chunk < 96; chunk++) await log.append(Array.from({ length: 1024 }, (_, i) => line(chunk * 1024 + i)).join(''));
    await completeStep(seeded.server, stepId);
    const held = (page: Page) => page.locator('.log-lines').evaluate((node) => node.textContent!.length);

    const { context, page, errors } = await openLog(seeded, runId, stepId);
    const box = logBox(page);
    await page.locator('.log-end').waitFor({ timeout: 10_000 });
    await scrollBackToStart(page);
    expect(await held(page)).toBeLessThanOrEqual(HELD_CHARS);
    const shown = await shownText(page);
    expect(log.text.startsWith(shown), 'the start of the log, in order').toBe(true);
    expect(await page.locator('.log-end').count(), 'the tail was dropped').toBe(0);
    expect(await page.locator('.log-summary [data-field="state"]').innerText()).toBe('not following: newer output below');

    // Scrolling down reads the dropped text again, dropping the start in turn, up to the end.
    await expect
      .poll(
        async () => {
          await box.evaluate((node) => (node.scrollTop = node.scrollHeight));
          return page.locator('.log-end').count();
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(1);
    expect(await held(page)).toBeLessThanOrEqual(HELD_CHARS);
    const tail = await shownText(page);
    expect(log.text.endsWith(tail), 'the end of the log, in order').toBe(true);
    expect(tail.length).toBeGreaterThan(HELD_CHARS / 2);

    // Jump to latest from the start: the tail read again in place of what is held.
    await scrollBackToStart(page);
    await page.getByRole('button', { name: 'Jump to latest' }).click();
    await page.locator('.log-end').waitFor({ timeout: 5_000 });
    expect(log.text.endsWith(await shownText(page))).toBe(true);
    expect(await atBottom(box)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 180_000);
});

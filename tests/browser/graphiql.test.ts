import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_SECRET, createRun, startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/**
 * GraphiQL driven in Debian's Chromium: .ci/run installs it when missing; on a
 * developer machine without it this suite is skipped with the reason below.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`CI needs Chromium at ${CHROMIUM} (.ci/run installs the chromium package)`);
  console.warn(`skipping the GraphiQL browser test: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

// Flags for a closed network: without them Chromium keeps trying Google's hosts.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!haveChromium)('GraphiQL in a real browser', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A fresh profile whose GraphiQL Headers tab holds the admin token, as a user would type it. */
  async function openGraphiQL(query?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript((token) => {
      localStorage.setItem('graphiql:headers', JSON.stringify({ Authorization: `Bearer ${token}` }));
    }, ADMIN_SECRET);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('requestfailed', (request) => errors.push(`${request.url()} ${request.failure()?.errorText}`));
    const address = query ? `${server.url}?query=${encodeURIComponent(query)}` : server.url;
    await page.goto(address);
    await page.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
    expect(errors).toEqual([]);
    return page;
  }

  const responseText = (page: Page) => page.locator('.graphiql-response').innerText();

  it('runs the default query, and shows a subscription receiving events that another client causes', async () => {
    const runId = await createRun(server, { projectId: 'browser-project' });

    const page = await openGraphiQL();
    // The default query: the newest runs and the worker fleet.
    expect(await page.locator('.graphiql-query-editor').innerText()).toContain('workerSummary');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('browser-project'), null, {
      timeout: 20_000,
    });
    const result = JSON.parse((await responseText(page)).replace(/\u00a0/g, ' '));
    expect(result.errors).toBeUndefined();
    expect(result.data.runs.totalCount).toBe(1);
    expect(result.data.workerSummary).toEqual({ total: 0, stale: 0, byState: [] });

    const live = await openGraphiQL(`subscription Live {\n  runEvents(runId: "${runId}") { kind ts }\n}`);
    const streamsBefore = server.engine.openStreams();
    await live.click('.graphiql-execute-button');
    await until(() => server.engine.openStreams() > streamsBefore, 'the GraphiQL subscription to open', 20_000);

    await server.ok(`mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }`, { id: runId });
    await live.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('RUN_STARTED'), null, {
      timeout: 20_000,
    });
    expect(await responseText(live)).toContain('RUN_STARTED');

    mkdirSync(ARTIFACTS, { recursive: true });
    await live.screenshot({ path: new URL('graphiql-subscription.png', ARTIFACTS).pathname });
    await page.screenshot({ path: new URL('graphiql-query.png', ARTIFACTS).pathname });
  }, 90_000);
});

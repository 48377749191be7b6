import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_SECRET, createRun, startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

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

/** A laptop's window: what must be in view without scrolling. */
const VIEWPORT = { width: 1280, height: 800 };

/** graphql-ws closes that say the token was refused (the server uses 4403 today). */
const TOKEN_CLOSE_CODES = [4401, 4403];

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

  /** A fresh profile whose GraphiQL Headers tab holds `authorization`, as a user would have typed it (none: a first visit). */
  async function newProfile(authorization: string | null = `Bearer ${ADMIN_SECRET}`): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: VIEWPORT });
    if (authorization !== null) {
      await context.addInitScript((value) => {
        localStorage.setItem('graphiql:headers', JSON.stringify({ Authorization: value }));
      }, authorization);
    }
    return context;
  }

  async function openGraphiQL(context: BrowserContext, query?: string): Promise<Page> {
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

  /** The result pane's text, with the editor's non-breaking spaces as spaces. */
  const responseText = async (page: Page) => (await page.locator('.graphiql-response').innerText()).replace(/\u00a0/g, ' ');
  /** The same on one line: the pane wraps long strings, so a long message is not JSON line by line. */
  const responseLine = async (page: Page) => (await responseText(page)).replace(/\s*\n\s*/g, ' ');

  /** Counts the WebSockets a page opens. */
  function countSockets(page: Page): () => number {
    let opened = 0;
    page.on('websocket', () => opened++);
    return () => opened;
  }

  it('runs the default query, and shows a subscription receiving events that another client causes', async () => {
    const runId = await createRun(server, { projectId: 'browser-project' });
    const context = await newProfile();

    const page = await openGraphiQL(context);
    // The default query: the newest runs and the worker fleet.
    expect(await page.locator('.graphiql-query-editor').innerText()).toContain('workerSummary');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('browser-project'), null, {
      timeout: 20_000,
    });
    const result = JSON.parse(await responseText(page));
    expect(result.errors).toBeUndefined();
    expect(result.data.runs.totalCount).toBe(1);
    expect(result.data.workerSummary).toEqual({ total: 0, stale: 0, byState: [] });

    const live = await openGraphiQL(context, `subscription Live {\n  runEvents(runId: "${runId}") { kind ts }\n}`);
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
    await context.close();
  }, 90_000);

  it('shows the token hint in the first 1280x800 view of a first visit: the Headers tab open with the header to complete', async () => {
    const context = await newProfile(null);
    const page = await openGraphiQL(context);
    const headers = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden)');
    await expect.poll(async () => (await headers.innerText()).replace(/\u00a0/g, ' '), { timeout: 10_000 }).toMatch(/"Authorization":\s*"Bearer "/);
    const box = await headers.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.y).toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height).toBeLessThanOrEqual(VIEWPORT.height);
    // The query's first line says where the token goes, in full within the editor's width.
    const firstLine = page.locator('.graphiql-query-editor .view-line').first();
    expect((await firstLine.innerText()).replace(/\u00a0/g, ' ')).toMatch(/token.*Headers tab/);
    const textRight = await firstLine.evaluate((element) => {
      const range = document.createRange();
      range.selectNodeContents(element);
      return range.getBoundingClientRect().right;
    });
    const editor = await page.locator('.graphiql-query-editor').boundingBox();
    expect(textRight).toBeLessThanOrEqual(editor!.x + editor!.width);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('graphiql-first-visit.png', ARTIFACTS).pathname });
    await context.close();
  }, 60_000);

  for (const [what, authorization] of [
    ['without a token', null],
    ['with an unknown token', 'Bearer uet_not-a-token-0123456789'],
  ] as const) {
    it(`a subscription ${what} shows the server's reason within seconds, and the socket does not reconnect`, async () => {
      const context = await newProfile(authorization);
      const page = await openGraphiQL(context, 'subscription Live {\n  runEvents(runId: "nope") { kind }\n}');
      const sockets = countSockets(page);
      const started = Date.now();
      await page.click('.graphiql-execute-button');
      await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('closeCode'), null, { timeout: 5_000 });
      const shownAfterMs = Date.now() - started;
      // Whatever the server's reason says (its wording is the server's), it is shown, with the close code and where the token goes.
      const shown = await responseLine(page);
      expect(shown).toMatch(/^\{ "errors": \[ \{ "message": "[^"]+/);
      expect(TOKEN_CLOSE_CODES).toContain(Number(/"closeCode": (\d+)/.exec(shown)?.[1]));
      expect(shown).toMatch(/"hint": "Put a token in the Headers tab/);
      // Ended, not pending: the button is back to "run".
      await expect.poll(() => page.locator('.graphiql-execute-button').getAttribute('aria-label')).toMatch(/execute/i);
      // graphql-ws would have retried within 1.3 to 4 s.
      await sleep(5_000);
      expect(sockets()).toBe(1);
      expect(shownAfterMs).toBeLessThan(3_000);
      await context.close();
    }, 60_000);
  }

  it('a subscription whose socket drops reconnects and carries on', async () => {
    const runId = await createRun(server, { projectId: 'browser-drop' });
    const upgrades: Duplex[] = [];
    const onUpgrade = (_req: IncomingMessage, socket: Duplex) => upgrades.push(socket);
    server.app.server.on('upgrade', onUpgrade);
    const context = await newProfile();
    try {
      const page = await openGraphiQL(context, `subscription Live {\n  runEvents(runId: "${runId}") { kind }\n}`);
      const sockets = countSockets(page);
      const streamsBefore = server.engine.openStreams();
      await page.click('.graphiql-execute-button');
      await until(() => server.engine.openStreams() > streamsBefore, 'the GraphiQL subscription to open', 20_000);
      // A network drop: the TCP connection goes away without a close frame (1006 in the browser).
      upgrades.at(-1)!.destroy();
      await until(() => sockets() === 2, 'GraphiQL to reconnect', 15_000);
      await until(() => server.engine.openStreams() > streamsBefore, 'the subscription to open again', 15_000);
      await server.ok(`mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }`, { id: runId });
      await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('RUN_STARTED'), null, { timeout: 20_000 });
      expect(await responseText(page)).not.toContain('closeCode');
    } finally {
      server.app.server.off('upgrade', onUpgrade);
      await context.close();
    }
  }, 90_000);

  it('loads its files compressed and cacheable: a second visit fetches only the small page', async () => {
    const context = await newProfile();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    // The bytes of GETs (the page and its files), not of the GraphQL POSTs (the schema's introspection) that follow.
    const gets = new Set<string>();
    cdp.on('Network.requestWillBeSent', (event) => event.request.method === 'GET' && gets.add(event.requestId));
    let bytes = 0;
    cdp.on('Network.loadingFinished', (event) => gets.has(event.requestId) && (bytes += event.encodedDataLength));
    const requested: string[] = [];
    const onRequest = (req: IncomingMessage) => requested.push(req.url ?? '');
    server.app.server.on('request', onRequest);
    try {
      const files = new Map<string, Record<string, string>>();
      page.on('response', (response) => {
        if (new URL(response.url()).pathname.startsWith('/graphql/static/')) files.set(new URL(response.url()).pathname, response.headers());
      });
      await page.goto(server.url);
      await page.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
      // Typing starts the editor's language workers, which are files too.
      await page.click('.graphiql-query-editor');
      await page.keyboard.type('{ ru');
      await sleep(1_000);
      const firstBytes = bytes;
      const names = [...files.keys()].map((path) => path.split('/').at(-1)).sort();
      expect(names).toEqual(expect.arrayContaining(['graphiql.css', 'graphiql.js', 'graphql-ws.js', 'graphql.worker.js', 'start.js']));
      for (const [path, headers] of files) {
        expect(headers['cache-control'], path).toBe('public, max-age=31536000, immutable');
        expect(headers.etag, path).toMatch(/^"[\w-]+"$/);
        expect(headers['content-encoding'], path).toBe('br');
      }
      // Every file the server sent (the icon and workers included) was asked for once.
      const firstRequests = requested.filter((url) => url.startsWith('/graphql/static/'));
      expect(new Set(firstRequests).size).toBe(firstRequests.length);
      expect(firstRequests.length).toBeGreaterThanOrEqual(files.size);

      bytes = 0;
      requested.length = 0;
      await page.goto(server.url);
      await page.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
      await sleep(1_000);
      const secondBytes = bytes;
      // The page is asked for again (no-cache); none of its files is.
      expect(requested.filter((url) => url.startsWith('/graphql/static/'))).toEqual([]);
      expect(requested.some((url) => url.startsWith('/graphql'))).toBe(true);
      expect(firstBytes).toBeLessThan(3_000_000);
      expect(secondBytes).toBeLessThan(100_000);
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(new URL('graphiql-bytes.json', ARTIFACTS), `${JSON.stringify({ firstLoadBytes: firstBytes, secondLoadBytes: secondBytes, files: firstRequests }, null, 2)}\n`);
    } finally {
      server.app.server.off('request', onRequest);
      await context.close();
    }
  }, 90_000);
});

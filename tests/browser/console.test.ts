/**
 * The console (console/, served at `/`): its HTTP edge without a browser, and
 * its frame, Overview and token handling in Chromium against a real gateway on
 * the seeded demo database (set up by ./console-harness.ts).
 */
import { writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { onPostgres } from '../helpers/database.js';
import { ADMIN_SECRET, createRun, startTestServer, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';
import { artifact, baseOf, buildConsoleIfStale, expectAccessible, haveChromium, ROOT, signIn, seededConsoleForSuite } from './console-harness.js';

const HTML = { accept: 'text/html,application/xhtml+xml', 'accept-encoding': 'br, gzip' };

describe('the console over HTTP', () => {
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    buildConsoleIfStale();
    server = await startTestServer();
    base = baseOf(server);
  }, 120_000);
  afterAll(() => server?.stop());

  it('answers a page at / and at any deep link, not cached, under a policy that allows only its own files and sockets', async () => {
    const pages = await Promise.all(['/', '/runs/run_1', '/workers/w-1?tab=log'].map((path) => fetch(`${base}${path}`, { headers: HTML })));
    const bodies = await Promise.all(pages.map((res) => res.text()));
    for (const [i, res] of pages.entries()) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(bodies[i]).toBe(bodies[0]);
    }
    expect(bodies[0]).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    const csp = pages[0]!.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain(`connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host};`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe|\*/);
    // A Host that is not a plain host[:port] is left out of the policy (fetch would not send one: node:http does).
    const forged = await new Promise<IncomingMessage>((resolve, reject) => get(`${base}/`, { headers: { ...HTML, host: "evil.example; script-src 'unsafe-inline'" } }, resolve).on('error', reject));
    forged.resume();
    expect(forged.headers['content-security-policy']).toContain("connect-src 'self';");
  });

  it('serves its hashed files compressed and immutable, and says so for a file of an older build', async () => {
    const page = await (await fetch(`${base}/`, { headers: HTML })).text();
    const files = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(([, path]) => path!);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const path of files) {
      const res = await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'br' } });
      expect([path, res.status, res.headers.get('content-encoding'), res.headers.get('cache-control')]).toEqual([path, 200, 'br', 'public, max-age=31536000, immutable']);
      const again = await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'br', 'if-none-match': res.headers.get('etag')! } });
      expect(again.status).toBe(304);
    }
    const gone = await fetch(`${base}/assets/index-0ld.js`);
    expect([gone.status, await gone.text()]).toEqual([404, 'No such console file (reload the page).\n']);
  });

  it('serves a production build even when the tests built it (NODE_ENV=test): no development JSX, no source paths of this machine', async () => {
    expect(process.env.NODE_ENV).toBe('test');
    const page = await (await fetch(`${base}/`, { headers: HTML })).text();
    const script = /src="(\/assets\/index-[^"]+\.js)"/.exec(page)?.[1];
    expect(script).toBeDefined();
    const code = await (await fetch(`${base}${script}`)).text();
    expect(code.length).toBeGreaterThan(10_000);
    expect(code).not.toContain('lineNumber:');
    expect(code).not.toContain(join(ROOT, 'console'));
  });

  it('leaves GraphiQL, health, readiness, metrics and the API their own answers', async () => {
    const graphiql = await fetch(server.url, { headers: HTML });
    expect(await graphiql.text()).toContain('graphiql-options');
    expect(await (await fetch(`${base}/healthz`, { headers: HTML })).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`, { headers: HTML })).headers.get('content-type')).toBe('application/json');
    expect((await fetch(`${base}/metrics`, { headers: HTML })).headers.get('content-type')).toMatch(/^text\/plain/);
    // A client that asks for no page (curl's */*) gets no console either.
    expect((await fetch(`${base}/runs/x`, { headers: { accept: '*/*' } })).status).toBe(404);
    expect(await server.ok('{ viewer { tokenName } }')).toEqual({ viewer: { tokenName: 'UET_ADMIN_TOKEN' } });
  });

  it('is off with UET_CONSOLE=false, and a missing build answers a page saying how to build it', async () => {
    const off = await startTestServer({ edge: { console: false } });
    const unbuilt = await startTestServer({ edge: { consoleDir: join(ROOT, 'console', 'no-such-build') } });
    try {
      expect((await fetch(`${baseOf(off)}/`, { headers: HTML })).status).toBe(404);
      const res = await fetch(`${baseOf(unbuilt)}/runs/1`, { headers: HTML });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('The console is not built: run <code>npm run build</code>');
      // The gateway itself is fine.
      expect((await unbuilt.ok('{ viewer { tokenName } }')).viewer.tokenName).toBe('UET_ADMIN_TOKEN');
    } finally {
      await off.stop();
      await unbuilt.stop();
    }
  });
});

describe.skipIf(!haveChromium || onPostgres)('the console in a real browser, on the seeded demo', () => {
  const seeded = seededConsoleForSuite();
  const openConsole = (path?: string) => seeded.open(path);

  /** The counts of one Overview table, by state (and TOTAL). */
  async function shownCounts(page: Page, caption: string): Promise<Record<string, number>> {
    const table = page.locator('table', { has: page.locator('caption', { hasText: caption }) });
    await table.waitFor({ timeout: 10_000 });
    return table.evaluate((element) =>
      Object.fromEntries([...element.querySelectorAll('tr[data-state]')].map((row) => [row.getAttribute('data-state'), Number(row.querySelector('td')!.textContent)])),
    );
  }

  async function serverCounts(): Promise<{ runs: Record<string, number>; workers: Record<string, number> }> {
    const data = await seeded.server.ok('{ runSummary { runsByState { state count } } workerSummary { total byState { state count } } }');
    const byState = (rows: { state: string; count: number }[]): Record<string, number> => Object.fromEntries(rows.map((row) => [row.state, row.count]));
    const runs = byState(data.runSummary.runsByState);
    return {
      runs: { ...runs, TOTAL: Object.values(runs).reduce((sum, n) => sum + n, 0) },
      workers: { ...byState(data.workerSummary.byState), TOTAL: data.workerSummary.total },
    };
  }

  it('asks for a token, then shows the seeded runs and workers by state; a run started by another client changes the counts within 1 s, without a reload', async () => {
    const { context, page, errors } = await openConsole();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('uet-gateway console');
    await expectAccessible(page);
    await signIn(page, ADMIN_SECRET);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor({ timeout: 10_000 });
    const counts = await serverCounts();
    expect(counts.runs.TOTAL, 'the demo seed has runs').toBeGreaterThan(0);
    expect(counts.workers.TOTAL, 'the demo seed has workers').toBeGreaterThan(0);
    expect(await shownCounts(page, 'Runs by state')).toEqual(counts.runs);
    expect(await shownCounts(page, 'Workers by state')).toEqual(counts.workers);
    // The token stays for the tab only.
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([1, 0]);
    await expectAccessible(page);

    // Live: the subscriptions are open (one graphql-ws socket), then a second client creates and starts a run.
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));
    const queries: string[] = [];
    const onRequest = (req: IncomingMessage) => req.method === 'POST' && queries.push(req.url ?? '');
    seeded.server.app.server.on('request', onRequest);
    try {
      await sleep(500);
      expect(queries, 'an idle Overview sends no queries').toEqual([]);
      const started = Date.now();
      const runId = await createRun(seeded.server, { projectId: 'console-live' });
      await seeded.server.ok(`mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }`, { id: runId });
      const expected = (await serverCounts()).runs;
      await page.waitForFunction((running) => document.querySelector('table tr[data-state="RUNNING"] td')?.textContent === String(running), expected.RUNNING, { timeout: 1_000 });
      const shownAfterMs = Date.now() - started;
      expect(await shownCounts(page, 'Runs by state')).toEqual(expected);
      expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
      await sleep(500);
      // Two events (created, started), re-read at most once each, and the gateway's own requests above (2 mutations, 1 summary).
      const fromConsole = queries.length - 3;
      expect(fromConsole).toBeGreaterThanOrEqual(1);
      expect(fromConsole).toBeLessThanOrEqual(2);
      writeFileSync(artifact('console-live.json'), `${JSON.stringify({ overviewUpdatedAfterMs: shownAfterMs, rereads: fromConsole }, null, 2)}\n`);
    } finally {
      seeded.server.app.server.off('request', onRequest);
    }
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('opens a deep link after the token screen, and the back button returns to the previous view', async () => {
    const { workers } = await seeded.server.ok('{ workers(first: 1) { edges { node { id } } } }');
    const workerId: string = workers.edges[0].node.id;
    const { context, page, errors } = await openConsole(`/workers/${encodeURIComponent(workerId)}`);
    await signIn(page, ADMIN_SECRET);
    const heading = page.getByRole('heading', { level: 1, name: /^Worker / });
    await heading.waitFor({ timeout: 10_000 });
    const title = await heading.innerText();
    expect(await page.getByRole('navigation', { name: 'Panels' }).getByRole('link', { name: 'Workers' }).getAttribute('aria-current')).toBe('page');
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
    expect(decodeURIComponent(new URL(page.url()).pathname)).toBe(`/workers/${workerId}`);
    // Loaded again at a deep link in the same tab: the token is remembered for the tab.
    await page.goto(`${seeded.base}/runs/run-7`);
    await page.getByRole('heading', { name: 'Run run-7', level: 1 }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('alert').innerText()).toMatch(/^id: "run-7" is not a valid Run ID/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("a bad token stays on the token screen with the server's message; a token revoked while open returns there with its message", async () => {
    const { context, page } = await openConsole();
    await signIn(page, 'uet_not-a-token-0123456789');
    await expect.poll(() => page.getByRole('alert').innerText(), { timeout: 10_000 }).toMatch(/^unknown token: check that it was copied whole/);
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 0]);

    const { createApiToken } = await seeded.server.ok('mutation { createApiToken(input: { name: "console-reader", scopes: [READ] }) { token apiToken { id } } }');
    await page.getByLabel('Remember me on this browser').check();
    await signIn(page, createApiToken.token);
    await page.getByText('console-reader (READ)').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 1]);
    await shownCounts(page, 'Runs by state');
    await seeded.server.ok('mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { id } } }', { id: createApiToken.apiToken.id });
    await expect.poll(() => page.getByRole('alert').innerText(), { timeout: 5_000 }).toMatch(/^token revoked/);
    expect(await page.getByLabel('API token').isVisible()).toBe(true);
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length])).toEqual([0, 0]);
    await context.close();
  }, 60_000);

  it('loads its files compressed and cacheable: a second visit asks only for the page', async () => {
    const requested: string[] = [];
    const onRequest = (req: IncomingMessage) => req.method === 'GET' && requested.push(req.url ?? '');
    seeded.server.app.server.on('request', onRequest);
    const { context, page, errors } = await openConsole();
    try {
      await page.getByLabel('API token').waitFor();
      const assets = requested.filter((url) => url.startsWith('/assets/'));
      expect(assets.length).toBeGreaterThanOrEqual(2);
      requested.length = 0;
      await page.goto(`${seeded.base}/`);
      await page.getByLabel('API token').waitFor();
      expect(requested).toEqual(['/']);
    } finally {
      seeded.server.app.server.off('request', onRequest);
    }
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});

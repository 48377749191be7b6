/**
 * What every console browser test shares: Debian's Chromium (skipped without
 * it outside CI), the console built only when its sources changed since the
 * last build (scripts/build.js decides, as `npm start` does), a real gateway
 * on the seeded demo database, and signing in through the token screen.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import axe from 'axe-core';
import { runCli } from '../helpers/cli.js';
import { ADMIN_SECRET, startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`CI needs Chromium at ${CHROMIUM} (.ci/run installs the chromium package)`);
  console.warn(`skipping the console browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}
export const ROOT = new URL('../../', import.meta.url).pathname;
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
// Flags for a closed network: without them Chromium keeps trying Google's hosts.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1280, height: 800 };

/** Builds the console when its sources are newer than its build (a no-op otherwise). */
export function buildConsoleIfStale(): void {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--if-stale', 'console'], { encoding: 'utf8', timeout: 120_000 });
  if (build.status !== 0) throw new Error(`building the console failed:\n${build.stderr}`);
}

/** The gateway's base URL (the test server's url is its GraphQL endpoint). */
export const baseOf = (server: TestServer) => server.url.replace(/\/graphql$/, '');

/** The path of a file in test-artifacts/ (created on first use). */
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return new URL(name, ARTIFACTS).pathname;
}

export interface ConsolePage {
  context: BrowserContext;
  page: Page;
  /** Script errors and failed requests seen so far: a test expects none. */
  errors: string[];
}

export interface SeededConsole {
  server: TestServer;
  base: string;
  /** A page at `path` in a fresh browser profile (no token yet). */
  open(path?: string): Promise<ConsolePage>;
  stop(): Promise<void>;
}

/** Builds the console if stale, starts a gateway on a database seeded with the demo (the real CLI), and launches Chromium. */
export async function startSeededConsole(options: TestServerOptions = {}): Promise<SeededConsole> {
  buildConsoleIfStale();
  const server = await startTestServer({ limits: { mutationsPerMinute: 0 }, ...options });
  let browser: Browser | undefined;
  try {
    const seeded = await runCli(['seed', '--demo'], { DATABASE_URL: `sqlite:${server.sqlitePath}` });
    expect(seeded.code, seeded.stderr).toBe(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (error) {
    await server.stop();
    throw error;
  }
  const base = baseOf(server);
  const launched = browser;
  return {
    server,
    base,
    async open(path = '/') {
      const context = await launched.newContext({ viewport: VIEWPORT });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      // A request cut short by leaving the page (ERR_ABORTED) is not a failure.
      page.on('requestfailed', (request) => request.failure()?.errorText !== 'net::ERR_ABORTED' && errors.push(`${request.url()} ${request.failure()?.errorText}`));
      await page.goto(`${base}${path}`);
      return { context, page, errors };
    },
    async stop() {
      await launched.close();
      await server.stop();
    },
  };
}

/**
 * For a describe block: a seeded console started before its tests and stopped
 * after them. Its members are read when a test runs, once it has started.
 */
export function seededConsoleForSuite(options: TestServerOptions = {}): SeededConsole {
  let seeded: SeededConsole | undefined;
  beforeAll(async () => {
    seeded = await startSeededConsole(options);
  }, 120_000);
  afterAll(() => seeded?.stop());
  const started = (): SeededConsole => {
    if (!seeded) throw new Error('the seeded console has not started (read it inside a test, not while the suite is defined)');
    return seeded;
  };
  return {
    get server() {
      return started().server;
    },
    get base() {
      return started().base;
    },
    open: (path) => started().open(path),
    stop: () => started().stop(),
  };
}

/** Signs in on the token screen (ADMIN by default). */
export async function signIn(page: Page, token = ADMIN_SECRET): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Open the console' }).click();
}

/** The WebSocket upgrades the gateway takes from now on, so a test can cut one server-side (`destroy()`) and see the reconnect. */
export function watchUpgrades(server: TestServer): { sockets: Duplex[]; stop(): void } {
  const sockets: Duplex[] = [];
  const onUpgrade = (_req: unknown, socket: Duplex) => sockets.push(socket);
  server.app.server.on('upgrade', onUpgrade);
  return { sockets, stop: () => server.app.server.off('upgrade', onUpgrade) };
}

/**
 * axe-core's checks on the page as it stands: no serious or critical violation. Injected through the DevTools
 * protocol (page.evaluate), which the console's Content-Security-Policy does not govern, so the policy stays on.
 */
export async function expectAccessible(page: Page): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const { violations } = await (window as unknown as { axe: typeof axe }).axe.run(document);
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  });
  expect(violations).toEqual([]);
}

/**
 * Writes (`write(n)`, every 20 ms) while the page's one socket is cut and the
 * console reconnects, and for half a second after, so that output written
 * while the socket was down must reach the page through the resume. Cuts
 * once more than `shownBeforeCut` items are shown; returns how many writes
 * there were in all and after the cut.
 */
export async function writeAcrossReconnect(
  sockets: Duplex[],
  shown: () => Promise<number>,
  shownBeforeCut: number,
  write: (n: number) => Promise<unknown>,
): Promise<{ written: number; afterCut: number }> {
  let writing = true;
  let written = 0;
  const writer = (async () => {
    while (writing) {
      await write(written++);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await expect.poll(shown, { timeout: 5_000 }).toBeGreaterThan(shownBeforeCut);
  sockets[0]!.destroy();
  const cutAt = written;
  await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2);
  await new Promise((resolve) => setTimeout(resolve, 500));
  writing = false;
  await writer;
  return { written, afterCut: written - cutAt };
}

/**
 * Console load (issue 19): what a first visit to the console downloads, and
 * how soon the Overview shows its figures on the seeded demo database.
 *
 *   bundle     the gzipped size of every script in dist/console/assets (the
 *              console is built first when its sources changed; scripts/build.js).
 *   paint      Debian's Chromium (playwright-core), a fresh profile per round
 *              (cold cache) with the token already in sessionStorage: from
 *              navigation start to the Overview's "Runs by state" table in the
 *              DOM (its first meaningful paint: the figures, not the frame),
 *              read in the page by a MutationObserver. Then the same visit with
 *              the cache warm (a second page in the same profile).
 *   baseline   GraphiQL at /graphql, cold, in the same rounds: navigation start
 *              to its run button in the DOM. It is the page the gateway
 *              served before the console, drawn by a much larger bundle.
 * The gateway is bench/servers/gateway.ts (its own process, on the server core)
 * on a SQLite file filled by `uet-gateway seed --demo`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import type { Benchmark } from '../lib/benchmark.js';
import { startServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As in tests/browser: without them Chromium keeps trying Google's hosts on a closed network.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BUNDLE_GOAL_KB = 250;
/** The console's sessionStorage key for the token (console/src/session/token-store.ts). */
const TOKEN_KEY = 'uet-console:token';

function node(args: string[], env: Record<string, string> = {}): void {
  const done = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  if (done.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${done.stderr}`);
}

function bundleGzipKb(): number {
  const assets = join(ROOT, 'dist', 'console', 'assets');
  const bytes = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + gzipSync(readFileSync(join(assets, name))).length, 0);
  return bytes / 1024;
}

/**
 * Milliseconds from navigation start until `selector` is in the DOM, measured in the page: the observer is
 * installed before any of the page's scripts run.
 */
async function timeTo(browser: Browser, url: string, selector: string, pages = 1): Promise<number[]> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    // A string, not a function: tsx would wrap a named function in a helper the page does not have.
    await context.addInitScript({
      content: `sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, ${JSON.stringify(BENCH_ADMIN_TOKEN)});
        new MutationObserver(() => document.querySelector(${JSON.stringify(selector)}) && (window.shownAt ??= performance.now()))
          .observe(document, { childList: true, subtree: true });`,
    });
    const times: number[] = [];
    for (let i = 0; i < pages; i++) {
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { shownAt?: number }).shownAt !== undefined, undefined, { timeout: 30_000 });
      times.push(await page.evaluate(() => (window as unknown as { shownAt: number }).shownAt));
      await page.close();
    }
    return times;
  } finally {
    await context.close();
  }
}

const bench: Benchmark = {
  name: 'console',
  title: 'Console: bundle size and first meaningful paint of the Overview',
  async run({ rounds, dir, log }): Promise<BenchmarkReport> {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`the console benchmark needs Chromium at ${CHROMIUM}`);
      return { name: 'console', title: this.title, rounds: 0, figures: [], goals: [], notes: [`skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`] };
    }
    node([join(ROOT, 'scripts/build.js'), '--if-stale', 'console']);
    const bundleKb = bundleGzipKb();
    const db = join(dir, 'console.sqlite');
    const server = await startServerProcess('gateway.ts', { BENCH_DB: db });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    try {
      // The gateway has migrated the file; seed writes the demo through the engine beside it.
      node([join(ROOT, 'bin/uet-gateway.js'), 'seed', '--demo'], { DATABASE_URL: `sqlite:${db}` });
      const base = String(server.info.url).replace(/\/graphql$/, '');
      const overview = `${base}/`;
      const figuresShown = 'table caption';
      // One unmeasured visit of each: the gateway's first answers (module loading, prepared statements) are not the console's.
      await timeTo(browser, overview, figuresShown);
      await timeTo(browser, `${base}/graphql`, '.graphiql-execute-button');
      const cold: number[] = [];
      const warm: number[] = [];
      const graphiql: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const [first, second] = await timeTo(browser, overview, figuresShown, 2);
        cold.push(first!);
        warm.push(second!);
        graphiql.push((await timeTo(browser, `${base}/graphql`, '.graphiql-execute-button'))[0]!);
        log(`round ${round + 1}: Overview cold ${Math.round(first!)} ms, warm ${Math.round(second!)} ms; GraphiQL ${Math.round(graphiql.at(-1)!)} ms`);
      }
      const baseline = { name: 'GraphiQL cold', values: graphiql };
      return {
        name: 'console',
        title: this.title,
        rounds,
        figures: [
          figure('console scripts, gzipped', 'KB', [bundleKb]),
          figure('Overview figures shown, cold cache', 'ms', cold, baseline),
          figure('Overview figures shown, warm cache', 'ms', warm, baseline),
          figure('GraphiQL cold', 'ms', graphiql),
        ],
        goals: [{ text: `console scripts under ${BUNDLE_GOAL_KB} KB gzipped`, met: bundleKb < BUNDLE_GOAL_KB, measured: `${bundleKb.toFixed(1)} KB` }],
        notes: [
          `Overview median ${Math.round(spread(cold).median)} ms cold: navigation start to its first figures table in the DOM, on the seeded demo (Chromium headless, 1280x800, one gateway process on SQLite).`,
        ],
      };
    } finally {
      await browser.close();
      await server.stop();
    }
  },
};

export default bench;

/**
 * The console's Workers panel under a fleet (issue 19): 1,000 live workers,
 * each heartbeating once a second, and the panel open in Chromium for 20 s.
 *
 *   npx tsx bench/console-workers.ts            (BENCH_SECONDS, BENCH_WORKERS to change the load)
 *
 * Standalone (not a bench/run.ts suite: it needs Chromium and the console's
 * build). The gateway runs in its own process (bench/servers/gateway.ts,
 * pinned to the server core when the machine allows), the load from this one
 * over 4 graphql-ws sockets of the admin token (the bench server lifts the
 * per-token caps): every worker beats once per second tick, spread evenly
 * over the second, with progress = the tick's number (mod 100). Measured in
 * the page:
 * - frames: requestAnimationFrame gaps; a gap over 50 ms is a janky frame,
 *   and frames dropped = the 60 Hz frames those gaps skipped;
 * - main-thread busy share: CDP Performance.getMetrics TaskDuration over the
 *   window, and PerformanceObserver 'longtask' (over 50 ms) total;
 * - display lag: a MutationObserver on the table stamps when a row's
 *   progress cell shows a tick's number; lag = that instant - the instant
 *   this process sent that worker's heartbeat of that tick (one clock);
 * - WebSocket frames the page received per second: the page subscribes to
 *   the heartbeats of its 20 rows only (workerHeartbeats(workerIds:)).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describeMachine } from './lib/machine.js';
import { loadGeneratorMeter, startServerProcess } from './lib/processes.js';
import { percentile, round } from './lib/stats.js';
import { closeAll, connectMany, type WsConnection } from './lib/ws-client.js';
import { BENCH_ADMIN_TOKEN } from './servers/token.js';

const WORKERS = Number(process.env.BENCH_WORKERS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SOCKETS = 4;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = new URL('../', import.meta.url).pathname;
const REGISTER = 'mutation { registerWorker(input: { type: EXECUTOR, tools: ["ruff"], config: { timeoutSeconds: 600 } }) { worker { id } } }';
const HEARTBEAT = 'mutation($id: ID!, $p: Float) { heartbeat(input: { workerId: $id, progress: $p }) { worker { id } } }';

const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--if-stale', 'console'], { encoding: 'utf8' });
if (build.status !== 0) throw new Error(`building the console failed:\n${build.stderr}`);

const dir = mkdtempSync(join(tmpdir(), 'uet-bench-console-workers-'));
const gateway = await startServerProcess('gateway.ts', { BENCH_DB: join(dir, 'gateway.sqlite') });
// A failure must not leave the gateway process behind.
process.once('uncaughtException', (error) => {
  console.error(error);
  void gateway.stop().finally(() => process.exit(1));
});
const url = gateway.info.url as string;
const sockets = await connectMany(url.replace(/^http/, 'ws'), SOCKETS, { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` });

function register(connection: WsConnection): Promise<string> {
  return new Promise((resolve, reject) => {
    connection.subscribe(REGISTER, undefined, {
      next: (payload) => (payload.errors ? reject(new Error(payload.errors[0]!.message)) : resolve(payload.data.registerWorker.worker.id)),
      error: (errors) => reject(new Error(errors[0]?.message)),
    });
  });
}
console.error(`registering ${WORKERS} workers`);
const ids: string[] = [];
for (let i = 0; i < WORKERS; i += SOCKETS) ids.push(...(await Promise.all(sockets.map(register))));
ids.length = WORKERS;

/** sent.get(`${workerId}:${tick}`): when that heartbeat left this process (Date.now()). */
const sent = new Map<string, number>();
let failures = 0;
let stopBeating = false;
const load = loadGeneratorMeter();
const gatewayCpu = gateway.cpuSeconds();
const began = Date.now();
// Each second every worker beats once, worker i at i/WORKERS of the second.
const beating = (async () => {
  for (let tick = 0; !stopBeating; tick++) {
    const second = began + tick * 1000;
    for (let i = 0; i < WORKERS && !stopBeating; i++) {
      const due = second + (i * 1000) / WORKERS;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const id = ids[i]!;
      sent.set(`${id}:${tick % 100}`, Date.now());
      void sockets[i % SOCKETS]!.once(HEARTBEAT, { id, p: tick % 100 }).then((failure) => failure && failures++);
    }
  }
})();

console.error('beating; opening the panel');
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
let framesReceived = 0;
page.on('websocket', (ws) => ws.on('framereceived', () => framesReceived++));
// When each heartbeat reaches the page, to split the lag into the gateway and wire's part and the console's.
await page.addInitScript(`{
  const arrived = (window.arrived = []);
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const beat = JSON.parse(event.data).payload?.data?.workerHeartbeats;
        if (beat) arrived.push([beat.worker.id, Math.round(beat.progress) + ' %', Date.now()]);
      });
    }
  };
}`);
await page.goto(url.replace(/\/graphql$/, '/workers'));
await page.getByLabel('API token').fill(BENCH_ADMIN_TOKEN);
await page.getByRole('button', { name: 'Open the console' }).click();
await page.locator('table.workers tbody tr').first().waitFor({ timeout: 20_000 });
// Let the first heartbeats of the shown rows arrive before measuring.
await page.waitForTimeout(2000);

console.error(`measuring for ${SECONDS} s`);
const cdp = await context.newCDPSession(page);
await cdp.send('Performance.enable');
const taskSeconds = async () => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) as number;
// A string, not a function: tsx's transform would add helpers the page lacks.
await page.evaluate(`{
  const w = window;
  w.bench = { gaps: [], longTasks: 0, shown: [] };
  let last = performance.now();
  const frame = (t) => {
    w.bench.gaps.push(t - last);
    last = t;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) w.bench.longTasks += entry.duration;
  }).observe({ type: 'longtask' });
  const stamp = () => {
    const at = Date.now();
    for (const cell of document.querySelectorAll('tr[data-worker] td[data-field="progress"]')) {
      const row = cell.parentElement.getAttribute('data-worker');
      const text = cell.textContent ?? '';
      if (cell.dataset.seen !== text) {
        cell.dataset.seen = text;
        w.bench.shown.push([row, text, at]);
      }
    }
  };
  stamp();
  new MutationObserver(stamp).observe(document.querySelector('table.workers tbody'), { subtree: true, characterData: true, childList: true });
}`);
const framesBefore = framesReceived;
const tasksBefore = await taskSeconds();
const windowStart = Date.now();
await page.waitForTimeout(SECONDS * 1000);
const windowMs = Date.now() - windowStart;
const busy = ((await taskSeconds()) - tasksBefore) / (windowMs / 1000);
const framesInWindow = framesReceived - framesBefore;
type Stamp = [string, string, number];
const { gaps, longTasks, shown, arrived } = await page.evaluate(() => {
  const w = window as unknown as { bench: { gaps: number[]; longTasks: number; shown: Stamp[] }; arrived: Stamp[] };
  return { ...w.bench, arrived: w.arrived };
});
stopBeating = true;
await beating;
const loadShare = load();
const gatewayShare = (gateway.cpuSeconds() - gatewayCpu) / ((Date.now() - began) / 1000);

/** Each stamp's delay after this process sent that worker's heartbeat of that tick. */
const lagsOf = (stamps: readonly Stamp[]) =>
  stamps.flatMap(([id, text, at]) => {
    const tick = /^(\d+) %$/.exec(text)?.[1];
    const sentAt = tick === undefined ? undefined : sent.get(`${id}:${tick}`);
    return sentAt === undefined || at < windowStart ? [] : [at - sentAt];
  });
const lags = lagsOf(shown);
const wire = lagsOf(arrived);
const spreadOf = (values: number[]) => `${round(percentile(values, 50), 0)} / ${round(percentile(values, 95), 0)} / ${round(percentile(values, 99), 0)} / ${round(Math.max(...values), 0)} ms`;
const janky = gaps.filter((gap) => gap > 50);
const dropped = gaps.reduce((sum, gap) => sum + Math.max(0, Math.round(gap / (1000 / 60)) - 1), 0);

const machine = describeMachine();
console.log(`# console Workers panel, ${WORKERS} workers x 1 heartbeat/s, ${SECONDS} s window, ${new Date().toISOString()}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage.join(' ')}`);
console.log('| figure | value |\n| --- | --- |');
const rows: [string, string | number][] = [
  ['heartbeats sent / s (failed)', `${round(sent.size / ((Date.now() - began) / 1000), 0)} (${failures})`],
  ['frames (rAF callbacks) in the window', gaps.length],
  ['frames over 50 ms apart (janky)', `${janky.length} (longest ${round(Math.max(0, ...gaps), 1)} ms)`],
  ['60 Hz frames dropped', `${dropped} of ${Math.round(windowMs / (1000 / 60))}`],
  ['main-thread busy share (CDP TaskDuration)', `${round(busy * 100, 1)} %`],
  ['long tasks (> 50 ms), total', `${round(longTasks, 0)} ms (${round((longTasks / windowMs) * 100, 1)} %)`],
  ['WebSocket frames received by the page / s', round(framesInWindow / (windowMs / 1000), 1)],
  ['heartbeat display lag: samples', lags.length],
  ['heartbeat display lag (sent to shown) p50 / p95 / p99 / max', spreadOf(lags)],
  ['of which sent to received by the page (gateway and wire) p50 / p95 / p99 / max', spreadOf(wire)],
  ['gateway CPU (share of a core)', round(gatewayShare, 2)],
  ['load generator CPU (share of a core)', round(loadShare, 2)],
];
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);

await context.close();
await browser.close();
await closeAll(sockets);
await gateway.stop();
rmSync(dir, { recursive: true, force: true });

import { expect } from 'vitest';
import { ADMIN_SECRET, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';

/** The worst latency another client may see while an attack runs (issue: "under 500 ms"). */
export const BYSTANDER_WORST_MS = 500;

export interface BystanderReport {
  /** Worst latency of one /healthz or light query round trip, in ms. */
  worstMs: number;
  /** Round trips completed. */
  samples: number;
  /** How long the attack took, in ms. */
  attackMs: number;
}

/**
 * Runs `attack` while a second client pings /healthz and runs a light query
 * (`{ runs(first: 1) { totalCount } }`) back to back, and reports the
 * attack's duration and the bystander's worst latency. A request still open
 * when the attack ends counts with its full time.
 */
export async function underAttack<T>(server: TestServer, attack: () => Promise<T>, token: string = ADMIN_SECRET): Promise<{ result: T } & BystanderReport> {
  const base = new URL(server.url).origin;
  let worstMs = 0;
  let samples = 0;
  let attacking = true;
  const timed = async (request: () => Promise<Response>) => {
    const started = performance.now();
    const res = await request();
    await res.arrayBuffer();
    worstMs = Math.max(worstMs, performance.now() - started);
    samples += 1;
    if (!res.ok) throw new Error(`bystander got HTTP ${res.status}`);
  };
  const loop = (async () => {
    while (attacking) {
      await timed(() => fetch(`${base}/healthz`));
      await timed(() =>
        fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ runs(first: 1) { totalCount } }' }),
        }),
      );
      await sleep(20);
    }
  })();
  const started = performance.now();
  let result: T;
  let attackMs: number;
  try {
    result = await attack();
    attackMs = performance.now() - started;
  } finally {
    attacking = false;
    // The report is read after the loop ends, so that a bystander request the attack held up counts.
    await loop;
  }
  return { result, worstMs, samples, attackMs };
}

/** Asserts the bystander was served throughout and never waited past BYSTANDER_WORST_MS; logs the figures for SECURITY.md. */
export function expectBystanderServed(name: string, report: BystanderReport): void {
  console.info(`[security] ${name}: attack ${report.attackMs.toFixed(0)} ms, bystander worst ${report.worstMs.toFixed(0)} ms over ${report.samples} round trips`);
  expect(report.samples).toBeGreaterThan(0);
  expect(report.worstMs).toBeLessThan(BYSTANDER_WORST_MS);
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, killChildGateways, startChildGateway, type ChildGateway } from './child-gateway.js';
import { FULL, size } from './mode.js';

/**
 * Soak: S subscribers (each watching one worker's heartbeats) and W workers
 * heartbeating every second over graphql-ws, against a child-process gateway,
 * for D seconds (full: 1,000 x 500 for 10 minutes; short: 100 x 50 for 20 s).
 * The gateway's own /metrics are sampled: resident memory, active handles and
 * timers, event-bus listeners and open subscriptions must not grow after the
 * warm-up; no request may fail and the gateway may log no error.
 */
const SUBSCRIBERS = size(100, 1_000);
const WORKERS = size(50, 500);
const SECONDS = size(20, 600);
const WARMUP_SECONDS = size(5, 60);
const BEAT_MS = 1_000;

const dir = mkdtempSync(join(tmpdir(), 'uet-soak-'));
afterAll(async () => {
  await killChildGateways();
  rmSync(dir, { recursive: true, force: true });
});

interface Sample {
  at: number;
  rss: number;
  handles: number;
  resources: number;
  listeners: number;
  subscriptions: number;
}

async function sample(gateway: ChildGateway): Promise<Sample> {
  const text = await (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();
  const gauge = (name: string) => {
    const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no ${name}`);
    return Number(match[1]);
  };
  return {
    at: Date.now(),
    rss: gauge('process_resident_memory_bytes'),
    handles: gauge('nodejs_active_handles_total'),
    resources: gauge('nodejs_active_resources_total'),
    listeners: gauge('uet_event_bus_listeners'),
    subscriptions: gauge('uet_open_subscriptions'),
  };
}

const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? NaN;
};

function run<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    let result: any;
    client.subscribe(
      { query, variables },
      {
        next: (value) => (result = value),
        error: reject,
        complete: () => (result?.errors ? reject(new Error(JSON.stringify(result.errors))) : resolve(result.data)),
      },
    );
  });
}

describe('soak', () => {
  it(
    `${SUBSCRIBERS} subscribers and ${WORKERS} heartbeating workers for ${SECONDS} s: no error, no growth after warm-up`,
    async () => {
      // One token for every socket and subscription (the long run: 550 sockets, 1,000 subscriptions): no per-token caps.
      const gateway = await startChildGateway(join(dir, 'soak.sqlite'), {
        UET_WS_MAX_SUBSCRIPTIONS: '0',
        UET_WS_MAX_CONNECTIONS_PER_TOKEN: '0',
        UET_MAX_SUBSCRIPTIONS_PER_TOKEN: '0',
      });
      const connect = () => createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: `Bearer ${ADMIN_SECRET}` } });
      const failures: string[] = [];

      // Workers: one socket each, as workers run.
      const workers = await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          const client = connect();
          const data = await run(client, 'mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 120 } }) { worker { id } } }');
          return { client, id: data.registerWorker.worker.id as string };
        }),
      );

      // Subscribers: ten per socket, each watching one worker.
      const delivered = new Array<number>(SUBSCRIBERS).fill(0);
      const subscriberSockets: Client[] = [];
      for (let i = 0; i < SUBSCRIBERS; i++) {
        if (i % 10 === 0) subscriberSockets.push(connect());
        subscriberSockets.at(-1)!.subscribe(
          { query: 'subscription($id: ID!) { workerHeartbeats(workerId: $id) { worker { id } at progress } }', variables: { id: workers[i % WORKERS]!.id } },
          {
            next: (value) => {
              if (value.errors) failures.push(`subscriber ${i}: ${JSON.stringify(value.errors)}`);
              else delivered[i]! += 1;
            },
            error: (error) => failures.push(`subscriber ${i}: ${String(error)}`),
            complete: () => failures.push(`subscriber ${i} completed early`),
          },
        );
      }

      const latencies: { at: number; ms: number }[] = [];
      const samples: Sample[] = [];
      const started = Date.now();
      const deadline = started + SECONDS * 1000;
      const beat = async (worker: { client: Client; id: string }, n: number) => {
        const sent = performance.now();
        try {
          await run(worker.client, 'mutation($id: ID!, $p: Float) { heartbeat(input: { workerId: $id, progress: $p }) { worker { id } } }', {
            id: worker.id,
            p: n % 100,
          });
          latencies.push({ at: Date.now(), ms: performance.now() - sent });
        } catch (error) {
          failures.push(`heartbeat: ${String(error)}`);
        }
      };
      const beating = workers.map(async (worker, w) => {
        // Spread the workers over the beat interval.
        await new Promise((resolve) => setTimeout(resolve, (w / WORKERS) * BEAT_MS));
        for (let n = 0; Date.now() < deadline; n++) {
          const next = Date.now() + BEAT_MS;
          await beat(worker, n);
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
        }
      });
      const sampling = (async () => {
        while (Date.now() < deadline) {
          samples.push(await sample(gateway));
          await new Promise((resolve) => setTimeout(resolve, size(1_000, 10_000)));
        }
      })();
      await Promise.all([...beating, sampling]);
      samples.push(await sample(gateway));

      const warm = samples.filter((s) => s.at >= started + WARMUP_SECONDS * 1000);
      const first = warm[0]!;
      const last = warm.at(-1)!;
      const window = Math.max(1, (SECONDS - WARMUP_SECONDS) / 5) * 1000;
      const early = latencies.filter((l) => l.at >= started + WARMUP_SECONDS * 1000 && l.at < started + WARMUP_SECONDS * 1000 + window).map((l) => l.ms);
      const late = latencies.filter((l) => l.at >= deadline - window).map((l) => l.ms);
      const rssGrowth = last.rss / first.rss - 1;
      console.log(
        `soak: ${SUBSCRIBERS} subscribers, ${WORKERS} workers, ${SECONDS} s (warm-up ${WARMUP_SECONDS} s): ` +
          `${latencies.length} heartbeats, ${delivered.reduce((a, b) => a + b, 0)} deliveries, ${failures.length} failures; ` +
          `RSS ${(first.rss / 2 ** 20).toFixed(1)} -> ${(last.rss / 2 ** 20).toFixed(1)} MiB (${(rssGrowth * 100).toFixed(1)} %); ` +
          `handles ${first.handles} -> ${last.handles}, resources ${first.resources} -> ${last.resources}, ` +
          `bus listeners ${first.listeners} -> ${last.listeners}, subscriptions ${first.subscriptions} -> ${last.subscriptions}; ` +
          `heartbeat p99 ${p99(early).toFixed(1)} ms after warm-up, ${p99(late).toFixed(1)} ms at the end`,
      );

      expect(failures.slice(0, 5)).toEqual([]);
      expect(gateway.errorLines).toEqual([]);
      // Every subscriber kept receiving its worker's beats.
      expect(Math.min(...delivered)).toBeGreaterThan((SECONDS - WARMUP_SECONDS) * 0.5);
      expect(last.subscriptions).toBe(first.subscriptions);
      expect(last.listeners).toBe(first.listeners);
      // Sockets and timers come and go with requests; a leak grows without bound.
      expect(last.handles).toBeLessThanOrEqual(first.handles + 10);
      expect(last.resources).toBeLessThanOrEqual(first.resources + 20);
      if (FULL) expect(rssGrowth).toBeLessThan(0.1);

      await Promise.all([...workers.map((w) => w.client.dispose()), ...subscriberSockets.map((c) => c.dispose())]);
      gateway.signal('SIGTERM');
      expect((await gateway.exited).code).toBe(0);
    },
    (SECONDS + 180) * 1000,
  );
});

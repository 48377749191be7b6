import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, killChildGateways, startChildGateway, type ChildGateway } from './child-gateway.js';
import { FULL, size } from './mode.js';

/**
 * Slow subscribers (issue 10): a graphql-ws client that stops reading while
 * events keep coming is disconnected; the server's memory stays bounded and
 * the other subscribers keep their latency and get every event in order.
 *
 * A child-process gateway (its RSS read from /metrics), writers appending
 * NOTE events of NOTE_BYTES each to a hot run as fast as they are answered
 * (and 1 KiB ones to a second run), healthy graphql-ws subscribers on both
 * runs, and, every CYCLE_MS while the load runs, a pair of clients speaking
 * graphql-ws by hand over a raw `ws` socket that subscribe and stop reading
 * (ws.pause(): the kernel's buffers fill, then the server's):
 *
 * - one on the shared live stream of the hot run (the healthy subscribers'
 *   very operation, so one execution for all: shared-subscriptions.ts). Its
 *   socket is closed with 4008 SLOW_CONSUMER once more than
 *   SLOW_CONSUMER_BYTES (2 MiB) are unsent on it.
 * - one replaying the hot run with `after` (never shared). graphql-ws waits
 *   for each message to reach the kernel before it takes the next, so its
 *   socket never holds more than one message: the events wait in the event
 *   feed (at most 10,000, then SLOW_CONSUMER), and the socket is ended by
 *   the keep-alive (no pong within UET_WS_KEEPALIVE_MS, KEEPALIVE_MS here).
 *
 * Each stalled client reads again RESUME_MS after it stopped: everything the
 * server had sent it, then the end of its socket.
 */
const BASELINE_MS = size(3_000, 20_000);
const STALLED_MS = size(14_000, 120_000);
const CYCLE_MS = 10_000;
/** The shared client trips SLOW_CONSUMER 3-4.5 s after it stops reading (seen): the keep-alive ends it only at 12 s. */
const KEEPALIVE_MS = 6_000;
/** Past the keep-alive's ping and pong wait (2 x KEEPALIVE_MS): both are ended by then. */
const RESUME_MS = 2 * KEEPALIVE_MS + 2_000;
const NOTE_BYTES = 32 * 1024;
const HOT_WRITERS = 2;
const HOT_SUBSCRIBERS = size(3, 6);
const OTHER_SUBSCRIBERS = size(2, 4);
/** What a stalled socket may have been sent before the server ends it: 2 MiB plus the kernel's buffers on loopback (about 4 MiB seen). */
const MAX_SENT_TO_STALLED = 16 * 2 ** 20;
/**
 * Server RSS peak above its level after the baseline phase (the same load without stalled clients). Measured
 * without any stalled client: +150 MiB after the 3 s short baseline (the heap still growing to its working size),
 * and swings of 50-60 MiB with each GC after the 20 s full one; with them, +140 to +200 (short) and +170 to +190 MiB
 * (full, 11 pairs): each stalled replaying client holds the live events of its keep-alive window (RELIABILITY.md).
 * Eleven stalled pairs whose memory was never released (about 50 MiB each) would pass it in the full run.
 */
const MAX_RSS_GROWTH = 320 * 2 ** 20;
/** p99 delivery latency while clients are stalled: within this factor of the baseline's, or under the floor; never above the cap. */
const LATENCY_FACTOR = 4;
const LATENCY_FLOOR_MS = 150;
const LATENCY_CAP_MS = 500;

const dir = mkdtempSync(join(tmpdir(), 'uet-slow-'));
afterAll(async () => {
  await killChildGateways();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? NaN;
};
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

async function metrics(gateway: ChildGateway): Promise<{ rss: number; connections: number; subscriptions: number }> {
  const text = await (await fetch(gateway.url.replace(/\/graphql$/, '/metrics'))).text();
  const gauge = (name: string) => {
    const match = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no ${name}`);
    return Number(match[1]);
  };
  return { rss: gauge('process_resident_memory_bytes'), connections: gauge('uet_websocket_connections'), subscriptions: gauge('uet_open_subscriptions') };
}

async function gql<T = any>(gateway: ChildGateway, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_SECRET}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`${query.slice(0, 50)}: ${res.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}

const LIVE = 'subscription($runId: ID!) { runEvents(runId: $runId) { kind ts cursor payload } }';
const REPLAY = 'subscription($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after) { kind ts cursor payload } }';
const NOTE = 'mutation($input: AddRunNoteInput!) { addRunNote(input: $input) { event { cursor } } }';

/** A healthy subscriber: a graphql-ws client that reads everything; each NOTE's latency is receipt minus its `ts`. */
function healthy(client: Client, runId: string) {
  const notes: { w: number; seq: number }[] = [];
  const latencies: { at: number; ms: number }[] = [];
  const failures: string[] = [];
  client.subscribe(
    { query: LIVE, variables: { runId } },
    {
      next: (value: any) => {
        if (value.errors) return void failures.push(JSON.stringify(value.errors));
        const event = value.data.runEvents;
        if (event.kind !== 'NOTE') return;
        const now = Date.now();
        latencies.push({ at: now, ms: now - Date.parse(event.ts) });
        notes.push({ w: event.payload.w, seq: event.payload.seq });
      },
      error: (error) => failures.push(String(error instanceof Error ? error.message : JSON.stringify(error))),
      complete: () => failures.push('completed early'),
    },
  );
  return { notes, latencies, failures };
}

/** A client that speaks graphql-ws by hand over a raw socket, subscribes, then stops reading. */
async function stalled(gateway: ChildGateway, query: string, variables: Record<string, unknown>) {
  const ws = new WebSocket(gateway.wsUrl, 'graphql-transport-ws');
  const state = {
    /** Bytes of messages read, `next`s among them, and the `ts` of the last event. */
    bytes: 0,
    nexts: 0,
    lastTs: 0,
    errors: [] as unknown[],
    close: null as null | { code: number; reason: string; at: number },
  };
  const acked = new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      state.bytes += data.length;
      const message = JSON.parse(String(data)) as { type: string; payload?: any };
      if (message.type === 'connection_ack') resolve();
      else if (message.type === 'next') {
        state.nexts += 1;
        state.lastTs = Date.parse(message.payload?.data?.runEvents?.ts) || state.lastTs;
      } else if (message.type === 'error') state.errors.push(message.payload);
    });
    ws.on('close', (code, reason) => {
      state.close = { code, reason: String(reason), at: Date.now() };
      reject(new Error(`closed before ack: ${code}`));
    });
    ws.on('error', () => {});
  });
  acked.catch(() => {});
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_SECRET}` } }));
  await acked;
  ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
  // Stops reading: nothing more is taken from the kernel, whose buffers then fill, then the server's.
  // (ws answers pings by itself, but only those it reads.)
  ws.pause();
  return { ws, state, resumedAt: 0 };
}

describe('slow subscribers', () => {
  it(
    `clients that stop reading are disconnected; memory bounded; ${HOT_SUBSCRIBERS + OTHER_SUBSCRIBERS} others keep their latency`,
    async () => {
      const gateway = await startChildGateway(join(dir, 'slow.sqlite'), { UET_WS_KEEPALIVE_MS: String(KEEPALIVE_MS) });
      const newRun = 'mutation { createRun(input: { projectId: "slow", phaseId: "p" }) { run { id } } }';
      const hot = (await gql(gateway, newRun, {})).createRun.run.id as string;
      const other = (await gql(gateway, newRun, {})).createRun.run.id as string;
      const first = await gql(gateway, NOTE, { input: { runId: hot, message: 'start', payload: { w: -1, seq: -1 } } });
      // The replaying clients start from the newest note at the time: a replay, then live.
      let hotCursor = first.addRunNote.event.cursor as string;

      const clients: Client[] = [];
      const connect = () => {
        const client = createClient({
          url: gateway.wsUrl,
          webSocketImpl: WebSocket,
          lazy: false,
          retryAttempts: 0,
          onNonLazyError: () => {},
          connectionParams: { authorization: `Bearer ${ADMIN_SECRET}` },
        });
        clients.push(client);
        return client;
      };
      const hotSubs = Array.from({ length: HOT_SUBSCRIBERS }, () => healthy(connect(), hot));
      const otherSubs = Array.from({ length: OTHER_SUBSCRIBERS }, () => healthy(connect(), other));
      const healthyCount = HOT_SUBSCRIBERS + OTHER_SUBSCRIBERS;
      await until(async () => (await metrics(gateway)).subscriptions >= healthyCount, 'the healthy subscriptions', 10_000);

      // Writers: each appends its notes in sequence (so its seq order is commit order), as fast as answered.
      const written = new Map<number, number>();
      const writeFailures: string[] = [];
      let writing = true;
      const writer = async (w: number, runId: string, message: string) => {
        written.set(w, 0);
        while (writing) {
          const seq = written.get(w)!;
          try {
            const data = await gql(gateway, NOTE, { input: { runId, message, payload: { w, seq } } });
            written.set(w, seq + 1);
            if (runId === hot) hotCursor = data.addRunNote.event.cursor;
          } catch (error) {
            writeFailures.push(String(error));
            return;
          }
        }
      };
      const total = () => [...written.values()].reduce((a, b) => a + b, 0);
      const samples: { at: number; rss: number; connections: number; subscriptions: number }[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples.push({ at: Date.now(), ...(await metrics(gateway)) });
          await sleep(250);
        }
      })();
      const writers = [...Array.from({ length: HOT_WRITERS }, (_, w) => writer(w, hot, 'x'.repeat(NOTE_BYTES))), writer(HOT_WRITERS, other, 'y'.repeat(1024))];

      // Baseline: the same load, no slow client.
      const t0 = Date.now();
      await sleep(BASELINE_MS);
      const baselineEnd = Date.now();
      const warm = await metrics(gateway);
      const notesBefore = total();

      // Every CYCLE_MS, a pair of clients stops reading: one on the shared live stream, one replaying.
      type Stalled = Awaited<ReturnType<typeof stalled>> & { kind: 'shared' | 'replay'; at: number };
      const pairs: Stalled[][] = [];
      const stallStart = Date.now();
      const cycles: Promise<void>[] = [];
      while (Date.now() < stallStart + STALLED_MS - RESUME_MS + 1) {
        cycles.push(
          (async () => {
            const at = Date.now();
            const pair: Stalled[] = [
              { ...(await stalled(gateway, LIVE, { runId: hot })), kind: 'shared', at },
              { ...(await stalled(gateway, REPLAY, { runId: hot, after: hotCursor })), kind: 'replay', at },
            ];
            pairs.push(pair);
            await sleep(Math.max(0, at + RESUME_MS - Date.now()));
            for (const slow of pair) {
              slow.resumedAt = Date.now();
              slow.ws.resume();
            }
            await until(() => pair.every((slow) => slow.state.close !== null), 'the stalled sockets to end', 30_000).catch(() => {});
          })(),
        );
        await sleep(CYCLE_MS);
      }
      await Promise.all(cycles);
      const stallEnd = Date.now();
      const notesStalled = total() - notesBefore;
      writing = false;
      await Promise.all(writers);

      // Every healthy subscriber gets every acknowledged note of its run.
      const hotWriters = Array.from({ length: HOT_WRITERS }, (_, w) => w);
      const count = (ws: number[]) => ws.reduce((n, w) => n + written.get(w)!, 0);
      await until(
        () => hotSubs.every((s) => s.notes.length >= count(hotWriters)) && otherSubs.every((s) => s.notes.length >= count([HOT_WRITERS])),
        'the healthy subscribers to catch up',
        30_000,
      ).catch(() => {});
      sampling = false;
      await sampler;
      const after = await metrics(gateway);

      const peak = Math.max(...samples.filter((s) => s.at >= baselineEnd).map((s) => s.rss));
      const lat = (subs: ReturnType<typeof healthy>[], from: number, to: number) => subs.flatMap((s) => s.latencies.filter((l) => l.at >= from && l.at < to).map((l) => l.ms));
      // The first second of the baseline is warm-up.
      const baseP99 = p99(lat([...hotSubs, ...otherSubs], t0 + 1_000, baselineEnd));
      const stallP99 = p99(lat([...hotSubs, ...otherSubs], stallStart, stallEnd));
      const stallHotP99 = p99(lat(hotSubs, stallStart, stallEnd));
      const stallOtherP99 = p99(lat(otherSubs, stallStart, stallEnd));
      const all = pairs.flat();
      const of = (kind: Stalled['kind']) => all.filter((s) => s.kind === kind);
      const ends = (kind: Stalled['kind']) => [...new Set(of(kind).map((s) => (s.state.close ? `${s.state.close.code} ${s.state.close.reason}`.trim() : 'open')))].join(', ');
      // When the server stopped sending: the last event a stalled client got was appended then (within one event).
      const stoppedAfter = (kind: Stalled['kind']) => Math.max(...of(kind).map((s) => (s.state.lastTs - s.at) / 1000)).toFixed(1);
      const maxRead = (kind: Stalled['kind']) => Math.max(...of(kind).map((s) => s.state.bytes));
      console.log(
        `slow subscribers${FULL ? ' (full)' : ''}: ${notesBefore} notes in ${BASELINE_MS / 1000} s baseline, ${notesStalled} in ${(stallEnd - stallStart) / 1000} s with stalled clients ` +
          `(${mib(notesStalled * NOTE_BYTES)} MiB of ${NOTE_BYTES / 1024} KiB notes to the hot run); ` +
          `${pairs.length} stalled pairs: shared closed ${ends('shared')}, sent at most ${mib(maxRead('shared'))} MiB, last event <= ${stoppedAfter('shared')} s after stalling; ` +
          `replay closed ${ends('replay')}, sent at most ${mib(maxRead('replay'))} MiB, last event <= ${stoppedAfter('replay')} s after; ` +
          `RSS ${mib(warm.rss)} MiB warm, ${mib(peak)} peak (+${mib(peak - warm.rss)}), ${mib(after.rss)} after; ` +
          `connections ${after.connections}, subscriptions ${after.subscriptions}; ` +
          `p99 ${baseP99} ms baseline, ${stallP99} ms stalled (hot ${stallHotP99}, other ${stallOtherP99}); ` +
          `${healthyCount} healthy subscribers, ${writeFailures.length} write failures, ${gateway.errorLines.length} error lines`,
      );

      expect(writeFailures.slice(0, 3)).toEqual([]);
      expect(gateway.errorLines).toEqual([]);
      for (const sub of [...hotSubs, ...otherSubs]) expect(sub.failures.slice(0, 3)).toEqual([]);
      // In order, no gap, no duplicate: per writer exactly 0, 1, ..., written - 1.
      for (const [subs, ws] of [
        [hotSubs, hotWriters],
        [otherSubs, [HOT_WRITERS]],
      ] as const) {
        for (const sub of subs) {
          for (const w of ws) {
            const seqs = sub.notes.filter((n) => n.w === w).map((n) => n.seq);
            expect(seqs.length).toBe(written.get(w));
            expect(seqs.every((seq, i) => seq === i)).toBe(true);
          }
        }
      }
      // The server ended every stalled client: the shared one for SLOW_CONSUMER (before the keep-alive could), the replaying one by the keep-alive.
      for (const slow of of('shared')) expect(slow.state.close).toMatchObject({ code: 4008, reason: 'SLOW_CONSUMER' });
      for (const slow of of('replay')) expect(slow.state.close).toMatchObject({ code: 1006 });
      for (const slow of all) expect(slow.state.bytes).toBeLessThan(MAX_SENT_TO_STALLED);
      // Nothing held for them afterwards.
      expect(after.connections).toBe(healthyCount);
      expect(after.subscriptions).toBe(healthyCount);
      expect(peak - warm.rss).toBeLessThan(MAX_RSS_GROWTH);
      expect(stallP99).toBeLessThan(Math.max(LATENCY_FACTOR * baseP99, LATENCY_FLOOR_MS));
      expect(stallP99).toBeLessThan(LATENCY_CAP_MS);

      await Promise.all(clients.map((c) => c.dispose()));
      gateway.signal('SIGTERM');
      expect((await gateway.exited).code).toBe(0);
    },
    size(120_000, 400_000),
  );
});

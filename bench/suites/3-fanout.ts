/**
 * Fan-out (issue 9, benchmark 3): N graphql-ws subscribers (100 and 1,000;
 * quick: 50) of one stream, events published by mutations over HTTP, against
 *   trivial  stock graphql-ws on bare graphql-yoga with trivial resolvers
 *            (bench/servers/trivial-subscriptions.ts): a subscription of the
 *            same name and shape that yields an object of about the same size
 *            per published event, executed and serialized per subscriber;
 *   raw      a raw `ws` broadcast of one pre-serialized message per event
 *            (bench/servers/ws-broadcast.ts): the ceiling.
 * Streams: `workerHeartbeats(types: [EXECUTOR])` (published by `heartbeat`,
 * no SQL) and `runEvents(runId:)` (published by `addRunNote`: a committed
 * transaction, then the log tail read). Every subscriber of a stream sends the
 * same operation, as a fleet of dashboards showing the same view does.
 *
 * One graphql-ws connection per subscriber (a dashboard is a browser tab with
 * its own socket), N sockets in all, each with one subscription (id "1").
 * Per round, server, stream and N:
 *   probe       an event every 50 ms until every subscriber has received one
 *               (so all N are attached on the server; not measured)
 *   20/s        events on a fixed schedule for a few seconds; latency of each
 *               delivery from the moment its mutation was sent to the moment
 *               the subscriber's socket handed the message over
 *   saturation  E events published as fast as the server takes them (4
 *               mutations in flight); deliveries per second from the first
 *               send to the last delivery
 * Every delivery is checked: each subscriber must receive every event of a
 * phase exactly once (lost and duplicated deliveries are counted and
 * reported), in publish order in the 20/s phase (one publisher socket).
 * The clients run here (the load core) on raw `ws` sockets with the
 * graphql-transport-ws messages written by hand; a `next` message is not
 * parsed: its event number is read from the bytes. The client's CPU share is
 * reported: near 1.0 it, not the server, bounds the saturation figure.
 */
import { join } from 'node:path';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { Fleet, Phase, PROBE_END, publisher, RATE_BASE, SATURATION_BASE, seqMessage, settle, sleep, type StreamName, type SubscribeTarget } from '../lib/fanout.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport, type Figure } from '../lib/report.js';
import { round, spread } from '../lib/stats.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

interface Settings {
  sizes: number[];
  /** The fixed rate (events per second) and how long it runs. */
  rate: number;
  rateSeconds: number;
  /** Deliveries per saturation phase (events = this / N). */
  saturationDeliveries: number;
}

const SETTINGS: Record<BenchContext['mode'], Settings> = {
  quick: { sizes: [50], rate: 20, rateSeconds: 1, saturationDeliveries: 5_000 },
  full: { sizes: [100, 1000], rate: 20, rateSeconds: 5, saturationDeliveries: 50_000 },
};

const P99_GOAL_MS = 100;
const SATURATION_GOAL = 1.0;
const SATURATION_CONCURRENCY = 4;

type TargetName = 'gateway' | 'trivial' | 'raw';
const STREAMS: StreamName[] = ['workerHeartbeats', 'runEvents'];
const TARGETS: TargetName[] = ['raw', 'trivial', 'gateway'];

const AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
const REGISTER = 'mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 3600 } }) { worker { id } } }';
const CREATE_RUN = 'mutation { createRun(input: { projectId: "bench-fanout", phaseId: "fanout" }) { run { id } } }';

// ---------------------------------------------------------------- targets

interface Target extends SubscribeTarget {
  name: TargetName;
  /** The HTTP request that publishes event number `seq` on `stream`. */
  publish(stream: StreamName, seq: number): { url: string; headers: Record<string, string>; body: string };
  server: ServerProcess;
}

function gatewayTarget(server: ServerProcess, workerId: string, runId: string): Target {
  const url = server.info.url as string;
  const beat = 'mutation($id: ID!, $p: Float) { heartbeat(input: { workerId: $id, progress: $p }) { worker { id } } }';
  const note = 'mutation($runId: ID!, $m: String!) { addRunNote(input: { runId: $runId, message: $m }) { event { id } } }';
  return {
    name: 'gateway',
    wsUrl: url.replace(/^http/, 'ws'),
    connectionParams: AUTH,
    server,
    subscription: (stream) =>
      stream === 'workerHeartbeats'
        ? { query: 'subscription($types: [WorkerType!]) { workerHeartbeats(types: $types) { worker { id type state } at progress } }', variables: { types: ['EXECUTOR'] } }
        : { query: 'subscription($runId: ID) { runEvents(runId: $runId) { id kind ts cursor payload } }', variables: { runId } },
    publish: (stream, seq) => ({
      url,
      headers: AUTH,
      body:
        stream === 'workerHeartbeats'
          ? JSON.stringify({ query: beat, variables: { id: workerId, p: seq / 1000 } })
          : JSON.stringify({ query: note, variables: { runId, m: seqMessage(seq) } }),
    }),
  };
}

function trivialTarget(server: ServerProcess): Target {
  const url = server.info.url as string;
  return {
    name: 'trivial',
    wsUrl: url.replace(/^http/, 'ws'),
    connectionParams: {},
    server,
    subscription: (stream) =>
      stream === 'workerHeartbeats'
        ? { query: 'subscription($types: [String!]) { workerHeartbeats(types: $types) { worker { id type state } at progress } }', variables: { types: ['EXECUTOR'] } }
        : { query: 'subscription($runId: ID) { runEvents(runId: $runId) { id kind ts cursor payload } }', variables: { runId: 'UnVuOjE' } },
    publish: (stream, seq) => ({
      url,
      headers: {},
      body:
        stream === 'workerHeartbeats'
          ? JSON.stringify({ query: 'mutation($p: Float!) { beat(progress: $p) }', variables: { p: seq / 1000 } })
          : JSON.stringify({ query: 'mutation($m: String!) { note(message: $m) }', variables: { m: seqMessage(seq) } }),
    }),
  };
}

function rawTarget(server: ServerProcess): Target {
  return {
    name: 'raw',
    wsUrl: (server.info.url as string).replace(/^http/, 'ws'),
    connectionParams: {},
    server,
    subscription: (stream) => ({ query: `subscription { ${stream} }` }),
    publish: (stream, seq) => ({
      url: server.info.publishUrl as string,
      headers: {},
      body: JSON.stringify(stream === 'workerHeartbeats' ? { stream: 'beat', progress: seq / 1000 } : { stream: 'note', message: seqMessage(seq) }),
    }),
  };
}

interface Measured {
  p50: number;
  p99: number;
  max: number;
  rate: number;
  clientCpu: number;
  serverCpu: number;
  /** Server CPU time per delivery at saturation: what a delivery costs, whatever share of the core the server got. */
  serverUsPerDelivery: number;
  rateClientCpu: number;
  /** The server's CPU share over the fixed-rate phase (until its last delivery). */
  rateServerCpu: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  stray: number;
  messageBytes: number;
  problems: string[];
}

async function measure(target: Target, stream: StreamName, n: number, settings: Settings): Promise<Measured> {
  const fleet = new Fleet(n, stream);
  const problems: string[] = [];
  // A publisher per phase: a keep-alive socket idle past the server's keep-alive timeout (5 s) may be
  // closed just as it is reused ("socket hang up"), and an event that may or may not be published spoils the count.
  const pub = publisher(1);
  const saturator = publisher(SATURATION_CONCURRENCY);
  try {
    await fleet.open(target);
    // Probe until every subscriber is attached on the server.
    const probeStart = performance.now();
    for (let seq = 1; fleet.probedCount < n; seq++) {
      if (seq >= PROBE_END || performance.now() - probeStart > 60_000) throw new Error(`${target.name}: only ${fleet.probedCount} of ${n} subscribers attached`);
      const failure = await pub.post(target.publish(stream, seq));
      if (failure) throw new Error(`${target.name}: publishing failed: ${failure}`);
      await sleep(50);
    }
    await sleep(200);

    // Fixed rate, on a schedule, from one publisher socket (so in order).
    const count = Math.round(settings.rate * settings.rateSeconds);
    const fixed = new Phase(RATE_BASE, count, n);
    fleet.phase = fixed;
    const ordered = publisher(1);
    const sends: Promise<string | undefined>[] = [];
    const rateCpu = process.cpuUsage();
    const rateServer = target.server.cpuSeconds();
    const t0 = performance.now();
    for (let k = 0; k < count; k++) {
      await sleep(t0 + (k * 1000) / settings.rate - performance.now());
      // Timed from the scheduled send: a publisher stalled behind a slow mutation counts against the latency.
      fixed.sent(RATE_BASE + k);
      sends.push(ordered.post(target.publish(stream, RATE_BASE + k)));
    }
    for (const failure of await Promise.all(sends)) if (failure) problems.push(`${target.name} 20/s: ${failure}`);
    await settle(fixed);
    const rateUsed = process.cpuUsage(rateCpu);
    const rateClientCpu = (rateUsed.user + rateUsed.system) / 1000 / (performance.now() - t0);
    const rateServerCpu = (target.server.cpuSeconds() - rateServer) / ((performance.now() - t0) / 1000);
    ordered.close();

    // Saturation: as fast as the server takes the events.
    const events = Math.max(20, Math.round(settings.saturationDeliveries / n));
    const saturated = new Phase(SATURATION_BASE, events, n);
    fleet.phase = saturated;
    const cpu = process.cpuUsage();
    const serverCpu = target.server.cpuSeconds();
    let next = 0;
    await Promise.all(
      Array.from({ length: SATURATION_CONCURRENCY }, async () => {
        while (next < events) {
          const k = next++;
          saturated.sent(SATURATION_BASE + k);
          const failure = await saturator.post(target.publish(stream, SATURATION_BASE + k));
          if (failure) problems.push(`${target.name} saturation: ${failure}`);
        }
      }),
    );
    await settle(saturated);
    const seconds = (saturated.lastReceipt - saturated.firstSend) / 1000;
    const used = process.cpuUsage(cpu);
    const serverUsed = target.server.cpuSeconds() - serverCpu;
    fleet.phase = null;

    return {
      p50: fixed.percentile(50),
      p99: fixed.percentile(99),
      max: fixed.percentile(100),
      rate: saturated.delivered / seconds,
      clientCpu: (used.user + used.system) / 1e6 / seconds,
      serverCpu: serverUsed / seconds,
      serverUsPerDelivery: (serverUsed * 1e6) / saturated.delivered,
      rateClientCpu,
      rateServerCpu,
      lost: fixed.expected - fixed.delivered + (saturated.expected - saturated.delivered),
      duplicated: fixed.duplicates + saturated.duplicates,
      outOfOrder: fixed.outOfOrder,
      stray: fleet.stray,
      messageBytes: fleet.firstMessageBytes,
      problems: [
        ...problems.slice(0, 5),
        ...fleet.problems,
        ...(fleet.retries > 0 ? [`${target.name} ${stream} N=${n}: ${fleet.retries} handshake(s) retried`] : []),
      ],
    };
  } finally {
    pub.close();
    saturator.close();
    await fleet.close();
  }
}

// ---------------------------------------------------------------- setup

async function gatewayCall<T>(url: string, query: string): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify({ query }) });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`${query.slice(0, 40)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const LABEL: Record<StreamName, string> = { workerHeartbeats: 'workerHeartbeats', runEvents: 'runEvents(runId:)' };

export default {
  name: 'fanout',
  title: 'Fan-out: graphql-ws subscribers, delivery latency and deliveries per second vs stock graphql-ws and a raw ws broadcast',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const settings = SETTINGS[ctx.mode];
    const servers: ServerProcess[] = [];
    try {
      const [gateway, trivial, raw] = await Promise.all([
        startServerProcess('gateway.ts', { BENCH_DB: join(ctx.dir, 'fanout.sqlite') }),
        startServerProcess('trivial-subscriptions.ts'),
        startServerProcess('ws-broadcast.ts'),
      ]);
      servers.push(gateway, trivial, raw);
      const gatewayUrl = gateway.info.url as string;
      const workerId = (await gatewayCall<{ registerWorker: { worker: { id: string } } }>(gatewayUrl, REGISTER)).registerWorker.worker.id;
      const runId = (await gatewayCall<{ createRun: { run: { id: string } } }>(gatewayUrl, CREATE_RUN)).createRun.run.id;
      const targets: Record<TargetName, Target> = {
        gateway: gatewayTarget(gateway, workerId, runId),
        trivial: trivialTarget(trivial),
        raw: rawTarget(raw),
      };

      const series = new Map<string, number[]>();
      const add = (key: string, value: number) => series.set(key, [...(series.get(key) ?? []), value]);
      const s = (key: string) => series.get(key) ?? [];
      const problems: string[] = [];
      const messageBytes = new Map<string, number>();
      let lost = 0;
      let duplicated = 0;
      let outOfOrder = 0;
      let stray = 0;

      for (let r = 0; r < ctx.rounds; r++) {
        for (const n of settings.sizes) {
          for (const stream of STREAMS) {
            const line: string[] = [];
            for (const name of TARGETS) {
              const m = await measure(targets[name], stream, n, settings);
              const key = `${stream}.${n}.${name}`;
              add(`${key}.p50`, m.p50);
              add(`${key}.p99`, m.p99);
              add(`${key}.max`, m.max);
              add(`${key}.rate`, m.rate);
              add(`${key}.client`, m.clientCpu);
              add(`${key}.server`, m.serverCpu);
              add(`${key}.cost`, m.serverUsPerDelivery);
              add(`${key}.rateClient`, m.rateClientCpu);
              add(`${key}.rateServer`, m.rateServerCpu);
              lost += m.lost;
              duplicated += m.duplicated;
              outOfOrder += m.outOfOrder;
              stray += m.stray;
              messageBytes.set(`${stream}.${name}`, m.messageBytes);
              if (m.lost || m.duplicated || m.outOfOrder) problems.push(`${key} round ${r + 1}: ${m.lost} lost, ${m.duplicated} duplicated, ${m.outOfOrder} out of order`);
              for (const p of m.problems) if (problems.length < 20) problems.push(p);
              line.push(`${name} p99 ${round(m.p99)} ms, ${Math.round(m.rate)}/s (client ${round(m.clientCpu)}, server ${round(m.serverCpu)})`);
            }
            ctx.log(`round ${r + 1}, ${LABEL[stream]}, N=${n}: ${line.join('; ')}`);
          }
        }
      }

      const figures: Figure[] = [];
      const goals: BenchmarkReport['goals'] = [];
      const goalN = Math.max(...settings.sizes);
      for (const stream of STREAMS) {
        for (const n of settings.sizes) {
          const k = (name: TargetName, what: string) => s(`${stream}.${n}.${name}.${what}`);
          const label = `${LABEL[stream]} N=${n}`;
          figures.push(
            figure(`${label}, ${settings.rate}/s: gateway p50`, 'ms', k('gateway', 'p50'), { name: 'trivial p50', values: k('trivial', 'p50') }),
            figure(`${label}, ${settings.rate}/s: gateway p99`, 'ms', k('gateway', 'p99'), { name: 'trivial p99', values: k('trivial', 'p99') }),
            figure(`${label}, ${settings.rate}/s: trivial p99`, 'ms', k('trivial', 'p99')),
            figure(`${label}, ${settings.rate}/s: raw p99`, 'ms', k('raw', 'p99')),
            figure(`${label}, ${settings.rate}/s: gateway server CPU`, 'cores', k('gateway', 'rateServer')),
            figure(`${label}, ${settings.rate}/s: raw server CPU`, 'cores', k('raw', 'rateServer')),
            figure(`${label}, saturated: raw broadcast`, 'deliveries/s', k('raw', 'rate')),
            figure(`${label}, saturated: trivial resolver`, 'deliveries/s', k('trivial', 'rate'), { name: 'raw', values: k('raw', 'rate') }),
            figure(`${label}, saturated: gateway`, 'deliveries/s', k('gateway', 'rate'), { name: 'trivial', values: k('trivial', 'rate') }),
            figure(`${label}, saturated: gateway / raw`, 'x', k('gateway', 'rate').map((v, i) => v / k('raw', 'rate')[i]!)),
            figure(`${label}, saturated: raw server CPU per delivery`, 'us', k('raw', 'cost')),
            figure(`${label}, saturated: trivial server CPU per delivery`, 'us', k('trivial', 'cost'), { name: 'raw', values: k('raw', 'cost') }),
            figure(`${label}, saturated: gateway server CPU per delivery`, 'us', k('gateway', 'cost'), { name: 'trivial', values: k('trivial', 'cost') }),
            figure(`${label}, saturated: client CPU (gateway run)`, 'cores', k('gateway', 'client')),
            figure(`${label}, saturated: client CPU (raw run)`, 'cores', k('raw', 'client')),
            figure(`${label}, saturated: gateway server CPU`, 'cores', k('gateway', 'server')),
          );
          if (n !== goalN) continue;
          const p99 = spread(k('gateway', 'p99')).median;
          const ratio = spread(k('gateway', 'rate').map((v, i) => v / k('trivial', 'rate')[i]!)).median;
          goals.push(
            {
              text: `${LABEL[stream]}: p99 < ${P99_GOAL_MS} ms at ${n} subscribers x ${settings.rate} events/s`,
              met: p99 < P99_GOAL_MS,
              measured:
                `p99 ${round(p99)} ms (median over rounds; max delivery ${round(spread(k('gateway', 'max')).median)} ms; the raw broadcast's p99 ` +
                `${round(spread(k('raw', 'p99')).median)} ms); at the gateway's saturated cost per delivery the phase needs about ` +
                `${round((n * settings.rate * spread(k('gateway', 'cost')).median) / 1e6)} of a core, and the server process got ` +
                `${round(spread(k('gateway', 'rateServer')).median)}`,
            },
            {
              text: `${LABEL[stream]}: saturated deliveries/s >= ${SATURATION_GOAL}x the trivial-resolver baseline at N=${n}`,
              met: ratio >= SATURATION_GOAL,
              measured:
                `${round(ratio)}x (median of per-round ratios; ${round(spread(k('gateway', 'rate').map((v, i) => v / k('raw', 'rate')[i]!)).median)}x the raw broadcast); ` +
                `server CPU per delivery ${round(spread(k('gateway', 'cost')).median)} us vs trivial ${round(spread(k('trivial', 'cost')).median)} us ` +
                `(${round(spread(k('trivial', 'cost').map((v, i) => v / k('gateway', 'cost')[i]!)).median)}x as many deliveries per CPU-second)`,
            },
          );
        }
      }
      goals.push({
        text: 'deliveries = N x events for every server, stream and phase (0 lost, 0 duplicated)',
        met: lost === 0 && duplicated === 0,
        measured: `${lost} lost, ${duplicated} duplicated, ${outOfOrder} out of publish order in the ${settings.rate}/s phases, ${stray} outside any phase`,
      });

      const maxClient = Math.max(...STREAMS.flatMap((st) => settings.sizes.flatMap((n) => TARGETS.flatMap((t) => s(`${st}.${n}.${t}.client`)))));
      const sizes = STREAMS.map((st) => `${st}: ${TARGETS.map((t) => `${t} ${messageBytes.get(`${st}.${t}`)} B`).join(', ')}`).join('; ');
      return {
        name: 'fanout',
        title: this.title,
        rounds: ctx.rounds,
        figures,
        goals: ctx.mode === 'quick' ? goals.map((g) => ({ ...g, text: `${g.text} (quick mode: N=${goalN}, not the goal's size)` })) : goals,
        notes: [
          `one graphql-ws connection per subscriber (N sockets, one subscription each); every subscriber of a stream sends the same operation ` +
            `(workerHeartbeats(types: [EXECUTOR]) { worker { id type state } at progress }; runEvents(runId:) { id kind ts cursor payload }); ` +
            `publishing: heartbeat / addRunNote mutations over HTTP (gateway), beat / note mutations (trivial), POST /publish (raw)`,
          `${settings.rate}/s phase: ${Math.round(settings.rate * settings.rateSeconds)} events on a fixed schedule from one keep-alive socket, latency from the mutation's send to the subscriber's receipt; ` +
            `saturation: ${settings.saturationDeliveries.toLocaleString('en-US')} deliveries (events = that / N), ${SATURATION_CONCURRENCY} mutations in flight, ` +
            'deliveries / (last receipt - first send)',
          `next message sizes: ${sizes}`,
          'server CPU per delivery: the server process\'s CPU time (from /proc, 10 ms ticks) over the saturation phase / its deliveries; unlike deliveries/s it ' +
            'does not depend on the share of the core the server got, so it is the steadier comparison on a shared machine',
          `client CPU (share of the load core) reached ${round(maxClient)} in a saturation phase` +
            (maxClient > 0.85 ? ': the client is near a full core there, so that figure is bounded by the client, not the server' : ''),
          ...problems,
        ],
      };
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  },
} satisfies Benchmark;

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
import {
  clientCpuNote,
  createSubjects,
  gatewayTarget,
  measureFanout,
  quickGoals,
  SATURATION_CONCURRENCY,
  seqMessage,
  socketUrl,
  STREAM_LABEL,
  Tally,
  type FanoutTarget,
  type PhaseSettings,
  type StreamName,
} from '../lib/fanout.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport, type Figure } from '../lib/report.js';
import { round, spread } from '../lib/stats.js';

interface Settings extends PhaseSettings {
  sizes: number[];
}

const SETTINGS: Record<BenchContext['mode'], Settings> = {
  quick: { sizes: [50], rate: 20, rateSeconds: 1, saturationDeliveries: 5_000 },
  full: { sizes: [100, 1000], rate: 20, rateSeconds: 5, saturationDeliveries: 50_000 },
};

const P99_GOAL_MS = 100;
const SATURATION_GOAL = 1.0;

type TargetName = 'gateway' | 'trivial' | 'raw';
const STREAMS: StreamName[] = ['workerHeartbeats', 'runEvents'];
const TARGETS: TargetName[] = ['raw', 'trivial', 'gateway'];

// ---------------------------------------------------------------- targets

function trivialTarget(server: ServerProcess): FanoutTarget {
  const url = server.info.url as string;
  return {
    name: 'trivial',
    wsUrl: socketUrl(server),
    connectionParams: {},
    servers: [server],
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

function rawTarget(server: ServerProcess): FanoutTarget {
  return {
    name: 'raw',
    wsUrl: socketUrl(server),
    connectionParams: {},
    servers: [server],
    subscription: (stream) => ({ query: `subscription { ${stream} }` }),
    publish: (stream, seq) => ({
      url: server.info.publishUrl as string,
      headers: {},
      body: JSON.stringify(stream === 'workerHeartbeats' ? { stream: 'beat', progress: seq / 1000 } : { stream: 'note', message: seqMessage(seq) }),
    }),
  };
}

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
      const subjects = await createSubjects(gatewayUrl, 'bench-fanout');
      const targets: Record<TargetName, FanoutTarget> = {
        gateway: gatewayTarget({ name: 'gateway', wsUrlOf: () => socketUrl(gateway), publishUrl: gatewayUrl, subjects, servers: [gateway] }),
        trivial: trivialTarget(trivial),
        raw: rawTarget(raw),
      };

      const tally = new Tally();
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
              const m = await measureFanout(targets[name], stream, n, settings);
              const key = `${stream}.${n}.${name}`;
              tally.record(key, r, m);
              tally.add(`${key}.client`, m.clientCpu);
              tally.add(`${key}.server`, m.serverCpu);
              lost += m.lost;
              duplicated += m.duplicated;
              outOfOrder += m.outOfOrder;
              stray += m.stray;
              messageBytes.set(`${stream}.${name}`, m.messageBytes);
              line.push(`${name} p99 ${round(m.p99)} ms, ${Math.round(m.rate)}/s (client ${round(m.clientCpu)}, server ${round(m.serverCpu)})`);
            }
            ctx.log(`round ${r + 1}, ${STREAM_LABEL[stream]}, N=${n}: ${line.join('; ')}`);
          }
        }
      }

      const figures: Figure[] = [];
      const goals: BenchmarkReport['goals'] = [];
      const goalN = Math.max(...settings.sizes);
      for (const stream of STREAMS) {
        for (const n of settings.sizes) {
          const k = (name: TargetName, what: string) => tally.of(`${stream}.${n}.${name}.${what}`);
          const label = `${STREAM_LABEL[stream]} N=${n}`;
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
            figure(
              `${label}, saturated: gateway / raw`,
              'x',
              k('gateway', 'rate').map((v, i) => v / k('raw', 'rate')[i]!),
            ),
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
              text: `${STREAM_LABEL[stream]}: p99 < ${P99_GOAL_MS} ms at ${n} subscribers x ${settings.rate} events/s`,
              met: p99 < P99_GOAL_MS,
              measured:
                `p99 ${round(p99)} ms (median over rounds; max delivery ${round(spread(k('gateway', 'max')).median)} ms; the raw broadcast's p99 ` +
                `${round(spread(k('raw', 'p99')).median)} ms); at the gateway's saturated cost per delivery the phase needs about ` +
                `${round((n * settings.rate * spread(k('gateway', 'cost')).median) / 1e6)} of a core, and the server process got ` +
                `${round(spread(k('gateway', 'rateServer')).median)}`,
            },
            {
              text: `${STREAM_LABEL[stream]}: saturated deliveries/s >= ${SATURATION_GOAL}x the trivial-resolver baseline at N=${n}`,
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

      const maxClient = Math.max(...STREAMS.flatMap((st) => settings.sizes.flatMap((n) => TARGETS.flatMap((t) => tally.of(`${st}.${n}.${t}.client`)))));
      const sizes = STREAMS.map((st) => `${st}: ${TARGETS.map((t) => `${t} ${messageBytes.get(`${st}.${t}`)} B`).join(', ')}`).join('; ');
      return {
        name: 'fanout',
        title: this.title,
        rounds: ctx.rounds,
        figures,
        goals: quickGoals(ctx.mode === 'quick', goals, goalN),
        notes: [
          `one graphql-ws connection per subscriber (N sockets, one subscription each); every subscriber of a stream sends the same operation ` +
            `(workerHeartbeats(types: [EXECUTOR]) { worker { id type state } at progress }; runEvents(runId:) { id kind ts cursor payload }); ` +
            `publishing: heartbeat / addRunNote mutations over HTTP (gateway), beat / note mutations (trivial), POST /publish (raw)`,
          `${settings.rate}/s phase: ${Math.round(settings.rate * settings.rateSeconds)} events on a fixed schedule from one keep-alive socket, latency from the mutation's send to the subscriber's receipt; ` +
            `saturation: ${settings.saturationDeliveries.toLocaleString('en-US')} deliveries (events = that / N), ${SATURATION_CONCURRENCY} mutations in flight, ` +
            'deliveries / (last receipt - first send)',
          `next message sizes: ${sizes}`,
          "server CPU per delivery: the server process's CPU time (from /proc, 10 ms ticks) over the saturation phase / its deliveries; unlike deliveries/s it " +
            'does not depend on the share of the core the server got, so it is the steadier comparison on a shared machine',
          clientCpuNote(maxClient, 'the client, not the server'),
          ...tally.problems,
        ],
      };
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  },
} satisfies Benchmark;

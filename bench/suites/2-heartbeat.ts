/**
 * Heartbeats (issue 9, benchmark 2): the gateway's `heartbeat` mutation with
 * W simulated workers (1,000; quick: 50), against a trivial mutation
 * (`mutation { ping(n: 1) }`) on a bare Yoga server, each server in its own
 * process on the server core.
 *
 * Per round:
 *   HTTP        closed loop, 32 concurrent callers on keep-alive sockets; the
 *               gateway's callers cycle through the W workers
 *   graphql-ws  one connection per simulated worker (W of them), each beating
 *               sequentially (W operations in flight); the baseline pings
 *               over the same number of connections
 *   50 %        open loop at half the rate the gateway just reached (HTTP and
 *               graphql-ws each), on a fixed schedule; latency from each
 *               beat's scheduled start, so its p99 counts any stall
 * The workers are registered (registerWorker over HTTP) before the first round.
 * The graphql-ws client is a raw socket with hand-written
 * graphql-transport-ws messages (bench/lib/ws-client.ts): cheap, so the load
 * generator's CPU share stays low; it is reported per phase, as is the server's.
 */
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { httpLoad, type LoadResult } from '../lib/load.js';
import { closedLoop, openLoop, type LoopResult } from '../lib/loops.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport, type Figure } from '../lib/report.js';
import { round, spread } from '../lib/stats.js';
import { closeAll, connectMany, type WsConnection } from '../lib/ws-client.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const HTTP_CONCURRENCY = 32;
const PING = 'mutation { ping(n: 1) }';
const REGISTER = 'mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 600 } }) { worker { id } } }';
const HEARTBEAT = 'mutation($id: ID!) { heartbeat(input: { workerId: $id, progress: 50 }) { worker { id lastHeartbeat } } }';
const P99_GOAL_MS = 20;
/** Issue 20's goals, each against bare Yoga's ping over the same transport. */
const HTTP_RATIO_GOAL = 0.7;
const WS_RATIO_GOAL = 0.6;

interface Settings {
  workers: number;
  warmupSeconds: number;
  seconds: number;
}

const SETTINGS: Record<BenchContext['mode'], Settings> = {
  quick: { workers: 50, warmupSeconds: 0.5, seconds: 1.5 },
  full: { workers: 1000, warmupSeconds: 1, seconds: 5 },
};

const AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

/** A GraphQL response body's failure, if any. */
function graphqlFailure(status: number, body: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 200)}`;
  if (body.includes('"errors"')) return body.slice(0, 300);
  return undefined;
}

/** One-off POSTs on keep-alive sockets (for the open loop, where calls overlap without bound). */
function httpPoster(url: string, headers: Record<string, string>) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(url);
  const post = (body: string) =>
    new Promise<string | undefined>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(graphqlFailure(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
        },
      );
      req.on('error', (error) => resolve(String(error)));
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** The server's CPU over a phase, as a share of one core. */
function serverMeter(server: ServerProcess): () => number {
  const cpu = server.cpuSeconds();
  const began = performance.now();
  return () => (server.cpuSeconds() - cpu) / ((performance.now() - began) / 1000);
}

async function registerWorkers(url: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  const result = await httpLoad({
    url,
    headers: AUTH,
    body: () => JSON.stringify({ query: REGISTER }),
    concurrency: 8,
    count: n,
    check: (status, body) => {
      const failure = graphqlFailure(status, body);
      if (failure) return failure;
      const id = (JSON.parse(body) as { data?: { registerWorker?: { worker?: { id?: string } } } }).data?.registerWorker?.worker?.id;
      if (!id) return `no worker id: ${body.slice(0, 200)}`;
      ids.push(id);
      return undefined;
    },
  });
  if (ids.length !== n) throw new Error(`registered ${ids.length} of ${n} workers: ${result.firstFailure}`);
  return ids;
}

/** SQL statements the gateway has run so far (the count of /metrics' statement-latency histogram). */
async function dbStatements(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const match = /^uet_db_query_duration_seconds_count (\d+)/m.exec(text);
  if (!match) throw new Error('no uet_db_query_duration_seconds_count in /metrics');
  return Number(match[1]);
}

type Phase = LoadResult | LoopResult;

export default {
  name: 'heartbeat',
  title: 'Heartbeats: heartbeat mutations per second vs a trivial mutation on bare Yoga',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const settings = SETTINGS[ctx.mode];
    const W = settings.workers;
    const servers: ServerProcess[] = [];
    const sockets: WsConnection[][] = [];
    const problems: string[] = [];
    const noteFailures = (label: string, phase: Phase) => {
      if (phase.failed > 0 && problems.length < 10) problems.push(`${label}: ${phase.failed} failed, first: ${phase.firstFailure}`);
    };
    try {
      const bare = await startServerProcess('bare-yoga.ts');
      servers.push(bare);
      const gateway = await startServerProcess('gateway.ts', { BENCH_DB: join(ctx.dir, 'heartbeat.sqlite') });
      servers.push(gateway);
      const bareUrl = bare.info.url as string;
      const gatewayUrl = gateway.info.url as string;
      const metricsUrl = gatewayUrl.replace(/\/graphql$/, '/metrics');

      ctx.log(`registering ${W} workers`);
      const workerIds = await registerWorkers(gatewayUrl, W);
      const beatBodies = workerIds.map((id) => JSON.stringify({ query: HEARTBEAT, variables: { id } }));
      const pingBody = JSON.stringify({ query: PING });

      ctx.log(`opening ${W} graphql-ws connections to each server`);
      const bareSockets = await connectMany(bare.info.url.replace(/^http/, 'ws'), W);
      sockets.push(bareSockets);
      const gatewaySockets = await connectMany(gatewayUrl.replace(/^http/, 'ws'), W, AUTH);
      sockets.push(gatewaySockets);

      const series = new Map<string, number[]>();
      const add = (key: string, value: number) => series.set(key, [...(series.get(key) ?? []), value]);
      const record = (key: string, phase: Phase, server: () => number) => {
        add(`${key}.rate`, phase.perSecond);
        add(`${key}.p50`, phase.p50Ms);
        add(`${key}.p99`, phase.p99Ms);
        add(`${key}.client`, phase.clientCpu);
        add(`${key}.server`, server());
        noteFailures(key, phase);
      };

      /** With `metricsUrl`, also the SQL statements per request over the measured phase. */
      const http = async (key: string, url: string, headers: Record<string, string>, body: (i: number) => string, server: ServerProcess, metricsUrl?: string) => {
        await httpLoad({ url, headers, body, concurrency: HTTP_CONCURRENCY, seconds: settings.warmupSeconds, check: graphqlFailure });
        const statements = metricsUrl ? await dbStatements(metricsUrl) : 0;
        const meter = serverMeter(server);
        const phase = await httpLoad({ url, headers, body, concurrency: HTTP_CONCURRENCY, seconds: settings.seconds, check: graphqlFailure });
        record(key, phase, meter);
        if (metricsUrl) add(`${key}.sql`, ((await dbStatements(metricsUrl)) - statements) / Math.max(1, phase.completed));
        return phase;
      };
      const ws = async (key: string, connections: WsConnection[], call: (lane: number) => Promise<string | undefined>, server: ServerProcess) => {
        let meter = () => NaN;
        const timer = setTimeout(() => (meter = serverMeter(server)), settings.warmupSeconds * 1000);
        const phase = await closedLoop({ lanes: connections.length, warmupSeconds: settings.warmupSeconds, seconds: settings.seconds, call });
        clearTimeout(timer);
        record(key, phase, meter);
        return phase;
      };

      for (let r = 0; r < ctx.rounds; r++) {
        const bareHttp = await http('bareHttp', bareUrl, {}, () => pingBody, bare);
        const gwHttp = await http('gwHttp', gatewayUrl, AUTH, (i) => beatBodies[i % W]!, gateway, metricsUrl);
        const bareWs = await ws('bareWs', bareSockets, (lane) => bareSockets[lane]!.once(PING), bare);
        const gwWs = await ws('gwWs', gatewaySockets, (lane) => gatewaySockets[lane]!.once(HEARTBEAT, { id: workerIds[lane] }), gateway);

        // Open loop at half the maximum just measured.
        const poster = httpPoster(gatewayUrl, AUTH);
        try {
          let meter = serverMeter(gateway);
          const openHttp = await openLoop({ rate: gwHttp.perSecond / 2, seconds: settings.seconds, call: (i) => poster.post(beatBodies[i % W]!) });
          record('openHttp', openHttp, meter);
          add('openHttp.target', openHttp.targetPerSecond);
          add('openHttp.max', openHttp.maxMs);
          meter = serverMeter(gateway);
          const openWs = await openLoop({
            rate: gwWs.perSecond / 2,
            seconds: settings.seconds,
            call: (i) => gatewaySockets[i % W]!.once(HEARTBEAT, { id: workerIds[i % W] }),
          });
          record('openWs', openWs, meter);
          add('openWs.target', openWs.targetPerSecond);
          add('openWs.max', openWs.maxMs);
        } finally {
          poster.close();
        }
        ctx.log(
          `round ${r + 1}: HTTP ${Math.round(gwHttp.perSecond)}/s vs ${Math.round(bareHttp.perSecond)}/s, ` +
            `graphql-ws ${Math.round(gwWs.perSecond)}/s vs ${Math.round(bareWs.perSecond)}/s, ` +
            `p99 at 50 %: HTTP ${round(series.get('openHttp.p99')!.at(-1)!)} ms, graphql-ws ${round(series.get('openWs.p99')!.at(-1)!)} ms`,
        );
      }

      const s = (key: string) => series.get(key)!;
      const phases = [
        ['bareHttp', 'bare Yoga ping, HTTP'],
        ['gwHttp', 'gateway heartbeat, HTTP'],
        ['bareWs', 'bare Yoga ping, graphql-ws'],
        ['gwWs', 'gateway heartbeat, graphql-ws'],
        ['openHttp', 'gateway heartbeat, HTTP, open loop at 50 %'],
        ['openWs', 'gateway heartbeat, graphql-ws, open loop at 50 %'],
      ] as const;
      const figures: Figure[] = [
        figure(`bare Yoga ping, HTTP (${HTTP_CONCURRENCY} callers)`, 'req/s', s('bareHttp.rate')),
        figure(`gateway heartbeat, HTTP (${HTTP_CONCURRENCY} callers)`, 'req/s', s('gwHttp.rate'), { name: 'bare Yoga ping, HTTP', values: s('bareHttp.rate') }),
        figure(`bare Yoga ping, graphql-ws (${W} sockets)`, 'req/s', s('bareWs.rate')),
        figure(`gateway heartbeat, graphql-ws (${W} sockets)`, 'req/s', s('gwWs.rate'), { name: 'bare Yoga ping, graphql-ws', values: s('bareWs.rate') }),
        figure('gateway heartbeat, HTTP, open loop at 50 %', 'req/s', s('openHttp.rate'), { name: 'its target rate', values: s('openHttp.target') }),
        figure('gateway heartbeat, graphql-ws, open loop at 50 %', 'req/s', s('openWs.rate'), { name: 'its target rate', values: s('openWs.target') }),
      ];
      for (const [key, label] of phases) {
        figures.push(figure(`${label}: p50`, 'ms', s(`${key}.p50`)), figure(`${label}: p99`, 'ms', s(`${key}.p99`)));
        if (key.startsWith('open')) figures.push(figure(`${label}: max`, 'ms', s(`${key}.max`)));
      }
      // Per CPU-second of the server: steadier than req/s when other processes share the server's core.
      const efficiency = (key: string) => s(`${key}.rate`).map((rate, i) => rate / s(`${key}.server`)[i]!);
      figures.push(
        figure('bare Yoga ping, HTTP, per server CPU-second', 'req', efficiency('bareHttp')),
        figure('gateway heartbeat, HTTP, per server CPU-second', 'req', efficiency('gwHttp'), { name: 'bare Yoga, HTTP', values: efficiency('bareHttp') }),
        figure('bare Yoga ping, graphql-ws, per server CPU-second', 'req', efficiency('bareWs')),
        figure('gateway heartbeat, graphql-ws, per server CPU-second', 'req', efficiency('gwWs'), { name: 'bare Yoga, graphql-ws', values: efficiency('bareWs') }),
      );
      figures.push(figure('gateway heartbeat, HTTP: SQL statements per heartbeat', 'stmts', s('gwHttp.sql')));
      for (const [key, label] of phases) {
        figures.push(figure(`${label}: client CPU`, 'cores', s(`${key}.client`)), figure(`${label}: server CPU`, 'cores', s(`${key}.server`)));
      }

      const httpRatio = figures[1]!.ratio!;
      const wsRatio = figures[3]!.ratio!;
      const openHttpP99 = spread(s('openHttp.p99')).median;
      const openWsP99 = spread(s('openWs.p99')).median;
      const maxClient = Math.max(...['bareHttp', 'gwHttp', 'bareWs', 'gwWs'].flatMap((k) => s(`${k}.client`)));
      return {
        name: 'heartbeat',
        title: this.title,
        rounds: ctx.rounds,
        figures,
        goals: [
          { text: `heartbeat over HTTP >= ${HTTP_RATIO_GOAL}x bare Yoga ping`, met: httpRatio >= HTTP_RATIO_GOAL, measured: `${round(httpRatio)}x (median of per-round ratios)` },
          { text: `heartbeat over graphql-ws >= ${WS_RATIO_GOAL}x bare Yoga ping`, met: wsRatio >= WS_RATIO_GOAL, measured: `${round(wsRatio)}x (median of per-round ratios)` },
          {
            text: `p99 < ${P99_GOAL_MS} ms at 50 % of the maximum rate, HTTP`,
            met: openHttpP99 < P99_GOAL_MS,
            measured: `p99 ${round(openHttpP99)} ms at ${Math.round(spread(s('openHttp.target')).median)}/s (median over rounds)`,
          },
          {
            text: `p99 < ${P99_GOAL_MS} ms at 50 % of the maximum rate, graphql-ws`,
            met: openWsP99 < P99_GOAL_MS,
            measured: `p99 ${round(openWsP99)} ms at ${Math.round(spread(s('openWs.target')).median)}/s (median over rounds)`,
          },
        ],
        notes: [
          `${W} workers registered first; HTTP: ${HTTP_CONCURRENCY} closed-loop callers cycling through them on keep-alive sockets; ` +
            `graphql-ws: ${W} connections (one per worker, each beating sequentially, so ${W} in flight); the baseline uses the same concurrency and connections`,
          `each phase: ${settings.warmupSeconds} s warm-up, then ${settings.seconds} s measured; the open loop starts beats on a fixed schedule at half the ` +
            'rate the gateway reached in the same round and times each from its scheduled start',
          "per server CPU-second: the rate divided by the server process's CPU share (from /proc), a cost per request that holds up better than the rate " +
            'when other processes share the server core (a server share well below 1 in a closed loop means it was waiting for the CPU, or for the client)',
          `CPU rows: share of one core over the measured window, the load generator's (client) and the server process's; the highest client share in a closed-loop phase was ` +
            `${round(maxClient)}${maxClient > 0.85 ? ': near a full core, so the client may bound the rate' : ''}`,
          "SQL statements per heartbeat: the gateway's statement count (/metrics, uet_db_query_duration_seconds_count) over the measured HTTP phase " +
            'divided by its heartbeats; heartbeats are buffered in memory and flushed once a second, so it counts the flushes, reaper passes and ' +
            "the scrape's own query, not one write per beat",
          ...problems,
        ],
      };
    } finally {
      for (const group of sockets) await closeAll(group);
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
} satisfies Benchmark;

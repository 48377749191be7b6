/**
 * Query path (issue 9, benchmark 1): `runs(first: 20)` with nested steps and
 * counters, served by the gateway from a SQLite database of 100k runs (quick
 * mode: 2k), against two baselines answering the same request in the same run:
 *
 *   (a) raw node:http   returns the gateway's response bytes, captured once (the floor of HTTP + JSON transfer)
 *   (b) bare Yoga        a plain graphql-yoga server with a small schema of the same shapes whose one
 *                        resolver returns the captured page from memory (the floor of GraphQL execution)
 *
 * All three answer the same JSON (each server's body checked byte for byte on every response). Each
 * round loads each server in turn (rotating the order) with a closed loop of
 * CONCURRENCY keep-alive clients for a fixed time, after a warm-up.
 * Goal: the gateway reaches at least 0.6x (b)'s requests per second.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { httpLoad, type LoadResult } from '../lib/load.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport } from '../lib/report.js';
import { seedRunsDatabase } from '../lib/seed-runs.js';
import { round, spread } from '../lib/stats.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const CONCURRENCY = 16;

const RUNS_QUERY = `query RunsPage {
  runs(first: 20) {
    edges {
      cursor
      node {
        id
        state
        projectId
        createdAt
        counters { stepAttempts patchesCreated patchesApplied errors }
        steps(first: 5) { edges { node { id toolId state } } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

const REQUEST = JSON.stringify({ query: RUNS_QUERY, operationName: 'RunsPage' });
const HEADERS = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

type Target = 'gateway' | 'yoga' | 'raw';
const LABEL: Record<Target, string> = { gateway: 'gateway', yoga: 'bare Yoga (b)', raw: 'raw node:http (a)' };

interface Phase extends LoadResult {
  /** Server CPU over the phase, as a share of one core. */
  serverCpu: number;
  /** Server CPU milliseconds per completed request. */
  serverCpuMsPerRequest: number;
}

async function post(url: string): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...HEADERS }, body: REQUEST });
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}: ${text.slice(0, 500)}`);
  return text;
}

async function load(server: ServerProcess, seconds: number, expected: string): Promise<Phase> {
  const cpuBefore = server.cpuSeconds();
  const result = await httpLoad({
    url: server.info.url,
    concurrency: CONCURRENCY,
    seconds,
    headers: HEADERS,
    body: () => REQUEST,
    check: (_status, body) => (body === expected ? undefined : `a different body: ${body.slice(0, 300)}`),
  });
  const serverCpuSeconds = server.cpuSeconds() - cpuBefore;
  if (result.failed > 0) throw new Error(`${server.info.url}: ${result.failed} request(s) failed, first: ${result.firstFailure}`);
  return { ...result, serverCpu: serverCpuSeconds / result.seconds, serverCpuMsPerRequest: (serverCpuSeconds * 1000) / result.completed };
}

const query: Benchmark = {
  name: 'query',
  title: 'Query path: runs(first: 20) with steps and counters, against raw node:http (a) and bare Yoga (b)',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const quick = ctx.mode === 'quick';
    const runs = quick ? 2_000 : 100_000;
    const seconds = quick ? 1 : 5;
    const warmup = quick ? 0.5 : 2;
    const notes: string[] = [];

    const dbPath = join(ctx.dir, 'query.sqlite');
    const seeded = await seedRunsDatabase(dbPath, { runs, projects: 10, events: 'created', steps: (i) => (i % 7) + 1 });
    ctx.log(`seeded ${seeded.rows.runs} runs, ${seeded.rows.steps} steps, ${seeded.rows.events} events in ${round(seeded.seconds, 1)} s ` + `(${round(seeded.fileBytes / 2 ** 20, 1)} MiB)`);

    let running: ServerProcess[] = [];
    try {
      // Started together (the baselines get their payload once the gateway has answered).
      const started = await Promise.allSettled([startServerProcess('gateway.ts', { BENCH_DB: dbPath }), startServerProcess('raw-json.ts'), startServerProcess('bare-yoga-query.ts')]);
      running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      const [gateway, raw, yoga] = running as [ServerProcess, ServerProcess, ServerProcess];
      const servers: Record<Target, ServerProcess> = { gateway, raw, yoga };
      // The gateway's answer, captured once: (a) serves these bytes, (b) this data.
      const expected = await post(servers.gateway.info.url);
      const parsed = JSON.parse(expected) as { data?: { runs: { edges: unknown[] } }; errors?: unknown[] };
      if (parsed.errors || !parsed.data) throw new Error(`the gateway answered errors: ${expected.slice(0, 500)}`);
      if (parsed.data.runs.edges.length !== 20) throw new Error(`expected 20 runs, got ${parsed.data.runs.edges.length}`);
      const bodyFile = join(ctx.dir, 'response.json');
      const dataFile = join(ctx.dir, 'data.json');
      writeFileSync(bodyFile, expected);
      writeFileSync(dataFile, JSON.stringify(parsed.data));
      await servers.raw.ask({ load: bodyFile });
      await servers.yoga.ask({ load: dataFile });
      // The same payload everywhere: (a) the same bytes; (b) the same JSON value, but
      // its keys in selection order where the gateway's executor (@graphql-tools/executor's
      // promiseForObject) puts the fields of async resolvers last. Each server's body is
      // then checked byte for byte on every response.
      const bodies: Record<Target, string> = { gateway: expected, raw: await post(servers.raw.info.url), yoga: await post(servers.yoga.info.url) };
      if (bodies.raw !== expected) throw new Error(`${LABEL.raw} answers a different body than the gateway`);
      if (!isDeepStrictEqual(JSON.parse(bodies.yoga), parsed)) {
        throw new Error(`${LABEL.yoga} answers a different payload than the gateway:\n${bodies.yoga.slice(0, 400)}\nvs\n${expected.slice(0, 400)}`);
      }
      if (bodies.yoga !== expected) notes.push('The gateway orders some response keys differently (async fields last); bare Yoga answers the same JSON value, same length, in selection order.');
      const steps = (parsed.data.runs.edges as { node: { steps: { edges: unknown[] } } }[]).reduce((n, e) => n + e.node.steps.edges.length, 0);
      notes.push(
        `Database: ${seeded.rows.runs.toLocaleString('en-US')} runs, ${seeded.rows.steps.toLocaleString('en-US')} step attempts, ` +
          `${seeded.rows.events.toLocaleString('en-US')} run events (${round(seeded.fileBytes / 2 ** 20, 1)} MiB), seeded in ${round(seeded.seconds, 1)} s. ` +
          `The page: 20 runs with ${steps} steps, ${expected.length.toLocaleString('en-US')} bytes of JSON, the same from all three servers (checked on every response).`,
      );

      const targets: Target[] = ['gateway', 'yoga', 'raw'];
      for (const target of targets) await load(servers[target], warmup, bodies[target]);

      const phases: Record<Target, Phase[]> = { gateway: [], yoga: [], raw: [] };
      for (let r = 0; r < ctx.rounds; r++) {
        // Rotate the order so that drift on a shared machine does not always hit the same server.
        const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
        for (const target of order) phases[target].push(await load(servers[target], seconds, bodies[target]));
        ctx.log(
          `round ${r + 1}: ` +
            targets
              .map((t) => {
                const p = phases[t][r]!;
                return `${t} ${Math.round(p.perSecond)}/s p50 ${round(p.p50Ms)} ms p99 ${round(p.p99Ms)} ms (server cpu ${round(p.serverCpu)}, client cpu ${round(p.clientCpu)})`;
              })
              .join('; '),
        );
      }

      const series = (t: Target, pick: (p: Phase) => number) => phases[t].map(pick);
      const rps = (t: Target) => series(t, (p) => p.perSecond);
      const gatewayVsYoga = figure('gateway', 'req/s', rps('gateway'), { name: LABEL.yoga, values: rps('yoga') });
      const gatewayVsRaw = figure('gateway vs (a)', 'req/s', rps('gateway'), { name: LABEL.raw, values: rps('raw') });
      const figures = [figure(LABEL.raw, 'req/s', rps('raw')), figure(LABEL.yoga, 'req/s', rps('yoga'), { name: LABEL.raw, values: rps('raw') }), gatewayVsYoga, gatewayVsRaw];
      for (const [key, unit] of [
        ['p50Ms', 'p50 ms'],
        ['p99Ms', 'p99 ms'],
      ] as const) {
        for (const t of ['raw', 'yoga'] as const)
          figures.push(
            figure(
              `${LABEL[t]} ${unit}`,
              'ms',
              series(t, (p) => p[key]),
            ),
          );
        figures.push(
          figure(
            `gateway ${unit}`,
            'ms',
            series('gateway', (p) => p[key]),
            { name: `${LABEL.yoga} ${unit}`, values: series('yoga', (p) => p[key]) },
          ),
        );
      }
      const cpuVsYoga = figure(
        'gateway server CPU per request',
        'ms',
        series('gateway', (p) => p.serverCpuMsPerRequest),
        {
          name: `${LABEL.yoga} server CPU per request`,
          values: series('yoga', (p) => p.serverCpuMsPerRequest),
        },
      );
      for (const t of targets)
        figures.push(
          t === 'gateway'
            ? cpuVsYoga
            : figure(
                `${LABEL[t]} server CPU per request`,
                'ms',
                series(t, (p) => p.serverCpuMsPerRequest),
              ),
        );
      for (const t of targets)
        figures.push(
          figure(
            `load generator CPU, ${LABEL[t]} phase`,
            'cores',
            series(t, (p) => p.clientCpu),
          ),
        );

      notes.push(
        `Closed loop: ${CONCURRENCY} keep-alive connections, ${seconds} s per server per round after ${warmup} s of warm-up; ` +
          'server CPU is the server process over the phase (/proc), per completed request.',
      );
      for (const t of targets) {
        const busiest = Math.max(...series(t, (p) => p.clientCpu));
        if (busiest > 0.9) {
          notes.push(
            `The load generator used up to ${round(busiest)} of its core while loading ${LABEL[t]}: that figure may be bound by the client, not the server ` +
              `(server CPU ${round(Math.max(...series(t, (p) => p.serverCpu)))} of its core).`,
          );
        }
      }
      return {
        name: 'query',
        title: this.title,
        rounds: ctx.rounds,
        figures,
        goals: [
          {
            text: 'gateway requests/s >= 0.5x bare Yoga (b)',
            met: gatewayVsYoga.ratio! >= 0.5,
            measured: `${round(gatewayVsYoga.ratio!)}x (${Math.round(gatewayVsYoga.value.median)} vs ${Math.round(figures[1]!.value.median)} req/s, median); ${round(gatewayVsRaw.ratio!)}x raw node:http (a)`,
          },
          {
            text: 'gateway server CPU per request <= 2x bare Yoga (b)',
            met: cpuVsYoga.ratio! <= 2,
            measured: `${round(cpuVsYoga.ratio!)}x (${round(cpuVsYoga.value.median)} vs ${round(spread(series('yoga', (p) => p.serverCpuMsPerRequest)).median)} ms, median)`,
          },
        ],
        notes,
      };
    } finally {
      await Promise.all(running.map((s) => s.stop()));
    }
  },
};

export default query;

/**
 * Growth (issue 9, benchmark 5): does a page cost the same when the tables
 * are 100x larger? p50 latency of the same GraphQL requests against two
 * gateways, one over a database of 10k runs and 10k run events and one over
 * 1M of each (quick mode: 1k and 20k), measured in the same run:
 *
 *   runs filtered           runs(first: 20, filter: {projectId, states: [FAILED]}), the newest page
 *   runs filtered, deep     the same after a cursor a quarter of the way back (keyset, not OFFSET)
 *   runs filtered + count   the first page with totalCount (COUNT(*) of the matching runs)
 *   runs filtered, no match the same filter for a project without FAILED runs (an empty page)
 *   runEvents after         runEvents(runId, after: <cursor>, first: 20) of a long run (200 events
 *                           spread over the whole log), with totalCount (that run's events)
 *
 * Each request is sent by one client at a time (concurrency 1): the figure is
 * the latency of one request on an idle server, which is what grows with the
 * tables if anything does. Requests rotate over the 5 projects and over 4
 * long runs and 3 cursors each. Goal: p50 at the large size under 1.5x the
 * small one for the filtered runs page and for runEvents(after:).
 * The SQL each request runs and SQLite's plan for it are reported as notes.
 */
import { join } from 'node:path';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { httpLoad, type LoadResult } from '../lib/load.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { planEngineWork, type PlannedStatement } from '../lib/query-plans.js';
import { figure, type BenchmarkReport, type Figure } from '../lib/report.js';
import { seedRunsDatabase, type SeededDatabase } from '../lib/seed-runs.js';
import { round } from '../lib/stats.js';
import { encodeCursor } from '../../src/engine/core/pagination.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const PROJECTS = 5;
const LONG_RUNS = 4;
const LONG_EVENTS = 200;
const HEADERS = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

const RUN_FIELDS = 'edges { cursor node { id state projectId createdAt counters { stepAttempts errors } } } pageInfo { hasNextPage endCursor }';
const RUNS = `query GrowthRuns($filter: RunFilter, $after: String) { runs(first: 20, filter: $filter, after: $after) { ${RUN_FIELDS} } }`;
const RUNS_COUNT = `query GrowthRunsCount($filter: RunFilter) { runs(first: 20, filter: $filter) { ${RUN_FIELDS} totalCount } }`;
const EVENTS =
  'query GrowthEvents($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after, first: 20) ' +
  '{ edges { cursor node { id kind ts payload } } pageInfo { hasNextPage hasPreviousPage endCursor } totalCount } }';

type QueryKey = 'runs' | 'deep' | 'count' | 'none' | 'events';
const QUERIES: { key: QueryKey; label: string; goal: boolean }[] = [
  { key: 'runs', label: 'runs filtered', goal: true },
  { key: 'deep', label: 'runs filtered, deep cursor', goal: false },
  { key: 'count', label: 'runs filtered + totalCount', goal: false },
  { key: 'none', label: 'runs filtered, no match', goal: false },
  { key: 'events', label: 'runEvents after cursor', goal: true },
];

const globalId = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64url');
const sizeLabel = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);

interface Size {
  runs: number;
  label: string;
  db: SeededDatabase;
  /** The request bodies of each query, rotated through. */
  bodies: Record<QueryKey, string[]>;
  server?: ServerProcess;
}

function requestBodies(db: SeededDatabase, runs: number): Record<QueryKey, string[]> {
  const filters = Array.from({ length: PROJECTS }, (_, p) => ({ projectId: `project-${p}`, states: ['FAILED'] }));
  const deepId = db.sampled.get(Math.floor(runs * 0.75))!;
  const cursors = db.longRuns.flatMap((run) => [50, 100, 150].map((k) => ({ runId: globalId('Run', run.id), after: encodeCursor('RunEvent', run.positions[k - 1]!) })));
  return {
    runs: filters.map((filter) => JSON.stringify({ query: RUNS, variables: { filter } })),
    deep: filters.map((filter) => JSON.stringify({ query: RUNS, variables: { filter, after: encodeCursor('Run', deepId) } })),
    count: filters.map((filter) => JSON.stringify({ query: RUNS_COUNT, variables: { filter } })),
    // Projects with no FAILED run (here: no run at all; the index walk is the same).
    none: filters.map((filter) => JSON.stringify({ query: RUNS, variables: { filter: { ...filter, projectId: `quiet-${filter.projectId}` } } })),
    events: cursors.map((variables) => JSON.stringify({ query: EVENTS, variables })),
  };
}

/** Sends each body once; returns the number of edges per page (and fails on errors). */
async function probe(url: string, bodies: string[]): Promise<number[]> {
  const sizes: number[] = [];
  for (const body of bodies) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...HEADERS }, body });
    const json = (await response.json()) as { data?: Record<string, { edges: unknown[] }>; errors?: unknown[] };
    if (!response.ok || json.errors || !json.data) throw new Error(`${url}: ${JSON.stringify(json).slice(0, 500)}`);
    sizes.push(Object.values(json.data)[0]!.edges.length);
  }
  return sizes;
}

async function measure(size: Size, key: QueryKey, seconds: number): Promise<LoadResult> {
  const bodies = size.bodies[key];
  const result = await httpLoad({
    url: size.server!.info.url,
    concurrency: 1,
    seconds,
    headers: HEADERS,
    body: (i) => bodies[i % bodies.length]!,
    // `"errors":[` is GraphQL's error list (the counters' `errors` field is a number).
    check: (_status, body) => (body.startsWith('{"data"') && !body.includes('"errors":[') ? undefined : body.slice(0, 300)),
  });
  if (result.failed > 0) throw new Error(`${key} @${size.label}: ${result.failed} request(s) failed, first: ${result.firstFailure}`);
  return result;
}

/** The engine's statements for each query, on the large database, with their plans. */
async function plans(size: Size): Promise<Record<QueryKey, PlannedStatement[]>> {
  const filter = { projectId: 'project-3', states: ['failed' as const] };
  const long = size.db.longRuns[0]!;
  const deepId = size.db.sampled.get(Math.floor(size.runs * 0.75))!;
  return planEngineWork(size.db.path, {
    runs: (engine) => engine.queries.listRuns(filter, { first: 20 }),
    deep: (engine) => engine.queries.listRuns(filter, { first: 20, after: encodeCursor('Run', deepId) }),
    count: async (engine) => (await engine.queries.listRuns(filter, { first: 20 })).totalCount(),
    none: (engine) => engine.queries.listRuns({ ...filter, projectId: 'quiet-project-3' }, { first: 20 }),
    events: async (engine) => (await engine.queries.eventsPage({ runId: long.id }, { first: 20, after: encodeCursor('RunEvent', long.positions[99]!) })).totalCount(),
  });
}

const growth: Benchmark = {
  name: 'growth',
  title: 'Growth: p50 of the same pages over 100x more rows',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const quick = ctx.mode === 'quick';
    const counts = quick ? [1_000, 20_000] : [10_000, 1_000_000];
    const seconds = quick ? 1 : 5;
    const warmup = quick ? 0.25 : 1;
    const notes: string[] = [];

    const sizes: Size[] = [];
    for (const runs of counts) {
      const label = sizeLabel(runs);
      const db = await seedRunsDatabase(join(ctx.dir, `growth-${label}.sqlite`), { runs, projects: PROJECTS, events: 'created', longLogs: { runs: LONG_RUNS, events: LONG_EVENTS } }, [
        Math.floor(runs * 0.75),
      ]);
      ctx.log(`seeded ${label}: ${db.rows.runs} runs, ${db.rows.events} events in ${round(db.seconds, 1)} s (${round(db.fileBytes / 2 ** 20, 1)} MiB)`);
      sizes.push({ runs, label, db, bodies: requestBodies(db, runs) });
    }
    const [small, large] = sizes as [Size, Size];
    notes.push(
      'Databases: ' +
        sizes
          .map(
            (s) =>
              `${s.label}: ${s.db.rows.runs.toLocaleString('en-US')} runs, ${s.db.rows.events.toLocaleString('en-US')} run events, ${round(s.db.fileBytes / 2 ** 20, 1)} MiB, seeded in ${round(s.db.seconds, 1)} s`,
          )
          .join('; ') +
        `. Runs spread over ${PROJECTS} projects, about 20% FAILED; ${LONG_RUNS} long runs with ${LONG_EVENTS} events each spread over the whole log.`,
    );

    // The servers boot on their core while this process plans the queries on the large database.
    const starting = Promise.allSettled(sizes.map((s) => startServerProcess('gateway.ts', { BENCH_DB: s.db.path })));
    try {
      const planned = await plans(large);
      for (const { key, label } of QUERIES) {
        const statements = planned[key].map((s) => `\`${s.sql}\` -> ${s.plan.join(' / ')}${s.suspicious ? ' (FULL SCAN OR SORT)' : ''}`);
        notes.push(`Plan at ${large.label}, ${label}: ${statements.join('; ')}`);
      }
      const started = await starting;
      started.forEach((s, i) => {
        if (s.status === 'fulfilled') sizes[i]!.server = s.value;
      });
      for (const s of started) if (s.status === 'rejected') throw s.reason;

      const pageSizes: string[] = [];
      for (const size of sizes) {
        for (const { key, label } of QUERIES) {
          const edges = await probe(size.server!.info.url, size.bodies[key]);
          pageSizes.push(`${label} @${size.label}: ${Math.min(...edges)}-${Math.max(...edges)}`);
          await measure(size, key, warmup);
        }
      }
      notes.push(`Edges per page (min-max over the rotated requests): ${pageSizes.join(', ')}.`);

      const p50: Record<QueryKey, { small: number[]; large: number[] }> = {
        runs: { small: [], large: [] },
        deep: { small: [], large: [] },
        count: { small: [], large: [] },
        none: { small: [], large: [] },
        events: { small: [], large: [] },
      };
      const clientCpu: number[] = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const line: string[] = [];
        for (const { key } of QUERIES) {
          // Alternate which size goes first, against drift on a shared machine.
          const order = r % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const);
          const got: Partial<Record<'small' | 'large', LoadResult>> = {};
          for (const which of order) {
            const result = await measure(which === 'small' ? small : large, key, seconds);
            got[which] = result;
            p50[key][which].push(result.p50Ms);
            clientCpu.push(result.clientCpu);
          }
          line.push(`${key} p50 ${round(got.small!.p50Ms)} / ${round(got.large!.p50Ms)} ms (${Math.round(got.small!.perSecond)} / ${Math.round(got.large!.perSecond)} req/s)`);
        }
        ctx.log(`round ${r + 1} (${small.label} / ${large.label}): ${line.join('; ')}`);
      }

      const figures: Figure[] = [];
      const goals: BenchmarkReport['goals'] = [];
      for (const { key, label, goal } of QUERIES) {
        figures.push(figure(`${label} p50 @${small.label}`, 'ms', p50[key].small));
        const grown = figure(`${label} p50 @${large.label}`, 'ms', p50[key].large, { name: `@${small.label}`, values: p50[key].small });
        figures.push(grown);
        if (goal) {
          goals.push({ text: `${label}: p50 @${large.label} < 1.5x p50 @${small.label}`, met: grown.ratio! < 1.5, measured: `${round(grown.ratio!)}x` });
        } else if (grown.ratio! >= 1.5) {
          notes.push(`${label} grows ${round(grown.ratio!)}x from ${small.label} to ${large.label} rows (see its plan above).`);
        }
      }
      figures.push(figure('load generator CPU', 'cores', clientCpu));
      notes.push(`One request at a time (concurrency 1), ${seconds} s per query and size per round after ${warmup} s of warm-up.`);
      if (Math.max(...clientCpu) > 0.9) notes.push(`The load generator used up to ${round(Math.max(...clientCpu))} of its core: latencies may include client time.`);
      return { name: 'growth', title: this.title, rounds: ctx.rounds, figures, goals, notes };
    } finally {
      await Promise.all((await starting).map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    }
  },
};

export default growth;

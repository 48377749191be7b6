/**
 * The peer on PostgreSQL (issue 20): the gateway and PostGraphile 4.14.1
 * serving the same PostgreSQL database, loaded the same way in the same
 * rounds, on three requests:
 *
 *   page      runs(first: 20), newest first, with totalCount, each run's
 *             counters and its first 5 steps (PostGraphile: allRuns(first: 20,
 *             orderBy: PRIMARY_KEY_DESC) with stepAttemptsByRunId(first: 5,
 *             orderBy: SEQUENCE_ASC))
 *   filtered  the same page of one project's FAILED runs (PostGraphile: its
 *             built-in `condition` argument)
 *   typename  { __typename }: the per-request floor of each server, no data
 *
 * Setup per bench run: PostGraphile is installed into bench/postgraphile
 * (its own package.json and lockfile, not a dependency of the gateway) with
 * `npm ci` when its node_modules is missing; a fresh database
 * uet_bench_pg_<random> is created from BENCH_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/test; dropped after), migrated by the
 * gateway and seeded with the data (50,000 runs, 1-7 steps each; quick
 * mode: 2,000) by bench/lib/seed-runs-postgres.ts. Then the gateway
 * (bench/servers/gateway-shared.ts, no Redis) and PostGraphile
 * (bench/postgraphile/server.mjs) start on it, both pinned to the server
 * core, each with a pool of 10 connections. Before anything is measured the
 * two pages are checked to be the same: the same run ids in the same order,
 * the same step ids under each, the same totalCount.
 *
 * Per round and request, each server in turn (the order alternating by
 * round) takes a closed loop of 16 keep-alive connections for a fixed time;
 * every response body is checked against the one captured first. Figures:
 * req/s and server CPU per request (the server process's, from /proc), each
 * as gateway / PostGraphile per round, median of the rounds; beside them the
 * CPU of the database's PostgreSQL backends per request (from /proc, when
 * PostgreSQL runs on this machine), since PostGraphile leaves more of the
 * work (one statement that builds the JSON) to PostgreSQL. Goal (issue 20): at least PostGraphile's
 * req/s and at most its server CPU per request, on all three.
 * Without PostgreSQL the suite is skipped with a note, or fails when CI is set.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { knex, type Knex } from '@mikro-orm/knex';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { httpLoad, type LoadResult } from '../lib/load.js';
import { processCpuSeconds, startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport, type Figure } from '../lib/report.js';
import { seedRunsPostgres } from '../lib/seed-runs-postgres.js';
import { round, spread } from '../lib/stats.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const CONCURRENCY = 16;
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const PACKAGE_DIR = new URL('../postgraphile/', import.meta.url);
const FILTER = { projectId: 'project-3', state: 'FAILED' };

const SETTINGS: Record<BenchContext['mode'], { runs: number; seconds: number; warmup: number }> = {
  quick: { runs: 2_000, seconds: 1, warmup: 0.5 },
  full: { runs: 50_000, seconds: 5, warmup: 2 },
};

type Server = 'gateway' | 'postgraphile';
type RequestName = 'page' | 'filtered' | 'typename';
const SERVERS: Server[] = ['gateway', 'postgraphile'];
const REQUESTS: RequestName[] = ['page', 'filtered', 'typename'];
const REQUEST_LABEL: Record<RequestName, string> = {
  page: 'runs(first: 20) + 5 steps each + totalCount',
  filtered: `the same filtered by project and state (${FILTER.projectId}, ${FILTER.state})`,
  typename: '{ __typename }',
};

const gatewayPage = (filter: string) =>
  `query RunsPage { runs(first: 20${filter}) { totalCount edges { cursor node { id state projectId createdAt ` +
  'counters { stepAttempts patchesCreated patchesApplied errors } steps(first: 5) { edges { node { id toolId state } } } } } ' +
  'pageInfo { hasNextPage endCursor } } }';
const postgraphilePage = (condition: string) =>
  `query RunsPage { allRuns(first: 20, orderBy: PRIMARY_KEY_DESC${condition}) { totalCount edges { cursor node { id state projectId createdAt ` +
  'stepAttempts patchesCreated patchesApplied errors stepAttemptsByRunId(first: 5, orderBy: SEQUENCE_ASC) { edges { node { id toolId state } } } } } ' +
  'pageInfo { hasNextPage endCursor } } }';

const DOCUMENTS: Record<Server, Record<RequestName, string>> = {
  gateway: {
    page: gatewayPage(''),
    filtered: gatewayPage(`, filter: { projectId: "${FILTER.projectId}", states: [${FILTER.state}] }`),
    typename: '{ __typename }',
  },
  postgraphile: {
    page: postgraphilePage(''),
    filtered: postgraphilePage(`, condition: { projectId: "${FILTER.projectId}", state: "${FILTER.state.toLowerCase()}" }`),
    typename: '{ __typename }',
  },
};
// PostGraphile without a JWT secret refuses a request that carries a token.
const HEADERS: Record<Server, Record<string, string>> = { gateway: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` }, postgraphile: {} };

interface Phase extends LoadResult {
  serverCpuMsPerRequest: number;
  /** PostgreSQL's CPU on the bench database per request; NaN when PostgreSQL is not on this machine. */
  databaseCpuMsPerRequest: number;
}

// ---------------------------------------------------------------- setup

const redact = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');

const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

/** Installs bench/postgraphile from its lockfile unless it is there; says so in the log. */
function ensurePostgraphile(ctx: BenchContext): void {
  if (existsSync(new URL('node_modules/postgraphile/package.json', PACKAGE_DIR))) return;
  ctx.log('installing PostGraphile for this suite: npm ci --prefix bench/postgraphile');
  const began = performance.now();
  try {
    execFileSync('npm', ['ci', '--prefix', PACKAGE_DIR.pathname, '--no-audit', '--no-fund'], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`npm ci --prefix bench/postgraphile failed: ${stderr.slice(-2000) || String(error)}`);
  }
  ctx.log(`installed in ${round((performance.now() - began) / 1000, 1)} s`);
}

// ---------------------------------------------------------------- the pages

async function post(server: Server, url: string, request: RequestName): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...HEADERS[server] },
    body: JSON.stringify({ query: DOCUMENTS[server][request] }),
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as { errors?: unknown };
  if (!response.ok || parsed.errors) throw new Error(`${server} answered HTTP ${response.status} to ${request}: ${text.slice(0, 500)}`);
  return text;
}

interface Page {
  totalCount: number;
  /** Run ids in page order, each with its step ids in order. */
  runs: { id: string; steps: string[] }[];
}

/** The gateway's ids are global ids: base64url of "<Type>:<id>". */
const entityId = (globalId: string) => Buffer.from(globalId, 'base64url').toString('utf8').split(':')[1]!;

function pageOf(server: Server, body: string): Page {
  const data = (JSON.parse(body) as { data: any }).data;
  if (server === 'gateway') {
    return {
      totalCount: data.runs.totalCount,
      runs: data.runs.edges.map((e: any) => ({ id: entityId(e.node.id), steps: e.node.steps.edges.map((s: any) => entityId(s.node.id)) })),
    };
  }
  return {
    totalCount: data.allRuns.totalCount,
    runs: data.allRuns.edges.map((e: any) => ({ id: e.node.id, steps: e.node.stepAttemptsByRunId.edges.map((s: any) => s.node.id) })),
  };
}

/** Throws unless both servers answer the same runs in the same order with the same steps; returns the page's size. */
function checkSamePage(request: RequestName, bodies: Record<Server, string>): { runs: number; steps: number; totalCount: number } {
  const [a, b] = SERVERS.map((s) => pageOf(s, bodies[s])) as [Page, Page];
  const same = a.totalCount === b.totalCount && a.runs.length === b.runs.length && a.runs.every((run, i) => run.id === b.runs[i]!.id && run.steps.join() === b.runs[i]!.steps.join());
  if (!same) throw new Error(`the two servers answer different pages to ${request}:\ngateway ${JSON.stringify(a).slice(0, 600)}\npostgraphile ${JSON.stringify(b).slice(0, 600)}`);
  if (a.runs.length !== 20) throw new Error(`${request}: expected 20 runs, got ${a.runs.length}`);
  return { runs: a.runs.length, steps: a.runs.reduce((n, run) => n + run.steps.length, 0), totalCount: a.totalCount };
}

// ---------------------------------------------------------------- load

/**
 * CPU seconds so far of each PostgreSQL backend connected to `database` (pid to seconds, from /proc), or null
 * when PostgreSQL does not run on this machine. A backend that exits within a phase (a parallel worker) is
 * not counted: the figure is a floor.
 */
async function backendCpu(admin: Knex, database: string): Promise<Map<number, number> | null> {
  const { rows } = (await admin.raw('select pid from pg_stat_activity where datname = ?', [database])) as { rows: { pid: number }[] };
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') cpu.set(pid, processCpuSeconds(pid));
    } catch {
      // Gone since the query, or not a process of this machine.
    }
  }
  return cpu.size > 0 ? cpu : null;
}

function cpuSince(before: Map<number, number> | null, after: Map<number, number> | null): number {
  if (!before || !after) return NaN;
  let seconds = 0;
  for (const [pid, now] of after) seconds += now - (before.get(pid) ?? 0);
  return seconds;
}

async function load(server: Server, target: ServerProcess, request: RequestName, seconds: number, expected: string, database: { admin: Knex; name: string }): Promise<Phase> {
  const body = JSON.stringify({ query: DOCUMENTS[server][request] });
  const backendsBefore = await backendCpu(database.admin, database.name);
  const cpuBefore = target.cpuSeconds();
  const result = await httpLoad({
    url: target.info.url,
    concurrency: CONCURRENCY,
    seconds,
    headers: HEADERS[server],
    body: () => body,
    check: (_status, text) => (text === expected ? undefined : `a different body: ${text.slice(0, 300)}`),
  });
  const cpuSeconds = target.cpuSeconds() - cpuBefore;
  const databaseSeconds = cpuSince(backendsBefore, await backendCpu(database.admin, database.name));
  if (result.failed > 0) throw new Error(`${server} ${request}: ${result.failed} request(s) failed, first: ${result.firstFailure}`);
  return { ...result, serverCpuMsPerRequest: (cpuSeconds * 1000) / result.completed, databaseCpuMsPerRequest: (databaseSeconds * 1000) / result.completed };
}

export default {
  name: 'postgraphile',
  title: 'The peer on PostgreSQL: the gateway vs PostGraphile 4.14.1 on the same database (runs page, filtered page, { __typename })',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const settings = SETTINGS[ctx.mode];
    const database = `uet_bench_pg_${randomBytes(4).toString('hex')}`;
    const admin: Knex = knex({ client: 'pg', connection: { connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 }, pool: { min: 0, max: 1 } });
    try {
      await admin.raw(`create database "${database}"`);
    } catch (error) {
      await admin.destroy();
      const message = `postgraphile needs PostgreSQL (BENCH_POSTGRES_URL): ${redact(POSTGRES_URL)}: ${error instanceof Error ? error.message : String(error)}`;
      if (process.env.CI) throw new Error(message);
      ctx.log(`skipped: ${message}`);
      return { name: 'postgraphile', title: this.title, rounds: 0, figures: [], goals: [], notes: [`skipped: ${message}`] };
    }

    const running: ServerProcess[] = [];
    try {
      try {
        ensurePostgraphile(ctx);
      } catch (error) {
        // The smoke run (CI) must not depend on the npm registry for a baseline; a full run asked for it and fails.
        if (ctx.mode !== 'quick') throw error;
        const message = error instanceof Error ? error.message : String(error);
        ctx.log(`skipped: ${message}`);
        return { name: 'postgraphile', title: this.title, rounds: 0, figures: [], goals: [], notes: [`skipped: ${message}`] };
      }
      const url = withDatabase(POSTGRES_URL, database);
      const db = { admin, name: database };
      const seeded = await seedRunsPostgres(url, { runs: settings.runs, projects: 10, events: 'created', steps: (i) => (i % 7) + 1 });
      const rows = `${seeded.rows.runs.toLocaleString('en-US')} runs, ${seeded.rows.steps.toLocaleString('en-US')} steps, ${seeded.rows.events.toLocaleString('en-US')} run events`;
      ctx.log(`database ${database}: migrated and seeded with ${rows} in ${round(seeded.seconds, 1)} s`);

      const began = performance.now();
      const started = await Promise.allSettled([
        startServerProcess('gateway-shared.ts', { DATABASE_URL: url, REDIS_URL: '' }),
        startServerProcess(new URL('server.mjs', PACKAGE_DIR), { DATABASE_URL: url }),
      ]);
      for (const s of started) if (s.status === 'fulfilled') running.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      const [gateway, postgraphile] = running as [ServerProcess, ServerProcess];
      const servers: Record<Server, ServerProcess> = { gateway, postgraphile };
      ctx.log(`gateway and PostGraphile ${postgraphile.info.postgraphile as string} ready in ${round((performance.now() - began) / 1000, 1)} s`);

      // Each server's answer, captured once and checked against the other's; every response is then checked against it.
      const expected = {} as Record<RequestName, Record<Server, string>>;
      const notes: string[] = [];
      for (const request of REQUESTS) {
        expected[request] = { gateway: await post('gateway', gateway.info.url, request), postgraphile: await post('postgraphile', postgraphile.info.url, request) };
        if (request === 'typename') continue;
        const page = checkSamePage(request, expected[request]);
        notes.push(
          `${request}: both servers answer the same ${page.runs} runs in the same order with the same ${page.steps} steps, totalCount ${page.totalCount.toLocaleString('en-US')} ` +
            `(${expected[request].gateway.length.toLocaleString('en-US')} / ${expected[request].postgraphile.length.toLocaleString('en-US')} bytes of JSON, gateway / PostGraphile)`,
        );
      }
      ctx.log('the pages are the same on both servers');

      for (const request of REQUESTS) for (const server of SERVERS) await load(server, servers[server], request, settings.warmup, expected[request][server], db);

      const phases = {} as Record<RequestName, Record<Server, Phase[]>>;
      for (const request of REQUESTS) phases[request] = { gateway: [], postgraphile: [] };
      for (let r = 0; r < ctx.rounds; r++) {
        for (const request of REQUESTS) {
          // Alternate which server goes first, so that drift on a shared machine does not always favour one.
          const order = r % 2 === 0 ? SERVERS : [...SERVERS].reverse();
          for (const server of order) phases[request][server].push(await load(server, servers[server], request, settings.seconds, expected[request][server], db));
          const line = SERVERS.map((s) => {
            const p = phases[request][s][r]!;
            return `${s} ${Math.round(p.perSecond)}/s, ${round(p.serverCpuMsPerRequest)} ms CPU/req (PostgreSQL ${round(p.databaseCpuMsPerRequest)}), p50 ${round(p.p50Ms)} ms (client cpu ${round(p.clientCpu)})`;
          });
          ctx.log(`round ${r + 1}, ${request}: ${line.join('; ')}`);
        }
      }

      const figures: Figure[] = [];
      const goals: BenchmarkReport['goals'] = [];
      let busiestClient = 0;
      for (const request of REQUESTS) {
        const of = (server: Server, pick: (p: Phase) => number) => phases[request][server].map(pick);
        const label = REQUEST_LABEL[request];
        // The gateway's figure against PostGraphile's, and PostGraphile's alone.
        const pair = (what: string, unit: string, pick: (p: Phase) => number) => {
          const gateway = figure(`${label}: gateway${what}`, unit, of('gateway', pick), { name: `PostGraphile${what}`, values: of('postgraphile', pick) });
          figures.push(gateway, figure(`${label}: PostGraphile${what}`, unit, of('postgraphile', pick)));
          return gateway;
        };
        const rps = pair('', 'req/s', (p) => p.perSecond);
        const cpu = pair(' server CPU per request', 'ms', (p) => p.serverCpuMsPerRequest);
        // { __typename } runs no statement.
        if (request !== 'typename' && of('gateway', (p) => p.databaseCpuMsPerRequest).every(Number.isFinite)) {
          pair(' PostgreSQL CPU per request', 'ms', (p) => p.databaseCpuMsPerRequest);
          pair(' server + PostgreSQL CPU per request', 'ms', (p) => p.serverCpuMsPerRequest + p.databaseCpuMsPerRequest);
        }
        pair(' p50', 'ms', (p) => p.p50Ms);
        pair(' p99', 'ms', (p) => p.p99Ms);
        for (const server of SERVERS) busiestClient = Math.max(busiestClient, ...of(server, (p) => p.clientCpu));
        const median = (server: Server, pick: (p: Phase) => number) => round(spread(of(server, pick)).median);
        goals.push(
          {
            text: `${label}: gateway req/s >= PostGraphile's`,
            met: rps.ratio! >= 1,
            measured: `${round(rps.ratio!)}x (${Math.round(rps.value.median)} vs ${Math.round(spread(of('postgraphile', (p) => p.perSecond)).median)} req/s, median)`,
          },
          {
            text: `${label}: gateway server CPU per request <= PostGraphile's`,
            met: cpu.ratio! <= 1,
            measured: `${round(cpu.ratio!)}x (${median('gateway', (p) => p.serverCpuMsPerRequest)} vs ${median('postgraphile', (p) => p.serverCpuMsPerRequest)} ms, median)`,
          },
        );
      }

      notes.unshift(
        `Database ${database} (new, dropped after): ${rows}, seeded in ${round(seeded.seconds, 1)} s. Gateway: bench/servers/gateway-shared.ts (no Redis); ` +
          `PostGraphile ${postgraphile.info.postgraphile as string}: bench/postgraphile/server.mjs; both pinned to the server core, 10 connections each; PostgreSQL unpinned.`,
        `Closed loop: ${CONCURRENCY} keep-alive connections, ${settings.seconds} s per server per request per round after ${settings.warmup} s of warm-up; ` +
          "server CPU is the server process over the phase (/proc), per completed request; PostgreSQL CPU is the bench database's backends over the phase " +
          '(/proc, when PostgreSQL runs on this machine; a backend that exits within the phase is not counted).',
      );
      if (busiestClient > 0.9) notes.push(`The load generator used up to ${round(busiestClient)} of its core: the fastest figures may be bound by the client, not the server.`);
      return {
        name: 'postgraphile',
        title: this.title,
        rounds: ctx.rounds,
        figures,
        goals: ctx.mode === 'quick' ? goals.map((g) => ({ ...g, text: `${g.text} (quick mode: ${settings.runs.toLocaleString('en-US')} runs, not the goal's size)` })) : goals,
        notes,
      };
    } finally {
      await Promise.all(running.map((server) => server.stop()));
      await admin.raw(`drop database if exists "${database}" with (force)`).catch((error: unknown) => ctx.log(`could not drop ${database}: ${String(error)}`));
      await admin.destroy();
    }
  },
} satisfies Benchmark;

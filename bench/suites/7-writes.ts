/**
 * Write path (issue 9, benchmark 7): state-changing mutations, each one
 * transaction with its run event, against raw sqlite3 single-row
 * transactions on the same file settings (WAL, synchronous=NORMAL).
 *
 * Per round, with the same concurrency:
 *   raw      BEGIN; INSERT one row; COMMIT through the sqlite3 driver (the baseline)
 *   engine   engine.runs.createRun then startRun, called in-process (no GraphQL, no HTTP)
 *   graphql  createRun then startRun as GraphQL mutations over HTTP to the gateway process
 *   ceiling  a trivial mutation (`ping`) on a bare graphql-yoga server, same client and
 *            concurrency: what any GraphQL mutation over HTTP costs before it writes anything
 * Each figure counts transactions per second (createRun and startRun are one each).
 */
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { httpLoad } from '../lib/load.js';
import { startServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport } from '../lib/report.js';
import { percentile, round } from '../lib/stats.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { createEngine } from '../../src/engine/index.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const PRAGMAS = 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000';
const CONCURRENCY = 16;

function exec(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
}

/** Raw sqlite3: single-row transactions, CONCURRENCY callers queued on one connection as the gateway's pool is. */
async function rawTransactions(path: string, seconds: number): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const db = new sqlite3.Database(path);
  await new Promise<void>((resolve, reject) => db.exec(PRAGMAS, (error) => (error ? reject(error) : resolve())));
  await exec(db, 'CREATE TABLE IF NOT EXISTS raw_write (id INTEGER PRIMARY KEY, state TEXT NOT NULL, created_at TEXT NOT NULL)');
  // One connection: transactions must not interleave, so callers take turns as knex's pool of one makes them.
  let chain = Promise.resolve();
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const began = performance.now();
  const caller = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const turn = chain.then(async () => {
        await exec(db, 'BEGIN');
        await exec(db, 'INSERT INTO raw_write (state, created_at) VALUES (?, ?)', ['pending', new Date().toISOString()]);
        await exec(db, 'COMMIT');
      });
      chain = turn;
      await turn;
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  const elapsed = (performance.now() - began) / 1000;
  await new Promise<void>((resolve) => db.close(() => resolve()));
  return { perSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

/** The engine in this process: createRun then startRun per caller iteration (two transactions). */
async function engineTransactions(path: string, seconds: number): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const orm = await openDatabase({ sqlitePath: path });
  await migrateDatabase(orm);
  const engine = createEngine({ orm });
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const began = performance.now();
  const caller = async () => {
    while (performance.now() < deadline) {
      let started = performance.now();
      const run = await engine.runs.createRun({ projectId: 'bench', phaseId: 'writes' });
      latencies.push(performance.now() - started);
      started = performance.now();
      await engine.runs.startRun(run.id);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, caller));
  const elapsed = (performance.now() - began) / 1000;
  engine.close();
  await orm.close();
  return { perSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

const PING = JSON.stringify({ query: 'mutation { ping(n: 1) }' });
const CREATE = 'mutation { createRun(input: { projectId: "bench", phaseId: "writes" }) { run { id } } }';
const START = 'mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }';

/** The gateway over HTTP: half the requests create runs, half start the runs created before. */
async function graphqlTransactions(url: string, seconds: number) {
  const created: string[] = [];
  let started = 0;
  return httpLoad({
    url,
    concurrency: CONCURRENCY,
    seconds,
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: () => (started < created.length && Math.random() < 0.5 ? JSON.stringify({ query: START, variables: { id: created[started++] } }) : JSON.stringify({ query: CREATE })),
    check: (_status, body) => {
      const parsed = JSON.parse(body) as { data?: any; errors?: unknown[] };
      if (parsed.errors) return JSON.stringify(parsed.errors).slice(0, 300);
      const id = parsed.data?.createRun?.run?.id;
      if (id) created.push(id);
      return undefined;
    },
  });
}

const writes: Benchmark = {
  name: 'writes',
  title: 'Write path: state-changing mutations against raw sqlite3 transactions',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const seconds = ctx.mode === 'quick' ? 1 : 5;
    const raw: number[] = [];
    const engine: number[] = [];
    const graphql: number[] = [];
    const ceiling: number[] = [];
    const notes: string[] = [];
    const gatewayDb = join(ctx.dir, 'gateway.sqlite');
    const server = await startServerProcess('gateway.ts', { BENCH_DB: gatewayDb });
    const bare = await startServerProcess('bare-yoga.ts');
    try {
      await graphqlTransactions(server.info.url, ctx.mode === 'quick' ? 0.3 : 1); // warm-up
      for (let r = 0; r < ctx.rounds; r++) {
        const a = await rawTransactions(join(ctx.dir, `raw-${r}.sqlite`), seconds);
        const b = await engineTransactions(join(ctx.dir, `engine-${r}.sqlite`), seconds);
        const c = await graphqlTransactions(server.info.url, seconds);
        if (c.failed > 0) throw new Error(`gateway mutations failed: ${c.firstFailure}`);
        const d = await httpLoad({ url: bare.info.url, concurrency: CONCURRENCY, seconds, body: () => PING });
        if (d.failed > 0) throw new Error(`bare Yoga pings failed: ${d.firstFailure}`);
        raw.push(a.perSecond);
        engine.push(b.perSecond);
        graphql.push(c.perSecond);
        ceiling.push(d.perSecond);
        ctx.log(
          `round ${r + 1}: raw ${round(a.perSecond)}/s (p99 ${round(a.p99Ms)} ms), engine ${round(b.perSecond)}/s (p99 ${round(b.p99Ms)} ms), ` +
            `graphql ${round(c.perSecond)}/s (p50 ${round(c.p50Ms)} ms, p99 ${round(c.p99Ms)} ms, client cpu ${round(c.clientCpu)}), ` +
            `bare Yoga ping ${round(d.perSecond)}/s`,
        );
      }
    } finally {
      await Promise.all([server.stop(), bare.stop()]);
    }
    notes.push(`${CONCURRENCY} concurrent callers; one SQLite connection per database, as the gateway runs.`);
    const engineFigure = figure('engine createRun/startRun in-process', 'tx/s', engine, { name: 'raw sqlite3', values: raw });
    // Issue 20's goals: a GraphQL mutation is measured against the trivial one (which itself reaches only a fraction of raw sqlite3).
    const graphqlFigure = figure('gateway mutations over GraphQL/HTTP', 'tx/s', graphql, { name: 'bare Yoga trivial mutation', values: ceiling });
    return {
      name: 'writes',
      title: this.title,
      rounds: ctx.rounds,
      figures: [
        figure('raw sqlite3 single-row transactions', 'tx/s', raw),
        engineFigure,
        graphqlFigure,
        figure('bare Yoga trivial mutation (ceiling)', 'req/s', ceiling, { name: 'raw sqlite3', values: raw }),
      ],
      goals: [
        {
          text: 'engine state changes in-process at >= 0.3x raw sqlite3 single-row transactions',
          met: engineFigure.ratio! >= 0.3,
          measured: `${round(engineFigure.ratio!)}x`,
        },
        {
          text: 'state-changing mutations over GraphQL/HTTP at >= 0.5x the trivial bare-Yoga mutation, 16 concurrent callers',
          met: graphqlFigure.ratio! >= 0.5,
          measured: `${round(graphqlFigure.ratio!)}x`,
        },
      ],
      notes,
    };
  },
};

export default writes;

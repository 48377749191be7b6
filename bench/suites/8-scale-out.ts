/**
 * Scale-out fan-out: two gateway instances on one PostgreSQL database and
 * one Redis (events cross instances on @graphql-yoga/redis-event-target),
 * N graphql-ws subscribers split over both, events published by mutations
 * on ONE of them. Compared, in the same run and with the same load, with
 *   one     all N subscribers on that one instance (same processes, same
 *           PostgreSQL database, same Redis: a notice goes through Redis
 *           there too, so the difference is the split itself);
 *   sqlite  the single-instance default: one gateway on a SQLite file with
 *           the in-process bus (bench/servers/gateway.ts, as in `fanout`).
 *
 * Setup per bench run: a fresh PostgreSQL database uet_bench_<random>
 * (created from BENCH_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test, and dropped after), instances A
 * and B started together (each runs the migrations at start, DATABASE_URL;
 * they take turns on PostgreSQL's advisory lock), both with REDIS_URL
 * (BENCH_REDIS_URL, default redis://127.0.0.1:6379) and one
 * UET_REDIS_PREFIX unique to the run (bench/servers/gateway-shared.ts).
 * Without PostgreSQL or Redis the suite is skipped with a note, or fails
 * when CI is set.
 *
 * Per round, stream and target: N sockets (one subscription each; `two`:
 * even subscribers on A, odd on B), a probe event every 50 ms until every
 * subscriber has received one (so all are attached: not measured), then
 *   20/s        events on a fixed schedule from one keep-alive socket to A;
 *               latency from the mutation's send to the subscriber's
 *               receipt; for `two` also split by the subscriber's instance
 *               (same as the publisher's: A, the other: B)
 *   saturation  E events as fast as A takes them (4 mutations in flight);
 *               deliveries per second from the first send to the last
 *               delivery
 * Every subscriber must receive every event exactly once: lost and
 * duplicated deliveries are counted per target. Streams: runEvents(runId:)
 * (addRunNote: a committed transaction, then each instance reads the log
 * tail) and workerHeartbeats (heartbeat: the notice carries the beat).
 *
 * Machine: the runner pins every server to one core (the load generator has
 * the other), so A and B SHARE that core: `two` has the same CPU as `one`,
 * and the ratio two / one is the price of the split (a second tail read
 * per event, a second process's wake-ups), not a capacity gain. PostgreSQL
 * and Redis are not pinned: they take CPU from both cores.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { knex, type Knex } from '@mikro-orm/knex';
import { Redis } from 'ioredis';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import {
  clientCpuNote,
  createSubjects,
  gatewayTarget,
  measureFanout,
  quickGoals,
  SATURATION_CONCURRENCY,
  socketUrl,
  STREAM_LABEL,
  Tally,
  type FanoutMeasurement,
  type FanoutTarget,
  type PhaseSettings,
  type StreamName,
} from '../lib/fanout.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport, type Figure } from '../lib/report.js';
import { round, spread } from '../lib/stats.js';

interface Settings extends PhaseSettings {
  size: number;
  streams: StreamName[];
}

const SETTINGS: Record<BenchContext['mode'], Settings> = {
  quick: { size: 20, streams: ['runEvents'], rate: 20, rateSeconds: 0.5, saturationDeliveries: 400 },
  full: { size: 1000, streams: ['runEvents', 'workerHeartbeats'], rate: 20, rateSeconds: 5, saturationDeliveries: 100_000 },
};

const P99_GOAL_MS = 100;
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';

type TargetName = 'sqlite' | 'one' | 'two';
const TARGETS: TargetName[] = ['sqlite', 'one', 'two'];

/** In `two`, the subscribers on the publisher's instance (A): the even ones. */
const onA = (index: number) => index % 2 === 0;
const onB = (index: number) => !onA(index);

interface Measured extends FanoutMeasurement {
  /** `two` only: p99 of the subscribers on the publisher's instance (A) and on the other (B). */
  p99Same: number;
  p99Other: number;
  /** `two` only: the lost deliveries of the subscribers on B. */
  lostOther: number;
}

async function measure(target: FanoutTarget, stream: StreamName, n: number, settings: Settings): Promise<Measured> {
  const m = await measureFanout(target, stream, n, settings);
  const two = target.name === 'two';
  return {
    ...m,
    p99Same: two ? m.fixed.percentileOf(99, onA) : NaN,
    p99Other: two ? m.fixed.percentileOf(99, onB) : NaN,
    lostOther: two ? m.fixed.missingOf(onB) + m.saturated.missingOf(onB) : 0,
    problems: [...m.problems, ...(m.stray > 0 ? [`${target.name} ${stream} N=${n}: ${m.stray} deliveries outside any phase`] : [])],
  };
}

// ---------------------------------------------------------------- setup

const redact = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');

const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

/** Null when Redis answers PING within 3 s, else why not. */
async function redisProblem(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG' ? null : 'no PONG';
  } catch (error) {
    return String(error instanceof Error ? error.message : error);
  } finally {
    redis.disconnect();
  }
}

export default {
  name: 'scale-out',
  title: 'Scale-out fan-out: two gateway instances on one PostgreSQL + Redis vs one instance (same setup) and the single SQLite instance',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const settings = SETTINGS[ctx.mode];
    const n = settings.size;

    // PostgreSQL and Redis first: without them there is nothing to measure.
    const database = `uet_bench_${randomBytes(4).toString('hex')}`;
    const prefix = `uet-bench-${randomBytes(4).toString('hex')}:`;
    const admin: Knex = knex({ client: 'pg', connection: { connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 }, pool: { min: 0, max: 1 } });
    let created = false;
    const unavailable: string[] = [];
    try {
      await admin.raw(`create database "${database}"`);
      created = true;
    } catch (error) {
      unavailable.push(`PostgreSQL at ${redact(POSTGRES_URL)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const redisDown = await redisProblem(REDIS_URL);
    if (redisDown) unavailable.push(`Redis at ${REDIS_URL}: ${redisDown}`);
    if (unavailable.length) {
      if (created) await admin.raw(`drop database if exists "${database}" with (force)`).catch(() => {});
      await admin.destroy();
      const message = `scale-out needs PostgreSQL and Redis (BENCH_POSTGRES_URL, BENCH_REDIS_URL): ${unavailable.join('; ')}`;
      if (process.env.CI) throw new Error(message);
      ctx.log(`skipped: ${message}`);
      return { name: 'scale-out', title: this.title, rounds: 0, figures: [], goals: [], notes: [`skipped: ${message}`] };
    }

    const servers: ServerProcess[] = [];
    try {
      const shared = { DATABASE_URL: withDatabase(POSTGRES_URL, database), REDIS_URL: REDIS_URL, UET_REDIS_PREFIX: prefix };
      // All three at once: A and B both run the migrations at start, and take turns on PostgreSQL (an advisory lock).
      const began = performance.now();
      const started = await Promise.allSettled([
        startServerProcess('gateway-shared.ts', shared),
        startServerProcess('gateway-shared.ts', shared),
        startServerProcess('gateway.ts', { BENCH_DB: join(ctx.dir, 'scale-out.sqlite') }),
      ]);
      for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      const [a, b, sqlite] = servers as [ServerProcess, ServerProcess, ServerProcess];
      ctx.log(`instances A, B (PostgreSQL, migrations at start) and sqlite ready in ${round((performance.now() - began) / 1000, 1)} s`);

      const onPostgres = await createSubjects(a.info.url as string, 'bench-scale-out');
      const onSqlite = await createSubjects(sqlite.info.url as string, 'bench-scale-out');
      const deployments: Record<TargetName, FanoutTarget> = {
        sqlite: gatewayTarget({ name: 'sqlite', wsUrlOf: () => socketUrl(sqlite), publishUrl: sqlite.info.url as string, subjects: onSqlite, servers: [sqlite] }),
        one: gatewayTarget({ name: 'one', wsUrlOf: () => socketUrl(a), publishUrl: a.info.url as string, subjects: onPostgres, servers: [a, b] }),
        two: gatewayTarget({ name: 'two', wsUrlOf: (i) => socketUrl(onA(i) ? a : b), publishUrl: a.info.url as string, subjects: onPostgres, servers: [a, b] }),
      };

      const tally = new Tally();
      const lost: Record<TargetName, number> = { sqlite: 0, one: 0, two: 0 };
      const duplicated: Record<TargetName, number> = { sqlite: 0, one: 0, two: 0 };
      let lostOther = 0;
      let outOfOrder = 0;
      let maxClient = 0;

      for (let r = 0; r < ctx.rounds; r++) {
        for (const stream of settings.streams) {
          const line: string[] = [];
          for (const name of TARGETS) {
            const m = await measure(deployments[name], stream, n, settings);
            const key = `${stream}.${name}`;
            tally.record(key, r, m);
            if (name === 'two') {
              tally.add(`${key}.p99Same`, m.p99Same);
              tally.add(`${key}.p99Other`, m.p99Other);
            }
            lost[name] += m.lost;
            duplicated[name] += m.duplicated;
            lostOther += m.lostOther;
            outOfOrder += m.outOfOrder;
            maxClient = Math.max(maxClient, m.clientCpu);
            line.push(`${name} p50 ${round(m.p50)} / p99 ${round(m.p99)} ms, ${Math.round(m.rate)}/s`);
          }
          ctx.log(`round ${r + 1}, ${STREAM_LABEL[stream]}, N=${n}: ${line.join('; ')}`);
        }
      }

      const figures: Figure[] = [];
      const goals: BenchmarkReport['goals'] = [];
      for (const stream of settings.streams) {
        const k = (name: TargetName, what: string) => tally.of(`${stream}.${name}.${what}`);
        const label = `${STREAM_LABEL[stream]} N=${n}`;
        const at = `${settings.rate}/s`;
        figures.push(
          figure(`${label}, ${at}: two instances p50`, 'ms', k('two', 'p50'), { name: 'one instance p50', values: k('one', 'p50') }),
          figure(`${label}, ${at}: two instances p99`, 'ms', k('two', 'p99'), { name: 'one instance p99', values: k('one', 'p99') }),
          figure(`${label}, ${at}: two instances p99`, 'ms', k('two', 'p99'), { name: 'sqlite p99', values: k('sqlite', 'p99') }),
          figure(`${label}, ${at}: two, subscribers on the other instance p99`, 'ms', k('two', 'p99Other'), { name: 'same instance p99', values: k('two', 'p99Same') }),
          figure(`${label}, ${at}: two instances max`, 'ms', k('two', 'max')),
          figure(`${label}, ${at}: one instance (PostgreSQL + Redis) p50`, 'ms', k('one', 'p50')),
          figure(`${label}, ${at}: one instance (PostgreSQL + Redis) p99`, 'ms', k('one', 'p99'), { name: 'sqlite p99', values: k('sqlite', 'p99') }),
          figure(`${label}, ${at}: sqlite p50`, 'ms', k('sqlite', 'p50')),
          figure(`${label}, ${at}: sqlite p99`, 'ms', k('sqlite', 'p99')),
          figure(`${label}, ${at}: two instances, server CPU (A + B)`, 'cores', k('two', 'rateServer'), { name: 'one instance', values: k('one', 'rateServer') }),
          figure(`${label}, saturated: two instances`, 'deliveries/s', k('two', 'rate'), { name: 'one instance', values: k('one', 'rate') }),
          figure(`${label}, saturated: one instance (PostgreSQL + Redis)`, 'deliveries/s', k('one', 'rate'), { name: 'sqlite', values: k('sqlite', 'rate') }),
          figure(`${label}, saturated: sqlite`, 'deliveries/s', k('sqlite', 'rate')),
          figure(`${label}, saturated: two instances, server CPU per delivery (A + B)`, 'us', k('two', 'cost'), { name: 'one instance', values: k('one', 'cost') }),
          figure(`${label}, saturated: sqlite server CPU per delivery`, 'us', k('sqlite', 'cost')),
        );
        const p99 = spread(k('two', 'p99')).median;
        goals.push({
          text: `${STREAM_LABEL[stream]}: two instances, p99 < ${P99_GOAL_MS} ms at ${n} subscribers x ${settings.rate} events/s`,
          met: p99 < P99_GOAL_MS,
          measured:
            `p99 ${round(p99)} ms (median over rounds); one instance ${round(spread(k('one', 'p99')).median)} ms, ` +
            `sqlite ${round(spread(k('sqlite', 'p99')).median)} ms; other-instance subscribers ${round(spread(k('two', 'p99Other')).median)} ms`,
        });
      }
      goals.push({
        text: 'deliveries = N x events on every deployment, stream and phase (0 lost, 0 duplicated)',
        met: TARGETS.every((t) => lost[t] === 0 && duplicated[t] === 0),
        measured:
          TARGETS.map((t) => `${t}: ${lost[t]} lost, ${duplicated[t]} duplicated`).join('; ') +
          ` (two: ${lostOther} of the lost on the other instance); ${outOfOrder} out of publish order in the ${settings.rate}/s phases`,
      });

      return {
        name: 'scale-out',
        title: this.title,
        rounds: ctx.rounds,
        figures,
        goals: quickGoals(ctx.mode === 'quick', goals, n),
        notes: [
          `two: instances A and B (bench/servers/gateway-shared.ts) on PostgreSQL database ${database} (new, dropped after) and Redis ${REDIS_URL} ` +
            `(prefix ${prefix}); even subscribers on A, odd on B; every mutation to A. one: all subscribers on A, same processes, database and Redis. ` +
            'sqlite: bench/servers/gateway.ts on a SQLite file, in-process bus',
          `${settings.rate}/s phase: ${Math.round(settings.rate * settings.rateSeconds)} events on a fixed schedule, latency from the mutation's send to the receipt; ` +
            `saturation: ${settings.saturationDeliveries.toLocaleString('en-US')} deliveries (events = that / N, at least 20), ${SATURATION_CONCURRENCY} mutations in flight`,
          'A and B are pinned to the same server core as every bench server: two has the CPU of one, so two / one is the cost of the split, not a capacity gain; ' +
            'PostgreSQL and Redis run unpinned, beside the load generator and the servers',
          clientCpuNote(maxClient, 'the client'),
          ...tally.problems,
        ],
      };
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
      await admin.raw(`drop database if exists "${database}" with (force)`).catch((error: unknown) => ctx.log(`could not drop ${database}: ${String(error)}`));
      await admin.destroy();
    }
  },
} satisfies Benchmark;

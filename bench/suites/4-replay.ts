/**
 * Replay (issue 9, benchmark 4): resuming the `runEvents` subscription after a
 * cursor over a run with N = 100,000 stored events (quick: 5,000), in events
 * per second until the client has received them all, against a raw SQL
 * SELECT of the same rows and columns through the sqlite3 driver on the same
 * file (rows per second).
 *
 * The database is migrated by the ORM, then seeded with raw SQL in large
 * transactions: run A gets N + 1 events, a second run B every tenth position
 * (so the replay skips other runs' rows as a real log has them), positions
 * gap-free from 1 and log_sequence set to the last one. Payloads are ~125
 * bytes of JSON, as tool-call events carry.
 *
 * Per round:
 *   raw SQL   bench/servers/replay-sql.ts (server core): SELECT id, position,
 *             run_id, step_id, ts, kind, payload ... WHERE run_id = A AND
 *             position > p ORDER BY position, all rows (db.all)
 *   ORM       the same process, the engine's RunEventReader in pages of 500
 *             as the feed's replay reads (a diagnostic: the ORM's share)
 *   gateway   a raw graphql-ws client subscribes runEvents(runId: A, after:
 *             the cursor of A's first event) { id cursor kind ts payload
 *             step { id } } and counts `next` messages until it has N
 *             (positions checked: strictly increasing, last = A's last);
 *             timed from the subscribe message to the last event received
 *   batches   the same with runEventBatches(..., size: 500) { cursor events
 *             { the same fields } }: one `next` per batch, its events
 *             counted and checked as above, each batch's cursor its last's
 */
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { encodeTime } from 'ulid';
import type { Benchmark, BenchContext } from '../lib/benchmark.js';
import { loadGeneratorMeter, startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport } from '../lib/report.js';
import { round, spread } from '../lib/stats.js';
import { connect, type WsConnection } from '../lib/ws-client.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { eventCursor } from '../../src/engine/runs/run-queries.js';
import { encodeGlobalId } from '../../src/schema/builder.js';
import { DEFAULT_MAX_BUFFERED_EVENTS } from '../../src/engine/runs/event-feed.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
const GOAL = 0.3;
const FIRST_EVENT_GOAL_MS = 50;
const EVENTS: Record<BenchContext['mode'], number> = { quick: 5_000, full: 100_000 };
const SEED_TRANSACTION_ROWS = 50_000;
const ROWS_PER_INSERT = 500;
const REPLAY_TIMEOUT_MS = 300_000;
const EVENT_FIELDS = 'id cursor kind ts payload step { id }';
const BATCH_SIZE = 500;
/** What each way of replaying subscribes to, and the events one of its `next` payloads carries. */
const FIELDS = {
  runEvents: {
    query: `subscription($run: ID!, $after: String) { runEvents(runId: $run, after: $after) { ${EVENT_FIELDS} } }`,
    events: (data: any): { cursor: string }[] => [data.runEvents],
  },
  runEventBatches: {
    query: `subscription($run: ID!, $after: String) { runEventBatches(runId: $run, after: $after, size: ${BATCH_SIZE}) { cursor events { ${EVENT_FIELDS} } } }`,
    events: (data: any): { cursor: string }[] => {
      const batch = data.runEventBatches as { cursor: string; events: { cursor: string }[] };
      if (batch.cursor !== batch.events.at(-1)?.cursor) throw new Error(`a batch's cursor ${batch.cursor} is not its last event's`);
      return batch.events;
    },
  },
} as const;
type Field = keyof typeof FIELDS;
const KINDS = ['tool_call_started', 'tool_call_completed', 'note', 'phase_transition'] as const;

/** ULIDs' base-32 digits (Crockford's: no I, L, O or U). */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function run(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, params, (error) => (error ? reject(error) : resolve())));
}

interface Seeded {
  runA: string;
  /** Position of A's first event: the replay resumes after it. */
  firstA: number;
  lastA: number;
  total: number;
}

/** Migrates with the ORM, then inserts the runs and events with raw SQL (prepared, large transactions). */
export async function seed(path: string, n: number): Promise<Seeded> {
  const orm = await openDatabase({ sqlitePath: path });
  await migrateDatabase(orm);
  await orm.close();

  // ULIDs without the per-character crypto.randomFillSync of ulid's own generator (the seed's main cost otherwise):
  // the time part from the row's instant, the random part a counter, so ids are valid, unique and increasing.
  let counter = 0;
  const ulid = (ms: number) => encodeTime(ms, 10) + [...(counter++).toString(32).padStart(16, '0')].map((d) => CROCKFORD[parseInt(d, 32)]).join('');
  const db = new sqlite3.Database(path);
  try {
    await new Promise<void>((resolve, reject) => db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL', (e) => (e ? reject(e) : resolve())));
    const now = Date.now() - 3_600_000;
    const runA = ulid(now);
    const runB = ulid(now);
    await run(db, 'BEGIN');
    for (const [id, project] of [
      [runA, 'bench-replay'],
      [runB, 'bench-other'],
    ] as const) {
      await run(db, 'insert into `run` (`id`, `project_id`, `phase_id`, `state`, `created_at`, `started_at`, `origin`, `metadata`) values (?, ?, ?, ?, ?, ?, ?, ?)', [
        id,
        project,
        'phase-1',
        'running',
        now,
        now,
        '{"trigger_type":"manual"}',
        '{}',
      ]);
    }
    // Multi-row INSERTs of ROWS_PER_INSERT rows (7 parameters each, under SQLite's 32,766).
    const columns = '(`id`, `position`, `run_id`, `step_id`, `ts`, `kind`, `payload`)';
    const insertSql = (rows: number) => `insert into \`run_event\` ${columns} values ${Array(rows).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')}`;
    const insert = db.prepare(insertSql(ROWS_PER_INSERT));
    const flush = (params: unknown[]) =>
      new Promise<void>((resolve, reject) => {
        const done = (error: Error | null) => (error ? reject(error) : resolve());
        if (params.length === ROWS_PER_INSERT * 7) insert.run(params, done);
        else db.run(insertSql(params.length / 7), params, done);
      });
    let params: unknown[] = [];
    let position = 0;
    let countA = 0;
    let firstA = 0;
    let lastA = 0;
    while (countA < n + 1) {
      position += 1;
      const ts = now + position;
      const ofB = position % 10 === 0;
      const runId = ofB ? runB : runA;
      const first = ofB ? position === 10 : countA === 0;
      const kind = first ? 'run_created' : KINDS[position % KINDS.length]!;
      const payload = first
        ? { state: 'pending', origin: { trigger_type: 'manual' } }
        : { tool: 'claude_code', call_id: `call-${position}`, duration_ms: position % 5000, exit_code: 0, summary: 'edited src/app.ts: 3 hunks, +12 -4 lines' };
      params.push(ulid(ts), position, runId, null, ts, kind, JSON.stringify(payload));
      if (!ofB) {
        countA += 1;
        if (countA === 1) firstA = position;
        lastA = position;
      }
      if (params.length === ROWS_PER_INSERT * 7) {
        await flush(params);
        params = [];
      }
      if (position % SEED_TRANSACTION_ROWS === 0) {
        await run(db, 'COMMIT');
        await run(db, 'BEGIN');
      }
    }
    if (params.length > 0) await flush(params);
    await new Promise<void>((resolve, reject) => insert.finalize((error) => (error ? reject(error) : resolve())));
    // The log's sequence continues where the seeded positions end (event-log.ts takes the next from it).
    await run(db, "update `log_sequence` set `value` = ? where `name` = 'run_event'", [position]);
    await run(db, 'COMMIT');
    await run(db, 'PRAGMA wal_checkpoint(TRUNCATE)');
    return { runA, firstA, lastA, total: position };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

interface Replay {
  events: number;
  ms: number;
  firstMs: number;
  clientCpu: number;
  serverCpu: number;
}

const rate = (result: Replay) => (result.events / result.ms) * 1000;

/** Subscribes with the cursor and receives until the last seeded event of the run. */
async function replay(field: Field, url: string, gateway: ServerProcess, seeded: Seeded, n: number): Promise<Replay> {
  const connection: WsConnection = await connect(url.replace(/^http/, 'ws'), AUTH);
  try {
    const client = loadGeneratorMeter();
    const serverCpu = gateway.cpuSeconds();
    let received = 0;
    let last = seeded.firstA;
    let firstAt = NaN;
    const began = performance.now();
    let id = '';
    const done = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replay timed out after ${received} of ${n} events`)), REPLAY_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(why));
      };
      id = connection.subscribe(
        FIELDS[field].query,
        { run: encodeGlobalId('Run', seeded.runA), after: eventCursor({ position: seeded.firstA }) },
        {
          next: (payload) => {
            if (payload.errors?.length) return fail(`${field} error after ${received} events: ${JSON.stringify(payload.errors)}`);
            for (const event of FIELDS[field].events(payload.data)) {
              const position = Number(Buffer.from(event.cursor, 'base64url').toString('utf8').split(':')[1]);
              if (!(position > last)) return fail(`position ${position} after ${last}: out of order or repeated`);
              last = position;
              received += 1;
            }
            if (Number.isNaN(firstAt)) firstAt = performance.now() - began;
            if (received >= n) {
              clearTimeout(timer);
              resolve(performance.now());
            }
          },
          error: (errors) => fail(`${field} ended with an error after ${received} of ${n} events: ${errors.map((e) => e.message).join('; ')}`),
          complete: () => fail(`${field} completed after ${received} of ${n} events`),
        },
      );
    });
    const ended = await done;
    const ms = ended - began;
    const clientCpu = client();
    const result = { events: received, ms, firstMs: firstAt, clientCpu, serverCpu: (gateway.cpuSeconds() - serverCpu) / (ms / 1000) };
    if (last !== seeded.lastA) throw new Error(`the replay ended at position ${last}, not ${seeded.lastA}`);
    connection.unsubscribe(id);
    return result;
  } finally {
    await connection.close();
  }
}

export default {
  name: 'replay',
  title: 'Replay: runEvents and runEventBatches resumed after a cursor vs a raw SQL select of the same rows',
  async run(ctx: BenchContext): Promise<BenchmarkReport> {
    const n = EVENTS[ctx.mode];
    const path = join(ctx.dir, 'replay.sqlite');
    const seededAt = performance.now();
    const seeded = await seed(path, n);
    ctx.log(`seeded ${seeded.total} events (${n + 1} of the replayed run) in ${Math.round(performance.now() - seededAt)} ms`);

    const servers: ServerProcess[] = [];
    try {
      const sql = await startServerProcess('replay-sql.ts', { BENCH_DB: path });
      servers.push(sql);
      const gateway = await startServerProcess('gateway.ts', { BENCH_DB: path });
      servers.push(gateway);
      const url = gateway.info.url as string;

      const rawRates: number[] = [];
      const ormRates: number[] = [];
      const fields = Object.keys(FIELDS) as Field[];
      const replays = new Map<Field, Replay[]>(fields.map((field) => [field, []]));
      const read = async (cmd: 'raw' | 'orm') => {
        const result = (await sql.ask({ cmd, runId: seeded.runA, after: seeded.firstA })) as { rows: number; last: number; ms: number; error?: string };
        if (result.error) throw new Error(`${cmd} read failed: ${result.error}`);
        if (result.rows !== n || result.last !== seeded.lastA) throw new Error(`${cmd} read ${result.rows} rows to ${result.last}, not ${n} to ${seeded.lastA}`);
        return (result.rows / result.ms) * 1000;
      };
      // Warm-up: the file in the page cache, the statements prepared, the code paths compiled.
      await read('raw');
      await read('orm');
      for (const field of fields) await replay(field, url, gateway, seeded, n);

      for (let r = 0; r < ctx.rounds; r++) {
        rawRates.push(await read('raw'));
        ormRates.push(await read('orm'));
        for (const field of fields) replays.get(field)!.push(await replay(field, url, gateway, seeded, n));
        ctx.log(
          `round ${r + 1}: raw ${Math.round(rawRates.at(-1)!)} rows/s, ORM pages ${Math.round(ormRates.at(-1)!)} rows/s, ` +
            fields.map((field) => `${field} replay ${Math.round(rate(replays.get(field)!.at(-1)!))} events/s`).join(', '),
        );
      }

      const ratio = (field: Field) => spread(replays.get(field)!.map((result, i) => rate(result) / rawRates[i]!)).median;
      const firstMs = (field: Field) => spread(replays.get(field)!.map((result) => result.firstMs)).median;
      return {
        name: 'replay',
        title: this.title,
        rounds: ctx.rounds,
        figures: [
          figure(`raw SQL select, sqlite3 driver (${n.toLocaleString('en-US')} rows)`, 'rows/s', rawRates),
          figure('ORM reads in pages of 500 (as the feed replays)', 'rows/s', ormRates, { name: 'raw SQL', values: rawRates }),
          ...fields.flatMap((field) => {
            const results = replays.get(field)!;
            return [
              figure(`${field} replay over graphql-ws (${n.toLocaleString('en-US')} events)`, 'events/s', results.map(rate), { name: 'raw SQL', values: rawRates }),
              figure(
                `${field} replay: first event after`,
                'ms',
                results.map((result) => result.firstMs),
              ),
              figure(
                `${field} replay: client CPU`,
                'cores',
                results.map((result) => result.clientCpu),
              ),
              figure(
                `${field} replay: server CPU`,
                'cores',
                results.map((result) => result.serverCpu),
              ),
            ];
          }),
        ],
        goals: fields.flatMap((field) => [
          { text: `${field} replay >= ${GOAL}x raw SQL select`, met: ratio(field) >= GOAL, measured: `${round(ratio(field))}x (median of per-round ratios)` },
          { text: `${field} replay: first event in < ${FIRST_EVENT_GOAL_MS} ms`, met: firstMs(field) < FIRST_EVENT_GOAL_MS, measured: `${round(firstMs(field))} ms (median)` },
        ]),
        notes: [
          `one run with ${(n + 1).toLocaleString('en-US')} events among ${seeded.total.toLocaleString('en-US')} (another run holds every tenth position); ` +
            `resumed after its first event's cursor, so ${n.toLocaleString('en-US')} are replayed; payloads ~125 bytes of JSON`,
          'the raw SQL figure is one SELECT of all rows (id, position, run_id, step_id, ts, kind, payload) with db.all in its own process on the server core; ' +
            'each replay is timed from the subscribe message to the last event received, with positions checked strictly increasing and complete',
          `runEventBatches asks for batches of ${BATCH_SIZE} (its most): one graphql-ws message per batch rather than per event`,
          `SLOW_CONSUMER (${DEFAULT_MAX_BUFFERED_EVENTS.toLocaleString('en-US')} buffered) did not trip: the replay reads stored pages directly and ` +
            'only live events appended meanwhile are buffered (none here)',
        ],
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  },
} satisfies Benchmark;

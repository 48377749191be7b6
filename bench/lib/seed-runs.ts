/**
 * Fast bulk seeding of runs, step attempts and run events into a gateway
 * database file, for the read benchmarks (query, growth); planSeed's rows are
 * also what seed-runs-postgres.ts writes into PostgreSQL (postgraphile).
 *
 * The schema comes from the real migrations (openDatabase + migrateDatabase);
 * rows are then written through the sqlite3 driver directly, as multi-row
 * INSERTs from prepared statements inside a few big transactions, on the
 * gateway's connection settings (WAL, synchronous=NORMAL).
 * Rows are consistent with what the engine writes: ids are ULIDs whose time
 * part is the run's createdAt, counters match the steps, every run has its
 * lifecycle events, positions are gap-free in id order and log_sequence ends
 * at the last position. Foreign keys are not checked while seeding (the rows
 * reference only rows written before them in the same run of the seeder).
 */
import { statSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';

export interface RunSeed {
  /** Runs to write (oldest first). */
  runs: number;
  /** Runs are spread over project-0 .. project-(projects-1). */
  projects: number;
  /** Step attempts of the i-th run (oldest first); pending runs get none. Default: none. */
  steps?: (i: number) => number;
  /**
   * Which events each run gets: `created` only RUN_CREATED (one event per run),
   * `lifecycle` RUN_CREATED, RUN_STARTED, TOOL_CALL_STARTED/COMPLETED|ERROR
   * per step and RUN_STATE_CHANGED when it ended (what the engine appends).
   */
  events: 'created' | 'lifecycle';
  /**
   * Long-lived runs (the oldest `runs` runs, RUNNING) whose logs hold `events`
   * NOTE events each, spread evenly over the whole log (interleaved with
   * everyone else's events, as a long run's log is).
   */
  longLogs?: { runs: number; events: number };
  /** createdAt of the runs spans this many days up to about now. Default 30. */
  days?: number;
}

export interface SeededDatabase {
  path: string;
  seconds: number;
  rows: { runs: number; steps: number; events: number };
  /** The id of the i-th run (oldest first), for the indexes asked for in `sample`. */
  sampled: Map<number, string>;
  /** Each long-log run's id and the positions of its events, in order. */
  longRuns: { id: string; positions: number[] }[];
  /** Bytes of the database file after the seed (checkpointed). */
  fileBytes: number;
}

// ---------------------------------------------------------------------------
// ULIDs: time part from the row's instant, random part a global counter, so
// ids are valid, unique and increasing in generation order (no entropy needed).

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encodeBase32(value: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = CROCKFORD[value % 32]! + out;
    value = Math.floor(value / 32);
  }
  return out;
}

class UlidSource {
  private counter = 0;
  private lastMs = -1;
  private lastTime = '';
  next(ms: number): string {
    if (ms < this.lastMs) ms = this.lastMs;
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastTime = encodeBase32(ms, 10);
    }
    this.counter += 1;
    // 16 "random" characters: the counter in decimal digits (Crockford digits too), fixed width.
    return this.lastTime + String(this.counter).padStart(16, '0');
  }
}

/** A small deterministic PRNG (mulberry32): the same database every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------
// sqlite3 plumbing.

const PRAGMAS = [
  'PRAGMA journal_mode = WAL',
  'PRAGMA synchronous = NORMAL',
  // The rows are consistent by construction; the gateway's own connection turns foreign keys on.
  'PRAGMA foreign_keys = OFF',
  'PRAGMA busy_timeout = 5000',
  // A big page cache for the seeding connection only: index pages stay in memory.
  'PRAGMA cache_size = -262144',
].join(';');

const exec = (db: sqlite3.Database, sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));

/** Multi-row INSERTs of one table from prepared statements (one per batch size). */
class BulkInserter {
  private readonly statements = new Map<number, sqlite3.Statement>();
  count = 0;
  constructor(
    private readonly db: sqlite3.Database,
    private readonly table: string,
    private readonly columns: readonly string[],
    private readonly rowsPerStatement = Math.floor(4000 / columns.length),
  ) {}

  private statement(rows: number): sqlite3.Statement {
    let statement = this.statements.get(rows);
    if (!statement) {
      const tuple = `(${this.columns.map(() => '?').join(',')})`;
      const sql = `INSERT INTO \`${this.table}\` (${this.columns.map((c) => `\`${c}\``).join(',')}) VALUES ${Array(rows).fill(tuple).join(',')}`;
      statement = this.db.prepare(sql);
      this.statements.set(rows, statement);
    }
    return statement;
  }

  /** `values`: the rows flattened, columns.length values each. */
  async insert(values: unknown[]): Promise<void> {
    const width = this.columns.length;
    const rows = values.length / width;
    for (let start = 0; start < rows; start += this.rowsPerStatement) {
      const n = Math.min(this.rowsPerStatement, rows - start);
      const params = values.slice(start * width, (start + n) * width);
      const statement = this.statement(n);
      await new Promise<void>((resolve, reject) => statement.run(params, (error) => (error ? reject(error) : resolve())));
    }
    this.count += rows;
  }

  async finalize(): Promise<void> {
    for (const statement of this.statements.values()) await new Promise<void>((resolve) => statement.finalize(() => resolve()));
    this.statements.clear();
  }
}

// ---------------------------------------------------------------------------

export const RUN_COLUMNS = ['id', 'project_id', 'phase_id', 'state', 'created_at', 'started_at', 'ended_at', 'exit_code', 'origin', 'step_attempts', 'errors', 'metadata'];
export const STEP_COLUMNS = ['id', 'run_id', 'sequence', 'tool_id', 'state', 'started_at', 'ended_at', 'exit_code', 'outputs', 'metadata'];
export const EVENT_COLUMNS = ['id', 'position', 'run_id', 'step_id', 'ts', 'kind', 'payload'];

const TOOLS = ['aider', 'claude-code', 'codex', 'pytest', 'ruff'];
const ORIGINS = ['{"trigger_type":"manual"}', '{"trigger_type":"ci","trigger_ref":"refs/heads/main"}', '{"trigger_type":"scheduled"}'];
/** Runs per transaction (with their steps and events). */
const RUNS_PER_CHUNK = 20_000;

/** One transaction's worth of rows (flattened, in the columns' order); timestamps in epoch ms. */
export interface SeedChunk {
  runs: unknown[];
  steps: unknown[];
  events: unknown[];
  /** The last event position written so far (log_sequence's value once the last chunk is in). */
  position: number;
}

export interface SeedPlan {
  chunks: Generator<SeedChunk>;
  /** Filled in as the chunks are generated. */
  sampled: Map<number, string>;
  longRuns: { id: string; positions: number[] }[];
}

/**
 * The rows of a seed, chunk by chunk, the same for every database: the
 * writers (seedRunsDatabase for SQLite, seed-runs-postgres.ts) only store them.
 * `sample`: run indexes (oldest first; negative counts from the newest) whose ids to report.
 */
export function planSeed(seed: RunSeed, sample: number[] = []): SeedPlan {
  const longCount = Math.min(seed.longLogs?.runs ?? 0, seed.runs);
  const longRuns = Array.from({ length: longCount }, () => ({ id: '', positions: [] as number[] }));
  const sampled = new Map<number, string>();
  return { chunks: generateChunks(seed, sample, sampled, longRuns), sampled, longRuns };
}

function* generateChunks(seed: RunSeed, sample: number[], sampled: Map<number, string>, longRuns: { id: string; positions: number[] }[]): Generator<SeedChunk> {
  const random = prng(20261130);
  const runIds = new UlidSource();
  const otherIds = new UlidSource();
  const days = seed.days ?? 30;
  const end = Date.now() - 3_600_000;
  const start = end - days * 86_400_000;
  const spacing = (end - start) / seed.runs;
  const stepsOf = seed.steps ?? (() => 0);
  const longCount = longRuns.length;
  const longEvents = seed.longLogs?.events ?? 0;
  const wanted = new Set(sample.map((i) => (i < 0 ? seed.runs + i : i)));
  // The newest runs are still active; older ones have ended.
  const activeFrom = Math.floor(seed.runs * 0.98);
  let position = 0;
  let lastTs = 0;
  let notesEmitted = 0;

  for (let chunkStart = 0; chunkStart < seed.runs; chunkStart += RUNS_PER_CHUNK) {
    const chunkEnd = Math.min(seed.runs, chunkStart + RUNS_PER_CHUNK);
    const runRows: unknown[] = [];
    const stepRows: unknown[] = [];
    const eventRows: unknown[] = [];
    const event = (runId: string, stepId: string | null, ts: number, kind: string, payload: string) => {
      lastTs = Math.max(lastTs, ts);
      position += 1;
      eventRows.push(otherIds.next(lastTs), position, runId, stepId, lastTs, kind, payload);
      return position;
    };

    for (let i = chunkStart; i < chunkEnd; i++) {
      const createdAt = Math.floor(start + i * spacing);
      const id = runIds.next(createdAt);
      if (wanted.has(i)) sampled.set(i, id);
      const long = i < longCount;
      if (long) longRuns[i]!.id = id;
      const roll = random();
      const state = long ? 'running' : i >= activeFrom ? (roll < 0.33 ? 'pending' : 'running') : roll < 0.75 ? 'succeeded' : roll < 0.95 ? 'failed' : 'canceled';
      const stepCount = state === 'pending' ? 0 : stepsOf(i);
      const ended = state !== 'pending' && state !== 'running';
      const startedAt = state === 'pending' ? null : createdAt + 100;
      const endedAt = ended ? createdAt + 1000 * (stepCount + 1) : null;
      let errors = 0;

      event(id, null, createdAt, 'run_created', `{"state":"pending","origin":${ORIGINS[i % ORIGINS.length]}}`);
      if (seed.events === 'lifecycle' && startedAt !== null) event(id, null, startedAt, 'run_started', '{"from":"pending","to":"running"}');
      for (let s = 1; s <= stepCount; s++) {
        const stepStarted = createdAt + 1000 * s;
        const last = s === stepCount;
        const stepState = !last ? 'succeeded' : state === 'running' ? 'running' : state === 'failed' ? 'failed' : state === 'canceled' ? 'canceled' : 'succeeded';
        const stepEnded = stepState === 'running' ? null : stepStarted + 500;
        const stepId = otherIds.next(stepStarted);
        const toolId = TOOLS[(i + s) % TOOLS.length]!;
        stepRows.push(stepId, id, s, toolId, stepState, stepStarted, stepEnded, stepEnded === null ? null : stepState === 'failed' ? 1 : 0, '{"patch_ids":[]}', '{}');
        if (seed.events === 'lifecycle') {
          event(id, stepId, stepStarted, 'tool_call_started', `{"sequence":${s},"toolId":"${toolId}"}`);
          if (stepState === 'failed') event(id, stepId, stepEnded!, 'tool_call_error', `{"sequence":${s},"state":"failed"}`);
          else if (stepEnded !== null) event(id, stepId, stepEnded, 'tool_call_completed', `{"sequence":${s},"state":"${stepState}"}`);
        }
        if (stepState === 'failed') errors += 1;
      }
      if (seed.events === 'lifecycle' && ended) event(id, null, endedAt!, 'run_state_changed', `{"from":"running","to":"${state}"}`);
      runRows.push(
        id,
        `project-${Math.floor(random() * seed.projects)}`,
        `phase-${i % 5}`,
        state,
        createdAt,
        startedAt,
        endedAt,
        ended ? (state === 'succeeded' ? 0 : 1) : null,
        ORIGINS[i % ORIGINS.length],
        stepCount,
        errors,
        '{}',
      );
      // The long runs' notes, spread evenly over the log.
      if (longCount > 0 && i >= longCount - 1) {
        const due = Math.floor(((i + 1) * longEvents) / seed.runs);
        for (; notesEmitted < due; notesEmitted++) {
          for (const run of longRuns) {
            run.positions.push(event(run.id, null, createdAt, 'note', `{"message":"progress ${notesEmitted + 1}"}`));
          }
        }
      }
    }

    yield { runs: runRows, steps: stepRows, events: eventRows, position };
  }
}

/**
 * Creates (migrates) the SQLite database at `path` and fills it. `sample`: run
 * indexes (oldest first; negative counts from the newest) whose ids to return.
 */
export async function seedRunsDatabase(path: string, seed: RunSeed, sample: number[] = []): Promise<SeededDatabase> {
  const began = performance.now();
  const orm = await openDatabase({ sqlitePath: path });
  await migrateDatabase(orm);
  await orm.close();

  const db = new sqlite3.Database(path);
  await exec(db, PRAGMAS);
  const runs = new BulkInserter(db, 'run', RUN_COLUMNS);
  const steps = new BulkInserter(db, 'step_attempt', STEP_COLUMNS);
  const events = new BulkInserter(db, 'run_event', EVENT_COLUMNS);
  const plan = planSeed(seed, sample);
  let position = 0;
  for (const chunk of plan.chunks) {
    await exec(db, 'BEGIN');
    await runs.insert(chunk.runs);
    await steps.insert(chunk.steps);
    await events.insert(chunk.events);
    position = chunk.position;
    await exec(db, 'COMMIT');
  }
  await exec(db, `UPDATE \`log_sequence\` SET \`value\` = ${position} WHERE \`name\` = 'run_event'`);

  await runs.finalize();
  await steps.finalize();
  await events.finalize();
  await exec(db, 'PRAGMA wal_checkpoint(TRUNCATE)');
  await new Promise<void>((resolve, reject) => db.close((error) => (error ? reject(error) : resolve())));
  return {
    path,
    seconds: (performance.now() - began) / 1000,
    rows: { runs: runs.count, steps: steps.count, events: events.count },
    sampled: plan.sampled,
    longRuns: plan.longRuns,
    fileBytes: statSync(path).size,
  };
}

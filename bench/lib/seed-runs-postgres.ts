/**
 * seed-runs.ts's rows (planSeed: the same runs, steps and events as the
 * SQLite seed) written into a PostgreSQL database, for the benchmarks that
 * compare servers on PostgreSQL (postgraphile). The schema comes from the
 * gateway's own migrations (openDatabase + migrateDatabase); rows go in as
 * multi-row INSERTs, one transaction per chunk, with epoch-ms timestamps
 * turned into Dates for the timestamptz columns; then VACUUM ANALYZE, so the
 * planner sees the tables as autovacuum would leave them.
 */
import { knex, type Knex } from '@mikro-orm/knex';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { EVENT_COLUMNS, planSeed, RUN_COLUMNS, STEP_COLUMNS, type RunSeed } from './seed-runs.js';

export interface SeededPostgres {
  seconds: number;
  rows: { runs: number; steps: number; events: number };
}

// A statement takes at most 65,535 parameters.
const PARAMETERS_PER_STATEMENT = 60_000;

const TIMESTAMP_COLUMNS = new Set(['created_at', 'started_at', 'ended_at', 'ts']);

async function insertRows(db: Knex, table: string, columns: readonly string[], values: unknown[]): Promise<number> {
  const width = columns.length;
  const timestamps = columns.flatMap((c, i) => (TIMESTAMP_COLUMNS.has(c) ? [i] : []));
  for (let i = 0; i < values.length; i += width) for (const t of timestamps) if (values[i + t] !== null) values[i + t] = new Date(values[i + t] as number);
  const rows = values.length / width;
  const perStatement = Math.floor(PARAMETERS_PER_STATEMENT / width);
  const tuple = `(${columns.map(() => '?').join(',')})`;
  for (let start = 0; start < rows; start += perStatement) {
    const n = Math.min(perStatement, rows - start);
    await db.raw(`insert into "${table}" (${columns.map((c) => `"${c}"`).join(',')}) values ${Array(n).fill(tuple).join(',')}`, values.slice(start * width, (start + n) * width) as Knex.Value[]);
  }
  return rows;
}

/** Migrates the (empty) database at `url` and fills it as seedRunsDatabase fills a SQLite file. */
export async function seedRunsPostgres(url: string, seed: RunSeed): Promise<SeededPostgres> {
  const began = performance.now();
  const orm = await openDatabase({ postgresUrl: url });
  try {
    await migrateDatabase(orm);
  } finally {
    await orm.close();
  }

  const db = knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  const rows = { runs: 0, steps: 0, events: 0 };
  try {
    let position = 0;
    for (const chunk of planSeed(seed).chunks) {
      await db.transaction(async (tx) => {
        rows.runs += await insertRows(tx, 'run', RUN_COLUMNS, chunk.runs);
        rows.steps += await insertRows(tx, 'step_attempt', STEP_COLUMNS, chunk.steps);
        rows.events += await insertRows(tx, 'run_event', EVENT_COLUMNS, chunk.events);
      });
      position = chunk.position;
    }
    await db.raw(`update "log_sequence" set "value" = ? where "name" = 'run_event'`, [position]);
    await db.raw('vacuum analyze "run", "step_attempt", "run_event"');
  } finally {
    await db.destroy();
  }
  return { seconds: (performance.now() - began) / 1000, rows };
}

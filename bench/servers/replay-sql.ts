/**
 * The replay baseline as a server process (on the server core, like the
 * gateway): reads a run's events after a position from the SQLite file
 * BENCH_DB, answering stdin commands with one JSON line each:
 *
 *   {"cmd": "raw", "runId", "after"}  one SELECT of the run_event columns through the
 *                                     sqlite3 driver (db.all): the baseline
 *   {"cmd": "orm", "runId", "after"}  the engine's RunEventReader in pages of 500, as
 *                                     the feed replays: the ORM's share of the gap
 *
 * Each answers {"rows", "last", "ms"}: rows read, the last position, the time taken.
 */
import { createInterface } from 'node:readline';
import sqlite3 from 'sqlite3';
import { openDatabase } from '../../src/engine/database.js';
import { RunEventReader } from '../../src/engine/runs/event-log.js';

const path = process.env.BENCH_DB;
if (!path) throw new Error('BENCH_DB is not set');
/** The page size of the feed's replay (event-feed.ts READ_BATCH). */
const FEED_PAGE = 500;
const SELECT = 'select `id`, `position`, `run_id`, `step_id`, `ts`, `kind`, `payload` from `run_event` where `run_id` = ? and `position` > ? order by `position` asc';

const db = new sqlite3.Database(path);
await new Promise<void>((resolve, reject) => db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000', (error) => (error ? reject(error) : resolve())));
const orm = await openDatabase({ sqlitePath: path });
const reader = new RunEventReader(() => orm.em.fork());

async function raw(runId: string, after: number) {
  const began = performance.now();
  const rows = await new Promise<{ position: number }[]>((resolve, reject) => db.all<{ position: number }>(SELECT, [runId, after], (error, result) => (error ? reject(error) : resolve(result))));
  return { rows: rows.length, last: rows.at(-1)?.position ?? after, ms: performance.now() - began };
}

async function viaOrm(runId: string, after: number) {
  const began = performance.now();
  let rows = 0;
  let last = after;
  for (;;) {
    const page = await reader.after({ runId, after: last, limit: FEED_PAGE });
    rows += page.length;
    if (page.length > 0) last = page[page.length - 1]!.position;
    if (page.length < FEED_PAGE) break;
  }
  return { rows, last, ms: performance.now() - began };
}

console.log(JSON.stringify({ ready: true }));

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as { cmd: string; runId: string; after: number };
  const work = command.cmd === 'raw' ? raw(command.runId, command.after) : command.cmd === 'orm' ? viaOrm(command.runId, command.after) : null;
  if (!work) return console.log(JSON.stringify({ error: `unknown command ${command.cmd}` }));
  work.then(
    (result) => console.log(JSON.stringify(result)),
    (error: unknown) => console.log(JSON.stringify({ error: String(error) })),
  );
});

process.once('SIGTERM', () => {
  db.close();
  orm.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

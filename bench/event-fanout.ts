/**
 * Run event fan-out: K subscribers of one run, E events appended.
 *
 *   npm run bench [-- --subscribers 200 --events 300]
 *
 * Compares the engine's shared tail (one log read per wake-up, shared by
 * every subscriber of the run) with a baseline where each subscriber reads
 * the log itself on every notice, in the same process and run. Reports wall
 * time, SQL statements and the ratio; absolute figures drift with the
 * machine, the ratio is the point.
 */
import { parseArgs } from 'node:util';
import { migrateDatabase, openDatabase } from '../src/engine/db/orm.js';
import { createEngine, type Engine } from '../src/engine/index.js';
import type { RunEventNotice } from '../src/engine/runs/event-log.js';

const { values } = parseArgs({
  options: { subscribers: { type: 'string', default: '200' }, events: { type: 'string', default: '300' } },
});
const SUBSCRIBERS = Number(values.subscribers);
const EVENTS = Number(values.events);

async function setup(): Promise<{ engine: Engine; runId: string; statements: () => number; close(): Promise<void> }> {
  const orm = await openDatabase({ sqlitePath: ':memory:' });
  await migrateDatabase(orm);
  const engine = createEngine({ orm });
  const run = await engine.runs.createRun({ projectId: 'bench', phaseId: 'fanout' });
  await engine.runs.startRun(run.id);
  let count = 0;
  orm.em.getKnex().on('query', () => (count += 1));
  return { engine, runId: run.id, statements: () => count, close: async () => (engine.close(), orm.close()) };
}

async function appendNotes(engine: Engine, runId: string): Promise<void> {
  for (let i = 0; i < EVENTS; i++) await engine.runs.addRunNote({ runId, message: `note ${i}` });
}

async function measure(
  label: string,
  subscribe: (engine: Engine, runId: string, after: number) => Promise<number>,
): Promise<{ label: string; ms: number; statements: number }> {
  const { engine, runId, statements, close } = await setup();
  const after = await engine.events.lastPosition();
  const before = statements();
  const t0 = performance.now();
  const consumers = Array.from({ length: SUBSCRIBERS }, () => subscribe(engine, runId, after));
  await appendNotes(engine, runId);
  const counts = await Promise.all(consumers);
  const ms = performance.now() - t0;
  if (counts.some((n) => n !== EVENTS)) throw new Error(`${label}: a subscriber missed events`);
  const used = statements() - before;
  await close();
  return { label, ms, statements: used };
}

/** Engine feed: shared tail per run. */
function viaFeed(engine: Engine, runId: string, after: number): Promise<number> {
  return (async () => {
    let n = 0;
    for await (const _ of engine.feed.stream({ runId, after })) if (++n === EVENTS) break;
    return n;
  })();
}

/** Baseline: each subscriber reads the log after its own position on every notice. */
function viaOwnReads(engine: Engine, runId: string, after: number): Promise<number> {
  return new Promise((resolve) => {
    let last = after;
    let n = 0;
    let reading = false;
    let again = false;
    const read = async (): Promise<void> => {
      if (reading) {
        again = true;
        return;
      }
      reading = true;
      const rows = await engine.events.after({ runId, after: last, limit: 500 });
      reading = false;
      for (const row of rows) last = row.position;
      n += rows.length;
      if (n >= EVENTS) {
        off();
        resolve(n);
      } else if (again) {
        again = false;
        await read();
      }
    };
    const off = engine.bus.subscribe<RunEventNotice>('run.event', (notice) => {
      if (notice.runId === runId) void read();
    });
  });
}

const baseline = await measure('own read per subscriber (baseline)', viaOwnReads);
const shared = await measure('shared tail (engine feed)', viaFeed);
for (const r of [baseline, shared]) {
  console.log(
    `${r.label.padEnd(36)} ${r.ms.toFixed(0).padStart(7)} ms  ${r.statements.toString().padStart(7)} SQL statements  ` +
      `${((SUBSCRIBERS * EVENTS) / (r.ms / 1000)).toFixed(0)} deliveries/s`,
  );
}
console.log(
  `${SUBSCRIBERS} subscribers x ${EVENTS} events: shared tail is ${(baseline.ms / shared.ms).toFixed(1)}x faster ` +
    `and issues ${(baseline.statements / shared.statements).toFixed(1)}x fewer statements than the baseline`,
);

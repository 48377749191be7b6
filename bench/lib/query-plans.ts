/**
 * The SQL the engine runs for a piece of work, and SQLite's plan for each
 * statement: the work runs in this process on an engine over the database
 * file with the ORM's query log on, so the statements are exactly the ones
 * the gateway sends (values inlined as the log prints them).
 */
import { openDatabase } from '../../src/engine/database.js';
import { createEngine, type Engine } from '../../src/engine/index.js';

export interface PlannedStatement {
  sql: string;
  /** EXPLAIN QUERY PLAN's detail lines, indented by depth. */
  plan: string[];
  /** A full scan of a table (SCAN without an index) or a sort in a temporary b-tree. */
  suspicious: boolean;
}

// eslint-disable-next-line no-control-regex -- ESC is what starts an ANSI colour code
const ANSI = /\x1b\[[0-9;]*m/g;

/** Runs each piece of work in turn on one engine; returns each one's statements with their plans. */
export async function planEngineWork<K extends string>(path: string, works: Record<K, (engine: Engine) => Promise<unknown>>): Promise<Record<K, PlannedStatement[]>> {
  let logged: string[] | null = null;
  const orm = await openDatabase({ sqlitePath: path, debug: true, logger: (message) => logged?.push(message) });
  const engine = createEngine({ orm });
  try {
    const out = {} as Record<K, PlannedStatement[]>;
    for (const key of Object.keys(works) as K[]) {
      const lines: string[] = [];
      logged = lines;
      await works[key](engine);
      logged = null;
      const statements = lines
        .map((line) => line.replace(ANSI, ''))
        .filter((line) => line.startsWith('[query] '))
        .map((line) => line.slice('[query] '.length).replace(/ \[took [^\]]*\]$/, ''))
        .filter((sql) => /^select /i.test(sql) && !sql.includes('sqlite_master'));
      out[key] = [];
      for (const sql of statements) {
        const rows = (await orm.em.fork().execute(`EXPLAIN QUERY PLAN ${sql}`)) as { id: number; parent: number; detail: string }[];
        const depth = new Map<number, number>([[0, 0]]);
        const plan = rows.map((row) => {
          const d = (depth.get(row.parent) ?? 0) + 1;
          depth.set(row.id, d);
          return `${'  '.repeat(d - 1)}${row.detail}`;
        });
        const suspicious = plan.some((line) => /^\s*SCAN (?!.*USING (COVERING )?INDEX)/.test(line) || /TEMP B-TREE/.test(line));
        out[key].push({ sql, plan, suspicious });
      }
    }
    return out;
  } finally {
    engine.close();
    await orm.close();
  }
}

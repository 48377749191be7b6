import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MikroORM as PostgresOrm } from '@mikro-orm/postgresql';
import type { EntityManager, EntityMetadata, EntityProperty } from '@mikro-orm/core';
import { ormConfig } from '../../src/engine/database.js';
import { rowMapper } from '../../src/engine/db/plain-rows.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { RunEventSchema, RunSchema, StepAttemptSchema } from '../../src/engine/runs/entities.js';
import { createTestEngine } from '../helpers/engine.js';

type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;
type Driver = 'sqlite' | 'postgresql';

const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };
const INSTANT = Date.parse('2026-11-30T10:00:00.123Z');

let engine: TestEngine;
let postgres: PostgresOrm;

beforeAll(async () => {
  // SQLite whatever the run's database: this test compares the two drivers' row shapes.
  engine = await createTestEngine(':memory:');
  // The same entities on PostgreSQL, never connected: its metadata and platform only.
  const { dbName: _, pool: __, driver: ___, ...config } = ormConfig({ sqlitePath: ':memory:' }) as Record<string, unknown>;
  postgres = await PostgresOrm.init({ ...config, dbName: 'plain_rows_test', connect: false } as never);
  expect(postgres.em.getPlatform().constructor.name).toBe('PostgreSqlPlatform');
});
afterAll(async () => {
  await engine.dispose();
  await postgres.close(true);
});

/**
 * A row as each driver returns it through MikroORM: SQLite gives epoch-ms
 * dates, JSON text, numeric bigints and 0/1 booleans; node-pg (with
 * MikroORM's type overrides) timestamp strings, parsed JSON and int8 as text.
 */
function driverValue(prop: EntityProperty, meta: EntityMetadata, driver: Driver, i: number): unknown {
  const sqlite = driver === 'sqlite';
  if (prop.runtimeType === 'Date') return sqlite ? INSTANT + i : `2026-11-30 10:00:${String(i % 60).padStart(2, '0')}.123+00`;
  if (prop.type === 'JsonType' || prop.customType?.constructor.name === 'JsonType') {
    const value = { n: i, list: ['a', i], nested: { ok: true } };
    return sqlite ? JSON.stringify(value) : value;
  }
  if (prop.columnTypes?.[0] === 'bigint') return sqlite ? 1_000 + i : String(1_000 + i);
  if (prop.runtimeType === 'boolean') return sqlite ? i % 2 : i % 2 === 1;
  // A blob (bytea) column: both drivers give a Buffer.
  if (prop.runtimeType === 'Buffer') return Buffer.from(`${meta.className}-${prop.name}-${i}`);
  if (prop.runtimeType === 'number') return prop.type === 'double' ? i + 0.5 : i;
  return `${meta.className}-${prop.name}-${i}`;
}

function driverRow(meta: EntityMetadata, driver: Driver, i: number, nulls: boolean): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const prop of meta.props) {
    row[prop.fieldNames[0]!] = nulls && prop.nullable && !prop.primary ? null : driverValue(prop, meta, driver, i);
  }
  return row;
}

/** What em.map (the ORM's own hydration) makes of a row, as a plain object. */
function hydrated(em: EntityManager, meta: EntityMetadata, row: Record<string, unknown>): Record<string, unknown> {
  const entity = em.fork().map(meta.className, { ...row }) as Record<string, unknown>;
  return Object.fromEntries(meta.props.map((prop) => [prop.name, entity[prop.name] ?? null]));
}

describe('plain rows', () => {
  for (const driver of ['sqlite', 'postgresql'] as const) {
    it(`map every entity's ${driver} rows as the ORM hydrates them`, () => {
      const em = (driver === 'sqlite' ? engine.orm.em : postgres.em) as unknown as EntityManager;
      const metas = Object.values(em.getMetadata().getAll()).filter((meta) => !meta.embeddable && !meta.virtual && meta.props.length > 0);
      expect(metas.length).toBeGreaterThan(10);
      for (const meta of metas) {
        const mapper = rowMapper(em as never, meta.className);
        expect(mapper.columns).toHaveLength(meta.props.length);
        for (const [i, nulls] of [
          [1, false],
          [2, true],
        ] as const) {
          const row = driverRow(meta, driver, i, nulls);
          expect(mapper.map(row), `${meta.className} (${driver}${nulls ? ', nulls' : ''})`).toEqual(hydrated(em, meta, row));
        }
      }
    });
  }

  it('normalize PostgreSQL values to what SQLite rows give (Date objects, parsed JSON, bigint text)', () => {
    const sqlite = rowMapper(engine.orm.em, RunEventSchema);
    const fromSqlite = sqlite.map({ id: 'e', position: 42, run_id: 'r', step_id: null, ts: INSTANT, kind: 'note', payload: '{"message":"hi"}' });
    // The value-driven normalization also takes values of the other driver's shapes.
    expect(sqlite.map({ id: 'e', position: '42', run_id: 'r', step_id: null, ts: new Date(INSTANT), kind: 'note', payload: { message: 'hi' } })).toEqual(fromSqlite);
    expect(sqlite.map({ id: 'e', position: 42, run_id: 'r', step_id: null, ts: '2026-11-30T10:00:00.123Z', kind: 'note', payload: '{"message":"hi"}' })).toEqual(fromSqlite);
    const pg = rowMapper(postgres.em as never, RunEventSchema);
    expect(pg.map({ id: 'e', position: '42', run_id: 'r', step_id: null, ts: '2026-11-30 10:00:00.123+00', kind: 'note', payload: { message: 'hi' } })).toEqual(fromSqlite);
    expect(pg.map({ id: 'e', position: 42, run_id: 'r', step_id: null, ts: new Date(INSTANT), kind: 'note', payload: { message: 'hi' } })).toEqual(fromSqlite);
    expect(fromSqlite).toEqual({ id: 'e', position: 42, runId: 'r', stepId: null, ts: new Date(INSTANT), kind: 'note', payload: { message: 'hi' } });
  });

  it('read runs, steps and events as em.find does', async () => {
    const run = await engine.runs.createRun({ projectId: 'plain', phaseId: 'p', metadata: { tags: ['a'] } });
    await engine.runs.startRun(run.id);
    const step = await engine.runs.startStep(operator, { runId: run.id, toolId: 'aider' });
    await engine.runs.completeStep(operator, { id: step.id, state: 'failed', exitCode: 2 });
    await engine.runs.addRunNote({ runId: run.id, message: 'hello', payload: { n: 1 } });
    const em = engine.orm.em.fork();
    const plainObject = (entity: object) => ({ ...entity });
    const events = await em.find(RunEventSchema, { runId: run.id }, { orderBy: { position: 'asc' } });
    expect(events.length).toBeGreaterThan(3);
    expect(await engine.queries.runsByIds([run.id])).toEqual([plainObject(await em.findOneOrFail(RunSchema, run.id))]);
    expect(await engine.queries.stepsByIds([step.id])).toEqual([plainObject(await em.findOneOrFail(StepAttemptSchema, step.id))]);
    expect(await engine.events.after({ runId: run.id, after: 0, limit: 100 })).toEqual(events.map(plainObject));
    const slices = await engine.queries.eventSlices([run.id], 0, 2);
    expect(slices.get(run.id)).toEqual({ rows: events.slice(0, 2).map(plainObject), hasMore: true });
    const page = await engine.queries.listRuns({ projectId: 'plain' }, { first: 5 });
    expect(page.edges.map((edge) => edge.node)).toEqual([plainObject(await em.findOneOrFail(RunSchema, run.id))]);
  });
});

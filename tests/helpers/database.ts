import { createHash, randomBytes } from 'node:crypto';
import { knex, type Knex } from '@mikro-orm/knex';
import { postgresMigrationsList } from '../../migrations/index.js';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase, type DatabaseOptions } from '../../src/engine/database.js';

/**
 * UET_TEST_POSTGRES_URL (a postgres:// URL of a database the tests may use
 * to create others): the suites that go through these helpers run on
 * PostgreSQL instead of SQLite. .ci/run runs the engine and API suites both
 * ways.
 */
export const TEST_POSTGRES_URL = process.env.UET_TEST_POSTGRES_URL || null;

/** True when this run's test databases are PostgreSQL (a SQLite-only test skips itself then). */
export const onPostgres = TEST_POSTGRES_URL !== null;

export interface TestDatabase {
  options: DatabaseOptions;
  /** Drops the database (PostgreSQL); SQLite files go with their directory. */
  drop(): Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};

const admin = (url: string): Knex => knex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });

// One migrated template per set of migrations (their names and code, so an edited migration makes a new one),
// copied for each test (CREATE DATABASE ... TEMPLATE is a file copy: fast).
const templateName = `uet_template_${createHash('sha1')
  .update(postgresMigrationsList.map((m) => `${m.name}:${m.class.toString()}`).join(','))
  .digest('hex')
  .slice(0, 10)}`;
let template: Promise<void> | null = null;

async function ensureTemplate(url: string): Promise<void> {
  const db = admin(url);
  try {
    // Test files run in parallel processes: one creates the template, the
    // others wait (a session lock: CREATE DATABASE cannot run in a transaction).
    await db.raw('select pg_advisory_lock(7403)');
    const exists = await db.raw('select 1 from pg_database where datname = ?', [templateName]);
    if (exists.rows.length === 0) {
      const building = `${templateName}_build_${randomBytes(3).toString('hex')}`;
      await db.raw(`create database "${building}"`);
      const orm = await openDatabase({ postgresUrl: withDatabase(url, building) });
      try {
        await migrateDatabase(orm);
      } finally {
        await orm.close();
      }
      await db.raw(`alter database "${building}" rename to "${templateName}"`);
    }
    await db.raw('select pg_advisory_unlock(7403)');
  } finally {
    await db.destroy();
  }
}

/** A new, migrated PostgreSQL database for one test server or engine. */
export async function createPostgresDatabase(url: string): Promise<TestDatabase> {
  template ??= ensureTemplate(url);
  await template;
  const name = `uet_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const db = admin(url);
  try {
    await db.raw(`create database "${name}" template "${templateName}"`);
  } finally {
    await db.destroy();
  }
  return {
    options: { postgresUrl: withDatabase(url, name), poolSize: 6 },
    async drop() {
      const cleanup = admin(url);
      try {
        await cleanup.raw(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}

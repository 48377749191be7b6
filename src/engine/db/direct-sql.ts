import type { Logger } from '@mikro-orm/core';
import type { Orm } from './orm.js';
import { isSqlite } from './orm.js';

/** A value bound to a statement: dates and JSON go through DirectSql.date and DirectSql.json first; bytes bind as a blob (bytea). */
export type SqlValue = string | number | null | Date | Buffer;

/**
 * Statements sent straight to the driver connection a write holds
 * (sqlite3's Database, node-pg's Client), past MikroORM and knex. On the
 * hot writes (a run's creation and start, the event log's append) their
 * per-statement set-up cost more CPU than the statement itself: a BEGIN,
 * INSERT, COMMIT took 0.12 ms of CPU through the driver, 0.26 ms through
 * knex, 0.43 ms through an ORM transaction (issue 20's profile).
 *
 * SQL is written once for both dialects: `?` placeholders and
 * double-quoted identifiers. Values are bound, never written into the
 * text (a NUL in a string is stored whole on SQLite). Each statement is
 * prepared once per connection and reused.
 */
export interface DirectSql {
  /** Changes rows; resolves to how many. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Rows keyed by column name (map them with plain-rows' rowMapper). */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** A Date column's value as the ORM stores it: epoch milliseconds on SQLite, a timestamptz on PostgreSQL. */
  date(value: Date | null | undefined): SqlValue;
  /** A json column's value (JSON text on both). */
  json(value: unknown): string;
  /** ` for update` where the database has row locks (PostgreSQL); SQLite has one writer at a time. */
  readonly forUpdate: string;
}

/** The driver connections of the ORM's pool, and the statements on one. */
export interface DirectConnections {
  acquire(): Promise<DriverConnection>;
  release(connection: DriverConnection): void;
  on(connection: DriverConnection): DirectSql;
}

/** What knex's pool hands out: a sqlite3 Database or a pg Client (only what is used here). */
export type DriverConnection = object;

interface SqliteStatement {
  run(params: readonly SqlValue[], done: (this: { changes: number }, error: Error | null) => void): void;
  all(params: readonly SqlValue[], done: (error: Error | null, rows: unknown[]) => void): void;
  finalize(): void;
}
interface SqliteDatabase {
  prepare(sql: string, done: (error: Error | null) => void): SqliteStatement;
  close(done?: (error: Error | null) => void): void;
}
interface PgClient {
  query(config: { name: string; text: string; values: readonly SqlValue[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}
interface KnexClient {
  acquireConnection(): Promise<DriverConnection>;
  releaseConnection(connection: DriverConnection): Promise<void>;
}

/**
 * One DirectSql per driver connection, however many engines share the pool:
 * its prepared statements (node-pg's by name) belong to the connection.
 */
const byConnection = new WeakMap<DriverConnection, DirectSql>();

export function directConnections(orm: Orm): DirectConnections {
  const client = orm.em.getConnection().getKnex().client as unknown as KnexClient;
  const logger = orm.config.getLogger();
  const on = isSqlite(orm.em) ? sqliteStatements : pgStatements;
  return {
    acquire: () => client.acquireConnection(),
    release: (connection) => void client.releaseConnection(connection),
    on(connection) {
      let sql = byConnection.get(connection);
      if (!sql) {
        sql = on(connection, logger);
        byConnection.set(connection, sql);
      }
      return sql;
    },
  };
}

/** The statement in the ORM's query log when it logs queries (LOG_LEVEL=debug), as its own statements are. */
function logged(logger: Logger, sql: string, params: readonly SqlValue[], started: number): void {
  if (logger.isEnabled('query')) logger.logQuery({ query: sql, params: [...params], took: Math.round(performance.now() - started), level: 'info' });
}

function sqliteStatements(connection: DriverConnection, logger: Logger): DirectSql {
  const db = connection as SqliteDatabase;
  // Prepared once per statement text and connection (sqlite3 resets a statement before each run):
  // parsing the text again cost about as much CPU as running it.
  const statements = new Map<string, SqliteStatement>();
  // The first use prepares (a statement that fails to prepare reports only to prepare's callback).
  const prepared = (sql: string, use: (statement: SqliteStatement) => void, fail: (error: Error) => void): void => {
    const cached = statements.get(sql);
    if (cached) return use(cached);
    const statement = db.prepare(sql, (error) => {
      if (error) return fail(error);
      statements.set(sql, statement);
      use(statement);
    });
  };
  // SQLite refuses to close a connection whose statements are not finalized (SQLITE_BUSY).
  const close = db.close.bind(db);
  db.close = (done) => {
    for (const statement of statements.values()) statement.finalize();
    statements.clear();
    close(done);
  };
  const settle = <T>(sql: string, params: readonly SqlValue[], step: (statement: SqliteStatement, done: (error: Error | null, value?: T) => void) => void): Promise<T> => {
    const started = performance.now();
    return new Promise((resolve, reject) =>
      prepared(
        sql,
        (statement) =>
          step(statement, (error, value) => {
            if (error) return reject(error);
            logged(logger, sql, params, started);
            resolve(value as T);
          }),
        reject,
      ),
    );
  };
  return {
    run: (sql, params = []) =>
      settle<number>(sql, params, (statement, done) =>
        statement.run(params, function (error) {
          done(error, error ? undefined : this.changes);
        }),
      ),
    // `all` steps the statement to its end, so it holds no read lock once answered.
    all: <T>(sql: string, params: readonly SqlValue[] = []) => settle<T[]>(sql, params, (statement, done) => statement.all(params, (error, rows) => done(error, rows as T[]))),
    date: (value) => (value ? value.getTime() : null),
    json: (value) => JSON.stringify(value),
    forUpdate: '',
  };
}

function pgStatements(connection: DriverConnection, logger: Logger): DirectSql {
  const pg = connection as PgClient;
  // node-pg prepares a named statement once per connection, then only binds and executes it.
  const named = new Map<string, { name: string; text: string }>();
  const statement = (sql: string) => {
    let entry = named.get(sql);
    if (!entry) {
      let n = 0;
      entry = { name: `uet_direct_${named.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
      named.set(sql, entry);
    }
    return entry;
  };
  const query = async (sql: string, params: readonly SqlValue[]) => {
    const started = performance.now();
    const result = await pg.query({ ...statement(sql), values: params });
    logged(logger, sql, params, started);
    return result;
  };
  return {
    run: async (sql, params = []) => (await query(sql, params)).rowCount ?? 0,
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => (await query(sql, params)).rows as T[],
    date: (value) => value ?? null,
    json: (value) => JSON.stringify(value),
    forUpdate: ' for update',
  };
}

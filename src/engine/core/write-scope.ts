import type { EntityManager, Knex } from '@mikro-orm/knex';
import { DomainError } from './errors.js';
import type { Clock } from './clock.js';
import type { EventBus, Topic, Topics } from './event-bus.js';
import type { IdSource } from './ids.js';
import type { Orm } from '../db/orm.js';
import { directConnections, type DirectSql } from '../db/direct-sql.js';
import { isUnstorableText, unstorableText } from './unstorable-text.js';

/**
 * One write: a transaction, the time it happens at, and what to announce
 * once it has committed. Services receive a scope and never commit or
 * publish themselves, so a failed write announces nothing.
 */
export class WriteScope {
  private readonly announcements: ((bus: EventBus) => void)[] = [];
  private readonly hooks = new Map<string, () => Promise<void>>();
  private readonly committed: (() => void)[] = [];

  constructor(
    /** The ORM's manager in this write's transaction; null in a direct write (Transact.direct). */
    private readonly manager: EntityManager | null,
    /** Statements straight to the driver, in this write's transaction (db/direct-sql.ts). */
    readonly sql: DirectSql,
    readonly now: Date,
    readonly newId: IdSource,
  ) {}

  get em(): EntityManager {
    if (!this.manager) throw new Error('a direct write (Transact.direct) has no entity manager: use scope.sql');
    return this.manager;
  }

  /** Writes what the ORM's unit of work holds so far (nothing to do in a direct write). */
  async flushEntities(): Promise<void> {
    await this.manager?.flush();
  }

  announce<K extends Topic>(topic: K, message: Topics[K]): void {
    this.announcements.push((bus) => bus.publish(topic, message));
  }

  /** Registers work to run once, just before the commit (keyed, so repeat calls are no-ops). */
  beforeCommit(key: string, hook: () => Promise<void>): void {
    if (!this.hooks.has(key)) this.hooks.set(key, hook);
  }

  async runBeforeCommit(): Promise<void> {
    for (const hook of this.hooks.values()) await hook();
  }

  /** Registers work to run once the transaction has committed, before its announcements go out (in-memory views). */
  afterCommit(hook: () => void): void {
    this.committed.push(hook);
  }

  /** After the commit: first the in-memory views, then the bus, so a woken reader sees the new state. */
  settle(bus: EventBus): void {
    for (const hook of this.committed) hook();
    for (const publish of this.announcements) publish(bus);
  }
}

type Work<T> = (scope: WriteScope) => Promise<T>;

export interface Transact {
  /** Runs `work` in one transaction and publishes its announcements after the commit. */
  <T>(work: Work<T>): Promise<T>;
  /**
   * The same without the ORM: `work` writes with scope.sql only (scope.em
   * throws). For the hot writes, where the ORM's fork, unit of work and
   * flush cost several times the statements themselves.
   */
  direct<T>(work: Work<T>): Promise<T>;
}

/** Attempts of a write that lost a race on PostgreSQL (a deadlock, or two inserts of one key) before it fails. */
const CONFLICT_ATTEMPTS = 4;

/** Runs writes in transactions that publish their announcements after the commit (Transact). */
export function createTransact(orm: Orm, clock: Clock, newId: IdSource, bus: EventBus): Transact {
  const connections = directConnections(orm);
  const attempt = async <T>(work: Work<T>): Promise<T> => {
    let scope: WriteScope | undefined;
    const result = await orm.em.fork().transactional(async (em) => {
      // The driver connection the ORM's transaction holds, for the statements sent past it.
      const connection = await em.getTransactionContext<Knex.Transaction>()!.client.acquireConnection();
      scope = new WriteScope(em, connections.on(connection), clock.now(), newId);
      const value = await work(scope);
      await scope.runBeforeCommit();
      return value;
    });
    scope!.settle(bus);
    return result;
  };
  const attemptDirect = async <T>(work: Work<T>): Promise<T> => {
    const connection = await connections.acquire();
    try {
      const sql = connections.on(connection);
      await sql.run('begin');
      const scope = new WriteScope(null, sql, clock.now(), newId);
      let value: T;
      try {
        value = await work(scope);
        await scope.runBeforeCommit();
        await sql.run('commit');
      } catch (error) {
        // A failed COMMIT (SQLITE_BUSY) leaves the transaction open too.
        await sql.run('rollback').catch(() => {});
        throw error;
      }
      scope.settle(bus);
      return value;
    } finally {
      connections.release(connection);
    }
  };
  const transact = (<T>(work: Work<T>) => withRetries(() => attempt(work))) as Transact;
  transact.direct = (work) => withRetries(() => attemptDirect(work));
  return transact;
}

/** Runs one attempt of a write, and again after a lost race (PostgreSQL) or a busy database (SQLite). */
async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let conflicts = 1; ; conflicts += 1) {
    try {
      return await attempt();
    } catch (error) {
      // A rolled-back attempt wrote nothing: run it again on what the winner committed.
      if (isWriteConflict(error) && conflicts < CONFLICT_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * conflicts));
        continue;
      }
      if (isUnstorableText(error)) throw unstorableText();
      if (!isDatabaseBusy(error)) throw error;
      break;
    }
  }
  // The lock holder (another process) may be done by now; the rolled-back attempt wrote nothing.
  try {
    return await attempt();
  } catch (error) {
    if (!isDatabaseBusy(error)) throw error;
    throw new DomainError('UNAVAILABLE', 'the database is locked by another writer; nothing was written, try again', {
      retryAfterSeconds: 1,
    });
  }
}

const causes = function* (error: unknown): Generator<Error & { code?: unknown }> {
  for (let cause = error; cause instanceof Error; cause = (cause as Error & { cause?: unknown }).cause) yield cause;
};

/** SQLite's "database is locked" after its busy timeout ran out (another connection holds the write lock). */
export function isDatabaseBusy(error: unknown): boolean {
  for (const cause of causes(error)) if (cause.code === 'SQLITE_BUSY' || cause.code === 'SQLITE_LOCKED') return true;
  return false;
}

/**
 * PostgreSQL's concurrent writers (other connections, other instances)
 * racing for the same rows: a deadlock, a serialization failure, or two
 * transactions inserting the same key (a budget, a tool's state) where each
 * first found none. SQLite has one writer at a time and never reports these.
 */
export function isWriteConflict(error: unknown): boolean {
  for (const cause of causes(error)) if (cause.code === '40P01' || cause.code === '40001' || cause.code === '23505') return true;
  return false;
}

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
    readonly em: EntityManager,
    /** Statements straight to the driver, in this write's transaction (db/direct-sql.ts). */
    readonly sql: DirectSql,
    readonly now: Date,
    readonly newId: IdSource,
  ) {}

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

export type Transact = <T>(work: (scope: WriteScope) => Promise<T>) => Promise<T>;

/** Attempts of a write that lost a race on PostgreSQL (a deadlock, or two inserts of one key) before it fails. */
const CONFLICT_ATTEMPTS = 4;

/** Runs `work` in one transaction and publishes its announcements after the commit. */
export function createTransact(orm: Orm, clock: Clock, newId: IdSource, bus: EventBus): Transact {
  const connections = directConnections(orm);
  const attempt = async <T>(work: (scope: WriteScope) => Promise<T>): Promise<T> => {
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
  return async (work) => {
    for (let conflicts = 1; ; conflicts += 1) {
      try {
        return await attempt(work);
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
      return await attempt(work);
    } catch (error) {
      if (!isDatabaseBusy(error)) throw error;
      throw new DomainError('UNAVAILABLE', 'the database is locked by another writer; nothing was written, try again', {
        retryAfterSeconds: 1,
      });
    }
  };
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

import type { EntityManager } from '@mikro-orm/knex';
import type { FilterQuery } from '@mikro-orm/core';
import type { Clock } from '../core/clock.js';
import type { WorkerActor } from '../auth/identity.js';
import { DomainError, badInput, notFound } from '../core/errors.js';
import { MAX_PAGE_SIZE, type Page, type PageArgs } from '../core/pagination.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { TaskSchema, type Task, type TaskState } from '../runs/entities.js';
import { WorkerSchema, type Worker, type WorkerState, type WorkerType } from './entities.js';
import type { LiveWorkers } from './live-workers.js';
import { LIVE_WORKER_STATES } from './machines.js';
import { assertActsFor } from './worker-writes.js';

export interface WorkerListFilter {
  states?: WorkerState[] | null;
  types?: WorkerType[] | null;
  stale?: boolean | null;
}

export interface TaskListFilter {
  states?: TaskState[] | null;
  kinds?: string[] | null;
  runId?: string | null;
  workerId?: string | null;
}

export interface WorkerSummary {
  total: number;
  stale: number;
  byState: { state: WorkerState; count: number }[];
  byType: { type: WorkerType; count: number }[];
}

/** Staleness and heartbeat age as a reader sees them: the stored row with the newest heartbeat laid over it. */
export interface WorkerLiveness {
  lastHeartbeat: Date | null;
  progress: number | null;
  stale: boolean;
  secondsSinceHeartbeat: number | null;
}

/**
 * Reads of workers and tasks. Queries that filter on staleness first write
 * any buffered heartbeats, so that the stored deadlines they compare are
 * the current ones.
 */
export class WorkerQueries {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly live: LiveWorkers,
    private readonly clock: Clock,
  ) {}

  liveness(worker: Worker): WorkerLiveness {
    const now = this.clock.now().getTime();
    const lastHeartbeat = this.live.lastHeartbeat(worker);
    return {
      lastHeartbeat,
      progress: this.live.progress(worker),
      stale: LIVE_WORKER_STATES.includes(worker.state) && this.live.staleAfter(worker).getTime() < now,
      secondsSinceHeartbeat: lastHeartbeat ? Math.max(0, (now - lastHeartbeat.getTime()) / 1000) : null,
    };
  }

  workersByIds(ids: readonly string[]): Promise<Worker[]> {
    return this.fork().find(WorkerSchema, { id: { $in: [...ids] } });
  }

  tasksByIds(ids: readonly string[]): Promise<Task[]> {
    return this.fork().find(TaskSchema, { id: { $in: [...ids] } });
  }

  /** The worker, if `actor` may read it (Query.worker): a WORKER-only token reads only the workers it registered, else FORBIDDEN. */
  readableBy(actor: WorkerActor, worker: Worker): Worker {
    assertActsFor(actor, worker);
    return worker;
  }

  /** Newest first. */
  async listWorkers(filter: WorkerListFilter, args: PageArgs): Promise<Page<Worker>> {
    const where: FilterQuery<Worker> & Record<string, unknown> = {};
    if (filter.states != null) where.state = { $in: filter.states };
    if (filter.types != null) where.type = { $in: filter.types };
    if (filter.stale != null) {
      await this.live.flush();
      const stale = this.staleWhere(this.clock.now());
      Object.assign(where, filter.stale ? stale : { $not: stale });
    }
    return pageNewestFirst(this.fork(), WorkerSchema, 'Worker', where, args);
  }

  /**
   * Live workers silent for longer than `timeoutSeconds` (each one's own
   * timeout when not given), the longest silent first.
   */
  async staleWorkers(timeoutSeconds: number | null, first: number): Promise<Worker[]> {
    if (timeoutSeconds !== null && !(Number.isFinite(timeoutSeconds) && timeoutSeconds >= 0)) {
      throw badInput('timeoutSeconds', 'must be 0 or more');
    }
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) throw badInput('first', `must be between 0 and ${MAX_PAGE_SIZE}`);
    await this.live.flush();
    const now = this.clock.now();
    if (timeoutSeconds === null) {
      return this.fork().find(WorkerSchema, this.staleWhere(now), { orderBy: { staleAfter: 'asc', id: 'asc' }, limit: first });
    }
    const cutoff = new Date(now.getTime() - timeoutSeconds * 1000);
    return this.fork().find(
      WorkerSchema,
      {
        state: { $in: [...LIVE_WORKER_STATES] },
        $or: [{ lastHeartbeatAt: { $lt: cutoff } }, { lastHeartbeatAt: null, startedAt: { $lt: cutoff } }],
      },
      { orderBy: { lastHeartbeatAt: 'asc', startedAt: 'asc', id: 'asc' }, limit: first },
    );
  }

  async summary(): Promise<WorkerSummary> {
    await this.live.flush();
    const em = this.fork();
    const knex = em.getKnex();
    const [byState, byType, stale] = await Promise.all([
      knex('worker').select('state').count({ count: '*' }).groupBy('state').orderBy('state'),
      knex('worker').select('type').count({ count: '*' }).groupBy('type').orderBy('type'),
      em.count(WorkerSchema, this.staleWhere(this.clock.now())),
    ]);
    const states = (byState as { state: WorkerState; count: number }[]).map((row) => ({ state: row.state, count: Number(row.count) }));
    return {
      total: states.reduce((sum, row) => sum + row.count, 0),
      stale,
      byState: states,
      byType: (byType as { type: WorkerType; count: number }[]).map((row) => ({ type: row.type, count: Number(row.count) })),
    };
  }

  /** Newest queued first. A WORKER-only `actor` lists only the tasks of a worker it registered, named by workerId (the tasks it holds, after a lost claim reply). */
  async listTasks(actor: WorkerActor, filter: TaskListFilter, args: PageArgs): Promise<Page<Task>> {
    await assertNamesOwnWorker(
      this.live,
      actor,
      filter.workerId,
      'list every task: a WORKER-only token lists only the tasks of a worker it registered, and must name it (filter.workerId) (the read scope lists any task)',
    );
    const where: FilterQuery<Task> & Record<string, unknown> = {};
    if (filter.states != null) where.state = { $in: filter.states };
    if (filter.kinds != null) where.kind = { $in: filter.kinds };
    if (filter.runId != null) where.runId = filter.runId;
    if (filter.workerId != null) where.workerId = filter.workerId;
    return pageNewestFirst(this.fork(), TaskSchema, 'Task', where, args);
  }

  private staleWhere(now: Date): FilterQuery<Worker> {
    return { state: { $in: [...LIVE_WORKER_STATES] }, staleAfter: { $lt: now } };
  }
}

/**
 * A WORKER-only `actor` names one of the workers it registered where a
 * fleet reader may name none (workerStateChanged, tasks): FORBIDDEN when it
 * names none (`unnamed`: what it may not do, and why) or another token's
 * worker, NOT_FOUND for an unknown one. Fleet readers pass.
 */
export async function assertNamesOwnWorker(live: LiveWorkers, actor: WorkerActor, workerId: string | null | undefined, unnamed: string): Promise<void> {
  if (actor.anyWorker) return;
  if (workerId == null) throw new DomainError('FORBIDDEN', `token "${actor.tokenName}" may not ${unnamed}`, { entity: 'Worker', id: null });
  const worker = await live.get(workerId);
  if (!worker) throw notFound('Worker', workerId);
  assertActsFor(actor, worker);
}

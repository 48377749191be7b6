import type { EntityManager } from '@mikro-orm/knex';
import type { Clock } from '../core/clock.js';
import { lockRow } from '../core/lock-row.js';
import type { Transact } from '../core/write-scope.js';
import { TaskSchema } from '../runs/entities.js';
import { WorkerSchema } from './entities.js';
import type { LiveWorkers } from './live-workers.js';
import { LIVE_WORKER_STATES, isTerminalWorker } from './machines.js';
import { endAttempt, moveWorker, releaseAll, releaseSlot, remembered } from './worker-writes.js';

/** How many stale workers or overdue tasks one pass takes on; the next pass takes the rest. */
const BATCH = 500;

export interface ReapResult {
  /** Workers marked crashed for a lost heartbeat. */
  crashedWorkers: string[];
  /** Tasks whose attempt ran past its timeout. */
  timedOutTasks: string[];
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

/**
 * The stale-worker reaper: a plain function the server calls on a timer
 * and tests call directly. Each worker and task is handled in its own
 * transaction that checks again under lock, so a pass is idempotent and two
 * passes at once change each thing once.
 */
export class Reaper {
  /** Staleness is judged only from the engine's start on: heartbeats sent while it was down never arrived. */
  private readonly startedAt: Date;

  constructor(
    private readonly transact: Transact,
    private readonly live: LiveWorkers,
    private readonly fork: () => EntityManager,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
  }

  async reap(): Promise<ReapResult> {
    await this.live.flush();
    const crashedWorkers: string[] = [];
    const timedOutTasks: string[] = [];
    for (const id of await this.staleCandidates()) if (await this.crashStale(id)) crashedWorkers.push(id);
    for (const id of await this.overdueCandidates()) if (await this.timeOut(id)) timedOutTasks.push(id);
    return { crashedWorkers, timedOutTasks };
  }

  private async staleCandidates(): Promise<string[]> {
    const now = this.clock.now();
    const rows = await this.fork().find(WorkerSchema, { state: { $in: [...LIVE_WORKER_STATES] }, staleAfter: { $lt: now } }, { fields: ['id'], orderBy: { staleAfter: 'asc' }, limit: BATCH });
    return rows.map((row) => row.id);
  }

  private async overdueCandidates(): Promise<string[]> {
    const rows = await this.fork().find(TaskSchema, { state: 'running', deadlineAt: { $lt: this.clock.now() } }, { fields: ['id'], orderBy: { deadlineAt: 'asc' }, limit: BATCH });
    return rows.map((row) => row.id);
  }

  private crashStale(id: string): Promise<boolean> {
    return this.transact(async (scope) => {
      const worker = await lockRow(scope.em, WorkerSchema, id);
      const now = scope.now.getTime();
      const grace = this.startedAt.getTime() + worker.timeoutSeconds * 1000;
      if (isTerminalWorker(worker.state) || this.live.staleAfter(worker).getTime() >= now || grace >= now) return false;
      const last = this.live.lastHeartbeat(worker);
      const silentMs = now - (last ?? worker.startedAt).getTime();
      const message =
        `heartbeat lost: none for ${seconds(silentMs)} s (timeout ${worker.timeoutSeconds} s; ` +
        `${last ? `last at ${last.toISOString()}` : `no heartbeat since it registered at ${worker.startedAt.toISOString()}`})`;
      moveWorker(scope, worker, 'crashed', message);
      worker.crashInfo = { crashed_at: scope.now.toISOString(), error_message: message };
      await releaseAll(scope, worker, { outcome: 'failed', error: `worker ${worker.id} lost: ${message}` });
      remembered(scope, this.live, worker);
      return true;
    });
  }

  private timeOut(id: string): Promise<boolean> {
    return this.transact(async (scope) => {
      const task = await lockRow(scope.em, TaskSchema, id);
      if (task.state !== 'running' || !task.deadlineAt || task.deadlineAt >= scope.now || !task.workerId) return false;
      const worker = await lockRow(scope.em, WorkerSchema, task.workerId);
      const ranMs = scope.now.getTime() - task.startedAt!.getTime();
      await endAttempt(scope, task, {
        outcome: 'failed',
        error: `timed out after ${seconds(ranMs)} s (timeout ${task.timeoutSeconds} s)`,
        executionTimeSeconds: ranMs / 1000,
      });
      await releaseSlot(scope, worker, task, `task ${task.id} timed out`);
      remembered(scope, this.live, worker);
      return true;
    });
  }
}

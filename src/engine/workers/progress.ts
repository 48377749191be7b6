import type { EntityManager } from '@mikro-orm/knex';
import type { Clock } from '../core/clock.js';
import { badInput, notFound } from '../core/errors.js';
import { ulidFloor } from '../core/ids.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import { RunEventSchema, RunSchema, TaskSchema, type Run, type Task } from '../runs/entities.js';
import { WorkerSchema } from './entities.js';
import { findRows } from '../db/plain-rows.js';
import { ERROR_EVENT_KINDS } from '../runs/event-log.js';
import type { LiveWorkers } from './live-workers.js';

/** docs/domain.md#progress-and-monitoring: where a run's tasks stand, computed from stored state (so it is right after a restart too). */
export interface ProgressSnapshot {
  runId: string;
  total: number;
  completed: number;
  failed: number;
  skipped: number;
  running: number;
  /** Not started yet (waiting for dependencies, a worker, or a retry). */
  pending: number;
  /** completed / total, plus the running tasks' own reported progress as partial credit; 100 without tasks. */
  completionPercent: number;
  elapsedSeconds: number;
  /** Average finished-task duration x tasks left; null before the first task finishes. */
  estimatedRemainingSeconds: number | null;
  estimatedCompletionAt: Date | null;
  currentTask: Task | null;
  currentTaskProgress: number | null;
  at: Date;
}

export interface RunMetrics {
  runId: string;
  steps: { total: number; completed: number; failed: number };
  events: { total: number; errors: number };
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  durationSeconds: number | null;
}

export interface RunSummary {
  runsByState: { state: string; count: number }[];
  stepsByState: { state: string; count: number }[];
  activeRuns: number;
}

/** The runs created within a recent window, counted by state, and how many of those that ended failed. */
export interface RecentRuns {
  windowSeconds: number;
  since: Date;
  runsByState: { state: string; count: number }[];
  total: number;
  succeeded: number;
  /** FAILED or QUARANTINED. */
  failed: number;
  /** failed / (succeeded + failed); null when none of them has ended so. */
  failureRate: number | null;
}

/** The widest window recent() looks back: 30 days. */
export const MAX_WINDOW_SECONDS = 30 * 86_400;

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Progress, metrics and the all-runs summary, and progress as it changes.
 * It reads the workers' live heartbeats, so it sits with the workers.
 */
export class ProgressQueries {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly live: LiveWorkers,
    private readonly clock: Clock,
    private readonly streams: NoticeStreams,
  ) {}

  async snapshot(runId: string): Promise<ProgressSnapshot> {
    const snapshot = (await this.snapshots([runId])).get(runId);
    if (!snapshot) throw notFound('Run', runId);
    return snapshot;
  }

  /**
   * Snapshots of many runs in three queries (runs, their tasks, the workers
   * running them), whatever their number; an unknown run is left out.
   */
  async snapshots(runIds: readonly string[]): Promise<Map<string, ProgressSnapshot>> {
    const em = this.fork();
    const ids = [...new Set(runIds)];
    const runs = await findRows(em, RunSchema, { id: { $in: ids } });
    if (runs.length === 0) return new Map();
    const tasks = await findRows(em, TaskSchema, { runId: { $in: runs.map((run) => run.id) } }, { orderBy: { id: 'asc' } });
    const progressOf = await this.workerProgress(
      em,
      tasks.filter((t) => t.state === 'running'),
    );
    const now = this.clock.now();
    const tasksOf = new Map<string, Task[]>(runs.map((run) => [run.id, []]));
    for (const task of tasks) tasksOf.get(task.runId!)?.push(task);
    return new Map(runs.map((run) => [run.id, snapshotOf(run, tasksOf.get(run.id)!, progressOf, now)]));
  }

  async metrics(runId: string): Promise<RunMetrics> {
    const em = this.fork();
    const run = await em.findOne(RunSchema, { id: runId });
    if (!run) throw notFound('Run', runId);
    const knex = em.getKnex();
    const [steps, events, errors] = await Promise.all([
      knex('step_attempt').select('state').count({ count: '*' }).where('run_id', runId).groupBy('state'),
      em.count(RunEventSchema, { runId }),
      em.count(RunEventSchema, { runId, kind: { $in: [...ERROR_EVENT_KINDS] } }),
    ]);
    const byState = new Map((steps as { state: string; count: number }[]).map((row) => [row.state, Number(row.count)]));
    return {
      runId,
      steps: { total: [...byState.values()].reduce((a, b) => a + b, 0), completed: byState.get('succeeded') ?? 0, failed: byState.get('failed') ?? 0 },
      events: { total: events, errors },
      createdAt: run.createdAt,
      startedAt: run.startedAt ?? null,
      endedAt: run.endedAt ?? null,
      durationSeconds: run.startedAt ? round(elapsed(run, this.clock.now())) : null,
    };
  }

  async summary(): Promise<RunSummary> {
    const em = this.fork();
    const knex = em.getKnex();
    const [runs, steps] = await Promise.all([
      knex('run').select('state').count({ count: '*' }).groupBy('state').orderBy('state'),
      knex('step_attempt').select('state').count({ count: '*' }).groupBy('state').orderBy('state'),
    ]);
    const rows = (list: unknown[]) => (list as { state: string; count: number }[]).map((row) => ({ state: row.state, count: Number(row.count) }));
    const runsByState = rows(runs);
    return {
      runsByState,
      stepsByState: rows(steps),
      activeRuns: runsByState.filter((r) => r.state === 'pending' || r.state === 'running').reduce((sum, r) => sum + r.count, 0),
    };
  }

  /**
   * The runs created in the last `windowSeconds`, by state. Created, not
   * ended: the window is an id range (ids embed the creation time), so it
   * reads the primary key and never scans older runs.
   */
  async recent(windowSeconds: number): Promise<RecentRuns> {
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > MAX_WINDOW_SECONDS) {
      throw badInput('windowSeconds', `must be a whole number from 1 to ${MAX_WINDOW_SECONDS} (30 days)`, { max: MAX_WINDOW_SECONDS });
    }
    const since = new Date(this.clock.now().getTime() - windowSeconds * 1000);
    const knex = this.fork().getKnex();
    const rows = await knex('run').select('state').count({ count: '*' }).where('id', '>=', ulidFloor(since.getTime())).groupBy('state').orderBy('state');
    const runsByState = (rows as { state: string; count: number }[]).map((row) => ({ state: row.state, count: Number(row.count) }));
    const count = (...states: string[]) => runsByState.filter((r) => states.includes(r.state)).reduce((sum, r) => sum + r.count, 0);
    const succeeded = count('succeeded');
    const failed = count('failed', 'quarantined');
    return {
      windowSeconds,
      since,
      runsByState,
      total: count(...runsByState.map((r) => r.state)),
      succeeded,
      failed,
      failureRate: succeeded + failed > 0 ? failed / (succeeded + failed) : null,
    };
  }

  /**
   * A new snapshot each time one of the run's tasks (or the run itself)
   * changes, and only when it differs from the last one this stream sent:
   * a change that moves no figure (a task requeued and claimed at once, a
   * run started) sends nothing.
   */
  follow(runId: string): AsyncIterableIterator<ProgressSnapshot> {
    let lastSent: string | null = null;
    return this.streams.follow(
      'run.event',
      async () => {
        const snapshot = await this.snapshot(runId);
        const figures = progressFigures(snapshot);
        if (figures === lastSent) return null;
        lastSent = figures;
        return snapshot;
      },
      (notice) => notice.runId === runId && (notice.kind.startsWith('task_') || notice.kind.startsWith('run_')),
    );
  }

  /** The progress each running task's worker last reported (heartbeats are read from memory). */
  private async workerProgress(em: EntityManager, running: Task[]): Promise<Map<string, number>> {
    const workerIds = [...new Set(running.map((t) => t.workerId).filter((id): id is string => !!id))];
    if (workerIds.length === 0) return new Map();
    const workers = new Map((await findRows(em, WorkerSchema, { id: { $in: workerIds } })).map((w) => [w.id, w]));
    const out = new Map<string, number>();
    for (const task of running) {
      const worker = task.workerId ? workers.get(task.workerId) : undefined;
      // A worker holding several tasks reports one figure: it is credited to the task it took last.
      const progress = worker && worker.currentTaskId === task.id ? this.live.progress(worker) : null;
      if (progress !== null) out.set(task.id, progress);
    }
    return out;
  }
}

/** Where one run stands, from its tasks (in id order) and what their workers last reported. */
function snapshotOf(run: Run, tasks: Task[], progressOf: Map<string, number>, now: Date): ProgressSnapshot {
  const count = (state: Task['state']) => tasks.filter((t) => t.state === state).length;
  const running = tasks.filter((t) => t.state === 'running');
  const finished = tasks.filter((t) => (t.state === 'completed' || t.state === 'failed') && t.executionTimeSeconds != null);
  const average = finished.length > 0 ? finished.reduce((sum, t) => sum + t.executionTimeSeconds!, 0) / finished.length : null;
  const left = tasks.length - count('completed') - count('failed') - count('skipped');
  const credit = running.reduce((sum, t) => sum + (progressOf.get(t.id) ?? 0) / 100, 0);
  const percent = tasks.length === 0 ? 100 : Math.min(100, ((count('completed') + credit) / tasks.length) * 100);
  // Running tasks are part done: what they reported is taken off what is left.
  const remaining = average === null ? null : Math.max(0, average * (left - credit));
  const current = running.reduce<Task | null>((latest, t) => (!latest || (t.startedAt ?? 0) > (latest.startedAt ?? 0) ? t : latest), null);
  return {
    runId: run.id,
    total: tasks.length,
    completed: count('completed'),
    failed: count('failed'),
    skipped: count('skipped'),
    running: running.length,
    pending: count('pending'),
    completionPercent: round(percent),
    elapsedSeconds: round(elapsed(run, now)),
    estimatedRemainingSeconds: remaining === null ? null : round(remaining),
    estimatedCompletionAt: remaining === null ? null : instantOrNull(now.getTime() + remaining * 1000),
    currentTask: current,
    currentTaskProgress: current ? (progressOf.get(current.id) ?? null) : null,
    at: now,
  };
}

/**
 * What makes two snapshots the same: everything but the reading's time
 * (`at`) and what follows from it alone (elapsedSeconds, and
 * estimatedCompletionAt, which is `at` plus the estimate).
 */
function progressFigures(snapshot: ProgressSnapshot): string {
  const { at: _at, elapsedSeconds: _elapsed, estimatedCompletionAt: _eta, currentTask, ...figures } = snapshot;
  return JSON.stringify([figures, currentTask?.id ?? null, currentTask?.state ?? null]);
}

function elapsed(run: Run, now: Date): number {
  if (!run.startedAt) return 0;
  return Math.max(0, ((run.endedAt ?? now).getTime() - run.startedAt.getTime()) / 1000);
}

/** An instant a Date can hold, else null: an estimate past +275760 (huge reported durations) is no estimate. */
function instantOrNull(ms: number): Date | null {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms) : null;
}

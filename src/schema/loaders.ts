import DataLoader from 'dataloader';
import type { Engine } from '../engine/index.js';
import type { Run, RunEvent, StepAttempt, Task } from '../engine/runs/entities.js';
import type { Worker } from '../engine/workers/entities.js';
import type { Workstream } from '../engine/workstreams/entities.js';
import type { Budget } from '../engine/budgets/entities.js';
import type { CostRecord } from '../engine/costs/entities.js';
import type { TestGate } from '../engine/gates/entities.js';
import type { LedgerEntry, Patch } from '../engine/patches/entities.js';
import type { ExecutionRequest } from '../engine/workstreams/entities.js';
import type { EventStats, RunSlice } from '../engine/runs/run-queries.js';
import type { ProgressSnapshot } from '../engine/workers/progress.js';
import { notFound } from '../engine/core/errors.js';

function byId<T extends { id: string }>(load: (ids: readonly string[]) => Promise<T[]>) {
  return new DataLoader<string, T | null>(async (ids) => {
    const found = new Map((await load(ids)).map((row) => [row.id, row]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

/** Per-run first pages of one kind (steps, events), each (after, limit) window loaded for many runs in one query. */
export interface SliceLoader<T> {
  /** One run's slice, batched with the other runs that ask for the same window in the same tick. */
  load(runId: string, after: number, limit: number): Promise<RunSlice<T>>;
  /** Loads the window for these runs in one query, so that `loaded` answers them without waiting. */
  prefetch(runIds: readonly string[], after: number, limit: number): Promise<void>;
  /** The run's slice of this window, when it was loaded already. */
  loaded(runId: string, after: number, limit: number): RunSlice<T> | undefined;
}

function slices<T>(load: (runIds: readonly string[], after: number, limit: number) => Promise<Map<string, RunSlice<T>>>): SliceLoader<T> {
  const windows = new Map<string, { loader: DataLoader<string, RunSlice<T>>; loaded: Map<string, RunSlice<T>> }>();
  const windowOf = (after: number, limit: number) => {
    const key = `${after}:${limit}`;
    let window = windows.get(key);
    if (!window) {
      const loaded = new Map<string, RunSlice<T>>();
      const loader = new DataLoader<string, RunSlice<T>>(async (runIds) => {
        const result = await load(runIds, after, limit);
        for (const [runId, slice] of result) loaded.set(runId, slice);
        return runIds.map((id) => result.get(id)!);
      });
      windows.set(key, (window = { loader, loaded }));
    }
    return window;
  };
  return {
    load: (runId, after, limit) => windowOf(after, limit).loader.load(runId),
    async prefetch(runIds, after, limit) {
      const { loaded } = windowOf(after, limit);
      const missing = runIds.filter((id) => !loaded.has(id));
      if (missing.length === 0) return;
      for (const [runId, slice] of await load(missing, after, limit)) loaded.set(runId, slice);
    },
    loaded: (runId, after, limit) => windows.get(`${after}:${limit}`)?.loaded.get(runId),
  };
}

/** Request-scoped batching and caching of everything object fields read. */
export function createLoaders(engine: Engine) {
  const { queries, workerQueries, patchQueries, gateQueries, costQueries } = engine;
  return {
    cost: byId<CostRecord>((ids) => costQueries.costsByIds(ids)),
    workstream: byId<Workstream>((ids) => engine.workstreams.byIds(ids)),
    /** Every task of a workstream, in execution order (a task's dependents are found among them). */
    workstreamTasks: new DataLoader<string, Task[]>(async (ids) => {
      const tasks = await engine.workstreams.tasksOf(ids);
      return ids.map((id) => tasks.filter((task) => task.workstreamId === id));
    }),
    /** Progress snapshots by run id, many runs in three queries (a page of workstreams with their progress). */
    runProgress: new DataLoader<string, ProgressSnapshot>(async (runIds) => {
      const snapshots = await engine.progress.snapshots(runIds);
      return runIds.map((id) => snapshots.get(id) ?? notFound('Run', id));
    }),
    executionRequest: byId<ExecutionRequest>((ids) => engine.executionRequests.byIds(ids)),
    budget: byId<Budget>((ids) => engine.costs.budgetsByIds(ids)),
    patch: byId<Patch>((ids) => patchQueries.patchesByIds(ids)),
    ledgerEntry: byId<LedgerEntry>((ids) => patchQueries.entriesByIds(ids)),
    ledgerByPatch: new DataLoader<string, LedgerEntry | null>(async (patchIds) => {
      const found = new Map((await patchQueries.entriesByPatchIds(patchIds)).map((entry) => [entry.patchId, entry]));
      return patchIds.map((id) => found.get(id) ?? null);
    }),
    gate: byId<TestGate>((ids) => gateQueries.gatesByIds(ids)),
    worker: byId<Worker>((ids) => workerQueries.workersByIds(ids)),
    task: byId<Task>((ids) => workerQueries.tasksByIds(ids)),
    run: byId<Run>((ids) => queries.runsByIds(ids)),
    step: byId<StepAttempt>((ids) => queries.stepsByIds(ids)),
    event: byId<RunEvent>((ids) => queries.eventsByIds(ids)),
    stepSlice: slices<StepAttempt>((ids, after, limit) => queries.stepSlices(ids, after, limit)),
    eventSlice: slices<RunEvent>((ids, after, limit) => queries.eventSlices(ids, after, limit)),
    eventStats: new DataLoader<string, EventStats>(async (runIds) => {
      const stats = await queries.eventStats(runIds);
      return runIds.map((id) => stats.get(id) ?? { count: 0, firstPosition: null });
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/**
 * A subscription keeps one context for its whole life: give each delivered
 * event fresh loaders so that nested fields show current rows, not the ones
 * cached for an earlier event.
 */
export function refreshLoaders(ctx: { engine: Engine; loaders: Loaders }): void {
  ctx.loaders = createLoaders(ctx.engine);
}

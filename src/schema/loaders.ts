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

/**
 * Per-run first pages, batched: every run on a page that asks for the same
 * (after, first) window is answered by one query.
 */
function slices<T>(load: (runIds: readonly string[], after: number, limit: number) => Promise<Map<string, RunSlice<T>>>) {
  const windows = new Map<string, DataLoader<string, RunSlice<T>>>();
  return (runId: string, after: number, limit: number): Promise<RunSlice<T>> => {
    const key = `${after}:${limit}`;
    let loader = windows.get(key);
    if (!loader) {
      loader = new DataLoader(async (runIds) => {
        const result = await load(runIds, after, limit);
        return runIds.map((id) => result.get(id)!);
      });
      windows.set(key, loader);
    }
    return loader.load(runId);
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

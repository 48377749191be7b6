import type { EntityManager } from '@mikro-orm/knex';
import { LockMode } from '@mikro-orm/core';
import { lockRow } from '../core/lock-row.js';
import type { WriteScope } from '../core/write-scope.js';
import { RunSchema, TaskSchema, type Task } from '../runs/entities.js';
import { WorkstreamSchema, type Workstream } from './entities.js';
import { recordForRun } from '../runs/record-for-run.js';
import { moveRunState } from '../runs/run-service.js';
import { routeTask } from '../routing/routing-service.js';
import { downstream } from './task-graph.js';

/**
 * What makes a pending task claimable by this worker: every dependency
 * completed, a route found (and to a tool the worker runs, when it names
 * its tools), no retry delay still running, and its workstream below
 * max_parallel running tasks. Tasks outside workstreams have none of these.
 * `routedOnly`: only tasks routed to a tool (one the worker runs, when it
 * names its tools), none that is not routed at all.
 */
export async function claimableWhere(em: EntityManager, worker: { tools: readonly string[] }, now: Date, routedOnly = false): Promise<Record<string, unknown>> {
  const full = await em.find(WorkstreamSchema, { runningTasks: { $gt: 0 } }, { fields: ['id', 'runningTasks', 'maxParallel'] });
  const atLimit = full.filter((ws) => ws.runningTasks >= ws.maxParallel).map((ws) => ws.id);
  const tools = worker.tools.length > 0 ? { toolId: { $in: worker.tools } } : { toolId: { $ne: null } };
  return {
    unmetDependencies: 0,
    routeError: null,
    $and: [
      { $or: [{ nextAttemptAt: null }, { nextAttemptAt: { $lte: now } }] },
      ...(routedOnly ? [tools] : worker.tools.length > 0 ? [{ $or: [{ toolId: null }, tools] }] : []),
      ...(atLimit.length > 0 ? [{ $or: [{ workstreamId: null }, { workstreamId: { $nin: atLimit } }] }] : []),
    ],
  };
}

/** A workstream task is leased: it counts against max_parallel, and the first lease starts the run. */
export async function onLease(scope: WriteScope, task: Task): Promise<void> {
  if (!task.workstreamId) return;
  const workstream = await lockRow(scope.em, WorkstreamSchema, task.workstreamId);
  workstream.runningTasks += 1;
  const run = await scope.em.findOneOrFail(RunSchema, { id: workstream.runId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (run.state === 'pending') await moveRunState(scope, run, 'running', { reason: `task ${task.specTaskId} was claimed` });
}

/**
 * A workstream task's attempt ended: its slot frees; a completion unblocks
 * its dependents; a failure for good skips what on_failure (or the
 * workstream's fail_fast) says must not run; and once nothing is left to
 * run, the run ends by itself.
 */
export async function afterAttempt(scope: WriteScope, task: Task): Promise<void> {
  if (!task.workstreamId) return;
  const workstream = await lockRow(scope.em, WorkstreamSchema, task.workstreamId);
  workstream.runningTasks = Math.max(0, workstream.runningTasks - 1);
  if (task.state === 'pending') {
    // Another attempt: the tool that failed may be passed over now.
    await routeTask(scope, task);
    return;
  }
  const tasks = await scope.em.find(TaskSchema, { workstreamId: workstream.id }, { orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const dependents = new Map(tasks.map((t) => [t.id, [] as string[]]));
  for (const t of tasks) for (const dependency of t.dependsOn) dependents.get(dependency)?.push(t.id);
  const dependentsOf = (id: string) => (dependents.get(id) ?? []).map((d) => byId.get(d)!);
  if (task.state === 'completed' || (task.state === 'failed' && task.onFailure === 'continue' && workstream.errorStrategy !== 'fail_fast')) {
    for (const dependent of dependentsOf(task.id)) {
      dependent.unmetDependencies = Math.max(0, dependent.unmetDependencies - 1);
      if (dependent.unmetDependencies === 0 && dependent.state === 'pending') await routeTask(scope, dependent);
    }
  } else if (task.state === 'failed') {
    const stopAll = task.state === 'failed' && (task.onFailure === 'abort_workstream' || workstream.errorStrategy === 'fail_fast');
    const doomed = (stopAll ? tasks : downstream(task.id, dependents).map((id) => byId.get(id)!)).filter((t) => t.state === 'pending');
    for (const victim of doomed) {
      await skip(scope, victim, stopAll ? `workstream stopped after task ${task.specTaskId} failed` : `dependency ${task.specTaskId} failed`);
    }
  }
  await finishRunWhenDone(scope, workstream, tasks);
}

async function skip(scope: WriteScope, task: Task, reason: string): Promise<void> {
  task.state = 'skipped';
  task.endedAt = scope.now;
  task.error = reason;
  if (task.runId) await recordForRun(scope, task.runId, 'task_skipped', { taskId: task.id, kind: task.kind, reason });
}

/** Succeeded when every task completed; failed when one failed for good (or was skipped) and nothing else can run. */
async function finishRunWhenDone(scope: WriteScope, workstream: Workstream, tasks: Task[]): Promise<void> {
  if (tasks.some((t) => t.state === 'pending' || t.state === 'running')) return;
  const run = await scope.em.findOneOrFail(RunSchema, { id: workstream.runId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (run.state !== 'running') return;
  const failed = tasks.filter((t) => t.state === 'failed').map((t) => t.specTaskId);
  const skipped = tasks.filter((t) => t.state === 'skipped').map((t) => t.specTaskId);
  if (failed.length === 0 && skipped.length === 0) {
    await moveRunState(scope, run, 'succeeded', { reason: `all ${tasks.length} tasks completed` }, () => {
      run.exitCode = 0;
    });
    return;
  }
  const message = `${failed.length} task(s) failed (${failed.join(', ')})${skipped.length ? `, ${skipped.length} skipped (${skipped.join(', ')})` : ''}`;
  await moveRunState(scope, run, 'failed', { reason: message }, () => {
    run.errorMessage = message;
  });
}

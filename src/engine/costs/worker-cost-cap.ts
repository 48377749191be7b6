import type { EntityManager } from '@mikro-orm/knex';
import type { ReportingTask } from '../auth/report-access.js';
import type { WorkerActor } from '../auth/identity.js';
import { DomainError } from '../core/errors.js';
import { formatNanos } from '../budgets/money.js';

/**
 * Adds a cost to what WORKER-only tokens recorded through the task, unless
 * the sum would pass the bound: one conditional update of the task's row
 * (casts, so that SQLite compares integers, not text).
 */
export const CHARGE_TASK_COST_SQL = 'update task set worker_cost_nanos = worker_cost_nanos + cast(? as bigint) where id = ? and worker_cost_nanos + cast(? as bigint) <= cast(? as bigint)';

/**
 * A WORKER-only token's costs through one task total at most `boundNanos`
 * (all currencies summed; null: no bound, nothing counted), so that a leaked worker token
 * cannot spend a project's budget and HALT it: past the bound, FORBIDDEN
 * (an operate token records larger costs). Inside the cost's transaction.
 */
export async function chargeTaskCost(em: EntityManager, actor: WorkerActor, task: ReportingTask, nanos: bigint, boundNanos: bigint | null): Promise<void> {
  if (boundNanos === null) return;
  const result = await em.execute<{ affectedRows: number }>(CHARGE_TASK_COST_SQL, [String(nanos), task.id, String(nanos), String(boundNanos)], 'run');
  if (result.affectedRows === 1) return;
  throw new DomainError(
    'FORBIDDEN',
    `token "${actor.tokenName}" may not report this cost: a WORKER-only token records at most ${formatNanos(boundNanos)} (in any currency, summed) ` +
      `through one task (UET_WORKER_COST_PER_TASK), and task ${task.id} would pass that; an operate token records larger costs`,
    { entity: 'Task', id: task.id },
  );
}

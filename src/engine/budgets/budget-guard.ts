import type { EntityManager } from '@mikro-orm/knex';
import { DomainError } from '../core/errors.js';
import { BudgetSchema } from './entities.js';

/**
 * Refuses new work for a run that a HALT budget stopped, or whose project's
 * HALT budget is spent: BUDGET_EXCEEDED, naming the budget.
 */
async function spentHaltProjects(em: EntityManager): Promise<string[]> {
  const budgets = await em.find(BudgetSchema, { scope: 'project', action: 'halt' }, { fields: ['id', 'projectId', 'limitNanos', 'spentNanos'] });
  return [...new Set(budgets.filter((b) => BigInt(b.spentNanos) >= BigInt(b.limitNanos)).map((b) => b.projectId!))];
}

/**
 * The runs that still have PENDING tasks although a HALT budget stopped them
 * (their own, or their project's spent one): claims pass these tasks over.
 * Halting skips a run's pending tasks, so this is usually empty; it holds a
 * task put back after a failed attempt that was under way at the halt, or a
 * workstream submitted to a project whose HALT budget is spent (whose tasks
 * become claimable again if the limit is raised).
 */
export async function haltedRunsWithPendingTasks(em: EntityManager): Promise<string[]> {
  const projects = await spentHaltProjects(em);
  const rows = await em.execute<{ run_id: string }[]>(
    'select distinct t.run_id as run_id from task t join run r on r.id = t.run_id ' +
      `where t.state = 'pending' and (r.halted_by_budget_id is not null${projects.length > 0 ? ` or r.project_id in (${projects.map(() => '?').join(', ')})` : ''})`,
    projects,
    'all',
  );
  return rows.map((row) => row.run_id);
}

export async function assertNotHalted(em: EntityManager, run: { id: string; projectId: string; haltedByBudgetId?: string | null }): Promise<void> {
  let budgetId = run.haltedByBudgetId ?? null;
  if (!budgetId) {
    const spent = (await em.find(BudgetSchema, { scope: 'project', projectId: run.projectId, action: 'halt' })).find((b) => BigInt(b.spentNanos) >= BigInt(b.limitNanos));
    budgetId = spent?.id ?? null;
  }
  if (budgetId) {
    throw new DomainError('BUDGET_EXCEEDED', `Run ${run.id} was halted by budget ${budgetId}: it takes no new steps or tasks`, {
      entity: 'Run',
      id: run.id,
      budgetId,
    });
  }
}

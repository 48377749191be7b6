import type { EntityManager } from '@mikro-orm/sqlite';
import { DomainError } from '../core/errors.js';
import { BudgetSchema } from '../db/cost-entities.js';
import type { Run } from '../db/entities.js';

/**
 * Refuses new work for a run that a HALT budget stopped, or whose project's
 * HALT budget is spent: BUDGET_EXCEEDED, naming the budget.
 */
export async function assertNotHalted(em: EntityManager, run: Pick<Run, 'id' | 'projectId' | 'haltedByBudgetId'>): Promise<void> {
  let budgetId = run.haltedByBudgetId ?? null;
  if (!budgetId) {
    const spent = (await em.find(BudgetSchema, { scope: 'project', projectId: run.projectId, action: 'halt' })).find(
      (b) => BigInt(b.spentNanos) >= BigInt(b.limitNanos),
    );
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

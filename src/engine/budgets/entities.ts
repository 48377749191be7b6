import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type BudgetScope = 'project' | 'run';
export type BudgetAction = 'notify' | 'halt';

export interface Budget {
  id: string;
  scope: BudgetScope;
  projectId?: string | null;
  runId?: string | null;
  currency: string;
  /** Nano-units, decimal strings: compared as bigint, never as floats. */
  limitNanos: string;
  spentNanos: string;
  /** Percentages of the limit, ascending (e.g. [80, 100]). */
  thresholds: number[];
  /** Thresholds already crossed (each announced once). */
  crossed: number[];
  action: BudgetAction;
  /** 'run:<id>:<CUR>' or 'project:<id>:<CUR>': one budget per place and currency. */
  scopeKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export const BudgetSchema = new EntitySchema<Budget>({
  name: 'Budget',
  tableName: 'budget',
  properties: {
    id: ulid,
    scope: { type: 'string', length: 8 },
    projectId: { type: 'string', length: 200, nullable: true },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    currency: { type: 'string', length: 3 },
    limitNanos: { type: 'string', length: 40 },
    spentNanos: { type: 'string', length: 40 },
    thresholds: { type: 'json' },
    crossed: { type: 'json' },
    action: { type: 'string', length: 8 },
    scopeKey: { type: 'string', length: 260, unique: 'budget_scope_key_unique' },
    createdAt: { type: 'Date' },
    updatedAt: { type: 'Date' },
  },
  indexes: [{ name: 'budget_project_id_idx', properties: ['projectId'] }],
});

export const budgetEntities = [BudgetSchema];

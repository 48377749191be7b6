import { EntitySchema } from '@mikro-orm/core';

export type ResourceType = 'api_call' | 'compute_time' | 'storage' | 'network' | 'tool_usage' | 'custom';
export type BudgetScope = 'project' | 'run';
export type BudgetAction = 'notify' | 'halt';

/** A cost_record (DOMAIN.md 5). Money is integer nano-units (see costs/money.ts). */
export interface CostRecord {
  id: string;
  runId?: string | null;
  projectId?: string | null;
  /** The task attempt it was spent on, when a worker reports it. */
  executionRequestId?: string | null;
  resourceType: ResourceType;
  resourceName?: string | null;
  /** Nano-units, as a decimal string of an integer (exact; the column is an integer the database sums). */
  amountNanos: string;
  currency: string;
  /** quantity and rate as exact decimal strings. */
  usage?: { quantity: string; unit: string; rate: string } | null;
  recordedAt: Date;
  /** metadata.model, a column of its own so that spend groups by model in SQL. */
  model?: string | null;
  metadata: Record<string, unknown>;
}

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

export const CostRecordSchema = new EntitySchema<CostRecord>({
  name: 'CostRecord',
  tableName: 'cost_record',
  properties: {
    id: { type: 'string', length: 26, primary: true },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    projectId: { type: 'string', length: 200, nullable: true },
    executionRequestId: { type: 'string', length: 26, nullable: true },
    resourceType: { type: 'string', length: 20 },
    resourceName: { type: 'string', length: 200, nullable: true },
    amountNanos: { type: 'bigint' },
    currency: { type: 'string', length: 3 },
    usage: { type: 'json', nullable: true },
    recordedAt: { type: 'Date' },
    model: { type: 'string', length: 200, nullable: true },
    metadata: { type: 'json' },
  },
  // Filters are one column plus the id order (ids sort by time); summaries group within them.
  indexes: [
    { name: 'cost_record_project_id_id_idx', properties: ['projectId', 'id'] },
    { name: 'cost_record_run_id_id_idx', properties: ['runId', 'id'] },
    { name: 'cost_record_model_id_idx', properties: ['model', 'id'] },
    { name: 'cost_record_resource_type_id_idx', properties: ['resourceType', 'id'] },
  ],
});

export const BudgetSchema = new EntitySchema<Budget>({
  name: 'Budget',
  tableName: 'budget',
  properties: {
    id: { type: 'string', length: 26, primary: true },
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

export const costEntities = [CostRecordSchema, BudgetSchema];

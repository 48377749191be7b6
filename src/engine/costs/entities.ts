import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type ResourceType = 'api_call' | 'compute_time' | 'storage' | 'network' | 'tool_usage' | 'custom';

/** A cost_record (docs/domain.md#costs-and-budgets). Money is integer nano-units (see budgets/money.ts). */
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

export const CostRecordSchema = new EntitySchema<CostRecord>({
  name: 'CostRecord',
  tableName: 'cost_record',
  properties: {
    id: ulid,
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

export const costEntities = [CostRecordSchema];

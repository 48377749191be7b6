import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type WorkstreamErrorStrategy = 'fail_fast' | 'continue';

/** A submitted workstream_spec: its run, and the tasks it became (docs/domain.md#workstreams-and-scheduling). */
export interface Workstream {
  id: string;
  /** The spec's workstream_id. */
  specId: string;
  projectId: string;
  phaseId: string;
  name: string;
  objective: string;
  runId: string;
  maxParallel: number;
  errorStrategy: WorkstreamErrorStrategy;
  /** Tasks leased now (at most maxParallel). */
  runningTasks: number;
  spec: Record<string, unknown>;
  createdAt: Date;
}

export const WorkstreamSchema = new EntitySchema<Workstream>({
  name: 'Workstream',
  tableName: 'workstream',
  properties: {
    id: ulid,
    specId: { type: 'string', length: 200 },
    projectId: { type: 'string', length: 200 },
    phaseId: { type: 'string', length: 200 },
    name: { type: 'string', length: 200 },
    objective: { type: 'text' },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', deleteRule: 'cascade', unique: 'workstream_run_id_unique', index: false },
    maxParallel: { type: 'integer' },
    errorStrategy: { type: 'string', length: 12 },
    runningTasks: { type: 'integer', default: 0 },
    spec: { type: 'json' },
    createdAt: { type: 'Date' },
  },
  indexes: [{ name: 'workstream_project_id_id_idx', properties: ['projectId', 'id'] }],
  // A workstream_id names one workstream per project (WorkstreamService.submit).
  uniques: [{ name: 'workstream_project_id_spec_id_unique', properties: ['projectId', 'specId'] }],
});

/** One attempt of a task as a worker takes it: an execution_request document (docs/domain.md#routing-and-execution-requests). */
export interface ExecutionRequest {
  id: string;
  projectId: string;
  runId?: string | null;
  taskId: string;
  taskKind: string;
  attempt: number;
  toolId?: string | null;
  document: Record<string, unknown>;
  createdAt: Date;
}

export const ExecutionRequestSchema = new EntitySchema<ExecutionRequest>({
  name: 'ExecutionRequest',
  tableName: 'execution_request',
  properties: {
    id: ulid,
    projectId: { type: 'string', length: 200 },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    taskId: { kind: 'm:1', entity: 'Task', mapToPk: true, fieldName: 'task_id', deleteRule: 'cascade' },
    taskKind: { type: 'string', length: 200 },
    attempt: { type: 'integer' },
    toolId: { type: 'string', length: 200, nullable: true },
    document: { type: 'json' },
    createdAt: { type: 'Date' },
  },
  indexes: [
    { name: 'execution_request_project_id_id_idx', properties: ['projectId', 'id'] },
    { name: 'execution_request_run_id_id_idx', properties: ['runId', 'id'] },
    { name: 'execution_request_task_kind_id_idx', properties: ['taskKind', 'id'] },
  ],
});

export const workstreamEntities = [WorkstreamSchema, ExecutionRequestSchema];

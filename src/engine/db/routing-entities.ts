import { EntitySchema } from '@mikro-orm/core';
import type { Breaker } from '../routing/circuit-breaker.js';
import type { RouterConfig } from '../routing/router.js';

/** A router_config as set; the newest row is the one in force. */
export interface RouterConfigRow {
  id: string;
  config: RouterConfig;
  createdAt: Date;
}

/** What the engine has measured of one tool: its breaker, outcomes and recent latencies. */
export interface ToolState {
  toolId: string;
  breaker: Breaker;
  successes: number;
  failures: number;
  /** The latest durations in ms (at most LATENCY_SAMPLES), for the median. */
  latencies: number[];
  /** Tasks routed to it that are leased now. */
  inFlight: number;
  updatedAt: Date;
}

/** A round_robin rule's rotation, kept so that it survives a restart. */
export interface RouteRotation {
  ruleKey: string;
  counter: number;
}

/** One attempt of a task as a worker takes it: an execution_request document (DOMAIN.md 6). */
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

export const RouterConfigSchema = new EntitySchema<RouterConfigRow>({
  name: 'RouterConfigRow',
  tableName: 'router_config',
  properties: {
    id: { type: 'string', length: 26, primary: true },
    config: { type: 'json' },
    createdAt: { type: 'Date' },
  },
});

export const ToolStateSchema = new EntitySchema<ToolState>({
  name: 'ToolState',
  tableName: 'tool_state',
  properties: {
    toolId: { type: 'string', length: 200, primary: true },
    breaker: { type: 'json' },
    successes: { type: 'integer', default: 0 },
    failures: { type: 'integer', default: 0 },
    latencies: { type: 'json' },
    inFlight: { type: 'integer', default: 0 },
    updatedAt: { type: 'Date' },
  },
});

export const RouteRotationSchema = new EntitySchema<RouteRotation>({
  name: 'RouteRotation',
  tableName: 'route_rotation',
  properties: {
    ruleKey: { type: 'string', length: 200, primary: true },
    counter: { type: 'integer' },
  },
});

export const ExecutionRequestSchema = new EntitySchema<ExecutionRequest>({
  name: 'ExecutionRequest',
  tableName: 'execution_request',
  properties: {
    id: { type: 'string', length: 26, primary: true },
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

export const routingEntities = [RouterConfigSchema, ToolStateSchema, RouteRotationSchema, ExecutionRequestSchema];

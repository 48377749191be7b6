import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type WorkerType = 'executor' | 'monitor' | 'validator' | 'scheduler' | 'custom';
export type WorkerState = 'idle' | 'busy' | 'paused' | 'stopped' | 'crashed';

/** The worker_lifecycle config, as given at registration (snake_case like the contract). */
export interface WorkerConfig {
  max_parallel_tasks: number;
  heartbeat_interval?: number;
  timeout_seconds?: number;
}

export interface CrashInfo {
  crashed_at: string;
  error_message: string;
  stack_trace?: string;
}

export interface Worker {
  id: string;
  type: WorkerType;
  state: WorkerState;
  /** The task it took last among those it holds; null when it holds none. */
  currentTaskId?: string | null;
  /** How many tasks it holds (at most config.max_parallel_tasks). */
  activeTasks: number;
  startedAt: Date;
  /** As last flushed; the engine's heartbeat buffer may hold a newer one (live-workers.ts). */
  lastHeartbeatAt?: Date | null;
  heartbeatProgress?: number | null;
  /** When it turns stale without another heartbeat: last heartbeat (or start) + timeout. */
  staleAfter: Date;
  /** config.timeout_seconds, or the server default when the config names none. */
  timeoutSeconds: number;
  stoppedAt?: Date | null;
  crashInfo?: CrashInfo | null;
  tasksCompleted: number;
  tasksFailed: number;
  /** Seconds. */
  totalExecutionTime: number;
  config: WorkerConfig;
  metadata: Record<string, unknown>;
  /** The token that registered it; only that token's `worker` scope may act for it. Null: the env admin secret. */
  registeredByTokenId?: string | null;
  /** The tools it can run; empty: any. */
  tools: string[];
}

export const WorkerSchema = new EntitySchema<Worker>({
  name: 'Worker',
  tableName: 'worker',
  properties: {
    id: ulid,
    type: { type: 'string', length: 16 },
    state: { type: 'string', length: 16 },
    currentTaskId: { type: 'string', length: 26, nullable: true },
    activeTasks: { type: 'integer', default: 0 },
    startedAt: { type: 'Date' },
    lastHeartbeatAt: { type: 'Date', nullable: true },
    heartbeatProgress: { type: 'double', nullable: true },
    staleAfter: { type: 'Date' },
    timeoutSeconds: { type: 'double' },
    stoppedAt: { type: 'Date', nullable: true },
    crashInfo: { type: 'json', nullable: true },
    tasksCompleted: { type: 'integer', default: 0 },
    tasksFailed: { type: 'integer', default: 0 },
    totalExecutionTime: { type: 'double', default: 0 },
    config: { type: 'json' },
    metadata: { type: 'json' },
    registeredByTokenId: { type: 'string', length: 26, nullable: true },
    tools: { type: 'json', defaultRaw: `'[]'` },
  },
  // `workers` filters on state or type, newest first; staleness and the reaper scan by deadline.
  indexes: [
    { name: 'worker_state_id_idx', properties: ['state', 'id'] },
    { name: 'worker_type_id_idx', properties: ['type', 'id'] },
    { name: 'worker_stale_after_idx', properties: ['staleAfter'] },
  ],
});

export const workerEntities = [WorkerSchema];

import type { WorkerState, WorkerType } from '../db/entities.js';

/** What the bus carries about workers: enough to filter on, never the row. */
export const WORKER_STATE_TOPIC = 'worker.state';
export const WORKER_HEARTBEAT_TOPIC = 'worker.heartbeat';

export interface WorkerStateNotice {
  workerId: string;
  type: WorkerType;
  from: WorkerState | null;
  to: WorkerState;
  reason: string;
  at: string;
}

export interface WorkerHeartbeatNotice {
  workerId: string;
  type: WorkerType;
  at: string;
  progress: number | null;
}

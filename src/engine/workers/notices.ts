import type { WorkerState, WorkerType } from './entities.js';

/** What the bus carries about workers: enough to filter on, never the row. */
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

declare module '../core/event-bus.js' {
  interface Topics {
    'worker.state': WorkerStateNotice;
    'worker.heartbeat': WorkerHeartbeatNotice;
  }
}

/** The topics whose notices name a worker (and its type), which subscriptions filter on. */
export type WorkerTopic = 'worker.state' | 'worker.heartbeat';

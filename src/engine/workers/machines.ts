import { StateMachine } from '../core/state-machine.js';
import type { WorkerState } from './entities.js';

/** docs/domain.md#workers: the worker lifecycle. */
export const workerMachine = new StateMachine<WorkerState>('Worker', {
  idle: ['busy', 'paused', 'stopped', 'crashed'],
  busy: ['idle', 'paused', 'stopped', 'crashed'],
  paused: ['idle', 'stopped', 'crashed'],
  stopped: [],
  crashed: [],
});

export const LIVE_WORKER_STATES: readonly WorkerState[] = ['idle', 'busy', 'paused'];

export function isTerminalWorker(state: WorkerState): boolean {
  return state === 'stopped' || state === 'crashed';
}

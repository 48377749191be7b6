import { StateMachine } from '../core/state-machine.js';
import type { TaskState, WorkerState } from '../db/entities.js';

/** DOMAIN.md 2: the worker lifecycle. */
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

/**
 * A task waits (pending) until a worker leases it (running); an attempt
 * ends completed, failed for good, or back to pending for another worker.
 * A workstream task whose dependency failed (or whose workstream stopped),
 * or a task whose run ended, is skipped without running; an attempt that
 * ends without success after its run ended is not retried: skipped too.
 */
export const taskMachine = new StateMachine<TaskState>('Task', {
  pending: ['running', 'skipped'],
  running: ['pending', 'completed', 'failed', 'skipped'],
  completed: [],
  failed: [],
  skipped: [],
});

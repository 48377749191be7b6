import { StateMachine } from '../core/state-machine.js';
import type { RunState, StepState, TaskState } from './entities.js';

/** docs/domain.md#runs-and-steps: the run lifecycle. */
export const runMachine = new StateMachine<RunState>('Run', {
  pending: ['running', 'canceled'],
  running: ['succeeded', 'failed', 'quarantined', 'canceled'],
  failed: ['quarantined'],
  succeeded: [],
  quarantined: [],
  canceled: [],
});

/** A run that has ended (SUCCEEDED, FAILED, CANCELED, QUARANTINED) takes no new work: no new task, no further attempt. */
export function isEndedRun(state: RunState): boolean {
  return state !== 'pending' && state !== 'running';
}

/** docs/domain.md#runs-and-steps: a step attempt runs once and ends in one of three terminal states. */
export const stepMachine = new StateMachine<StepState>('StepAttempt', {
  running: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
});

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

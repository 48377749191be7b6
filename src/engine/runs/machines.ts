import { StateMachine } from '../core/state-machine.js';
import type { RunState, StepState } from '../db/entities.js';

/** DOMAIN.md 1: the run lifecycle. */
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

/** DOMAIN.md 1: a step attempt runs once and ends in one of three terminal states. */
export const stepMachine = new StateMachine<StepState>('StepAttempt', {
  running: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
});

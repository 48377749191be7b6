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

/** DOMAIN.md 1: a step attempt runs once and ends in one of three terminal states. */
export const stepMachine = new StateMachine<StepState>('StepAttempt', {
  running: ['succeeded', 'failed', 'canceled'],
  succeeded: [],
  failed: [],
  canceled: [],
});

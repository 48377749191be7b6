import { StateMachine } from '../core/state-machine.js';
import type { GateState } from '../db/gate-entities.js';

/** DOMAIN.md 4: the test gate lifecycle. */
export const gateMachine = new StateMachine<GateState>('TestGate', {
  pending: ['running', 'skipped'],
  running: ['passed', 'failed', 'error', 'skipped'],
  passed: [],
  failed: [],
  error: [],
  skipped: [],
});

export const OUTCOME_STATES: readonly GateState[] = ['passed', 'failed', 'error', 'skipped'];

import { StateMachine } from '../core/state-machine.js';
import type { GateState } from './entities.js';

/** docs/domain.md#test-gates: the test gate lifecycle. */
export const gateMachine = new StateMachine<GateState>('TestGate', {
  pending: ['running', 'skipped'],
  running: ['passed', 'failed', 'error', 'skipped'],
  passed: [],
  failed: [],
  error: [],
  skipped: [],
});

export const OUTCOME_STATES: readonly GateState[] = ['passed', 'failed', 'error', 'skipped'];

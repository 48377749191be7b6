import { StateMachine } from '../core/state-machine.js';
import type { PatchState } from './entities.js';

/** docs/domain.md#patch-ledger: the patch ledger lifecycle. */
export const ledgerMachine = new StateMachine<PatchState>('LedgerEntry', {
  created: ['validated', 'apply_failed', 'quarantined', 'dropped'],
  validated: ['queued', 'quarantined', 'dropped'],
  queued: ['applied', 'apply_failed', 'quarantined', 'dropped'],
  applied: ['verified', 'apply_failed', 'rolled_back', 'quarantined', 'dropped'],
  apply_failed: ['queued', 'quarantined', 'dropped'],
  verified: ['committed', 'rolled_back', 'quarantined', 'dropped'],
  quarantined: ['dropped'],
  committed: [],
  rolled_back: [],
  dropped: [],
});

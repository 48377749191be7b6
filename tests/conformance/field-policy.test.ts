import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql.js';
import { fieldPolicy } from '../../src/schema/field-policy.js';

// The server reads these policies from the fields (field-policy.ts): a field that gains or loses one changes who shares a stream or which budget pays.
describe('field policy', () => {
  it('marks the live-only subscriptions, which identical subscribers share', () => {
    const fields = Object.keys(schema.getSubscriptionType()!.getFields());
    expect(fields.filter((name) => fieldPolicy(schema, 'subscription', name).liveOnly).sort()).toEqual([
      'budgetAlerts',
      'costRecorded',
      'gateOutcomes',
      'patchStateChanged',
      'runEventBatches',
      'runEvents',
      'runProgress',
      'runStateChanged',
      'stepLogAppended',
      'toolChanged',
      'toolCircuitChanged',
      'workerHeartbeats',
      'workerStateChanged',
    ]);
  });

  it('counts only heartbeat against the heartbeat budget', () => {
    const fields = Object.keys(schema.getMutationType()!.getFields());
    expect(fields.filter((name) => fieldPolicy(schema, 'mutation', name).rateBudget === 'heartbeat')).toEqual(['heartbeat']);
  });

  it('counts only appendStepLog against the log append budget', () => {
    const fields = Object.keys(schema.getMutationType()!.getFields());
    expect(fields.filter((name) => fieldPolicy(schema, 'mutation', name).rateBudget === 'logAppend')).toEqual(['appendStepLog']);
  });

  it('states no policy for a field it does not know', () => {
    expect(fieldPolicy(schema, 'subscription', 'noSuchField')).toEqual({});
  });
});

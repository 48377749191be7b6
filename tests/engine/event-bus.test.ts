import { describe, expect, it } from 'vitest';
import { createEventBus, type EventBus, type Topics } from '../../src/engine/core/event-bus.js';
import { WriteScope } from '../../src/engine/core/write-scope.js';

describe('event bus', () => {
  it('delivers a topic’s payload to its listeners, and no more once unsubscribed', () => {
    const bus = createEventBus();
    const seen: Topics['run.state'][] = [];
    const off = bus.subscribe('run.state', (notice) => seen.push(notice));
    expect(bus.listeners()).toBe(1);
    bus.publish('run.state', { runId: 'r1', projectId: 'p1', state: 'running' });
    off();
    off();
    bus.publish('run.state', { runId: 'r1', projectId: 'p1', state: 'succeeded' });
    expect(seen).toEqual([{ runId: 'r1', projectId: 'p1', state: 'running' }]);
    expect(bus.listeners()).toBe(0);
  });

  it('contains a listener that throws', () => {
    const errors: unknown[] = [];
    const bus = createEventBus(undefined, (error) => errors.push(error));
    let after = 0;
    bus.subscribe('auth.token-revoked', () => {
      throw new Error('boom');
    });
    bus.subscribe('auth.token-revoked', () => (after += 1));
    bus.publish('auth.token-revoked', { tokenId: 't1' });
    expect(errors).toHaveLength(1);
    expect(after).toBe(1);
  });

  it('publishes a write’s announcements only when it settles', () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.subscribe('patch.state', (notice) => seen.push(notice.state));
    const scope = new WriteScope(null as never, null as never, new Date(), () => 'id');
    scope.announce('patch.state', { ledgerId: 'l1', projectId: 'p1', runId: null, state: 'validated' });
    expect(seen).toEqual([]);
    scope.settle(bus);
    expect(seen).toEqual(['validated']);
  });

  // Never called: `tsc -p .` fails if any of these mistakes compiles (a stale @ts-expect-error is an error).
  function mistakes(bus: EventBus, scope: WriteScope): void {
    // @ts-expect-error: no such topic
    bus.publish('run.stat', { runId: 'r1', projectId: 'p1', state: 'running' });
    // @ts-expect-error: another topic's payload
    bus.publish('run.state', { tokenId: 't1' });
    // @ts-expect-error: a field this topic's notice does not have
    bus.subscribe('gate.outcome', (notice) => notice.ledgerId);
    // @ts-expect-error: a payload that misses fields
    scope.announce('patch.state', { ledgerId: 'l1' });
  }

  it('checks topics and payloads at compile time', () => {
    expect(mistakes).toBeTypeOf('function');
  });
});

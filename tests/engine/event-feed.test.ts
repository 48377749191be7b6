import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunEventFeed } from '../../src/engine/runs/event-feed.js';
import type { RunEvent } from '../../src/engine/runs/entities.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { createTestEngine } from '../helpers/engine.js';

/** Reports as an operator would (on any run). */
const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;
let engine: TestEngine;
let runId: string;

beforeEach(async () => {
  engine = await createTestEngine();
  runId = (await engine.runs.createRun({ projectId: 'p', phaseId: 'ph' })).id;
  await engine.runs.startRun(runId);
});
afterEach(() => engine.dispose());

const note = (id: string, message: string) => engine.runs.addRunNote({ runId: id, message });

async function take(stream: AsyncIterator<RunEvent>, count: number): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  while (out.length < count) {
    const { value, done } = await stream.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

const positions = (events: RunEvent[]) => events.map((e) => e.position);

describe('run event feed', () => {
  it('replays after a position, then continues live without gap or duplicate while writes race the replay', async () => {
    for (let i = 0; i < 30; i++) await note(runId, `before ${i}`);
    const stream = engine.feed.stream({ runId, after: 2 });
    // Writes committed while the replay is being read.
    const writer = (async () => {
      for (let i = 0; i < 30; i++) await note(runId, `during ${i}`);
    })();
    const received = await take(stream, 60);
    await writer;
    const stored = await engine.events.after({ runId, after: 2, limit: 1000 });
    expect(positions(received)).toEqual(positions(stored));
    expect(new Set(positions(received)).size).toBe(received.length);
    await stream.return?.();
  });

  it('streams all runs in log order when no run is named', async () => {
    const other = (await engine.runs.createRun({ projectId: 'q', phaseId: 'ph' })).id;
    const start = await engine.events.lastPosition();
    const stream = engine.feed.stream({ after: start });
    await Promise.all([note(runId, 'a'), note(other, 'b'), note(runId, 'c'), note(other, 'd')]);
    const received = await take(stream, 4);
    expect(positions(received)).toEqual([start + 1, start + 2, start + 3, start + 4]);
    expect(new Set(received.map((e) => e.runId))).toEqual(new Set([runId, other]));
    await stream.return?.();
  });

  it('without a cursor delivers only what is appended after it starts', async () => {
    await note(runId, 'old');
    const stream = engine.feed.stream({ runId, after: null });
    const first = stream.next();
    // The stream attaches asynchronously; wait until it is listening.
    while (engine.feed.openStreams === 0) await new Promise((r) => setTimeout(r, 1));
    await note(runId, 'new');
    const { value } = await first;
    expect(value!.payload).toEqual({ message: 'new' });
    await stream.return?.();
  });

  it('filters by kind, and by run', async () => {
    const other = (await engine.runs.createRun({ projectId: 'q', phaseId: 'ph' })).id;
    const stream = engine.feed.stream({ runId, after: 0, kinds: ['note'] });
    await note(other, 'elsewhere');
    await engine.runs.startStep(operator, { runId, toolId: 'tool' });
    await note(runId, 'mine');
    const [event] = await take(stream, 1);
    expect(event).toMatchObject({ runId, kind: 'note', payload: { message: 'mine' } });
    await stream.return?.();
  });

  it('ends at once on return(), even while waiting for the next event', async () => {
    const stream = engine.feed.stream({ runId, after: null });
    const pending = stream.next();
    while (engine.feed.openStreams === 0) await new Promise((r) => setTimeout(r, 1));
    await stream.return?.();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(engine.feed.openStreams).toBe(0);
  });

  it('ends a subscriber that falls too far behind with SLOW_CONSUMER, and it can resume', async () => {
    const feed = new RunEventFeed(engine.events, engine.bus, () => {}, 3);
    const stream = feed.stream({ runId, after: null });
    const first = stream.next();
    while (feed.openStreams === 0) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 6; i++) await note(runId, `burst ${i}`);
    const got = await first;
    let error: unknown;
    const rest: RunEvent[] = [];
    try {
      for (;;) {
        const next = await stream.next();
        if (next.done) break;
        rest.push(next.value);
      }
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'SLOW_CONSUMER' });
    const last = [got.value!, ...rest].at(-1)!.position;
    const resumed = feed.stream({ runId, after: last });
    const tail = await take(resumed, 6 - 1 - rest.length);
    expect(positions([got.value!, ...rest, ...tail])).toEqual(positions(await engine.events.after({ runId, after: got.value!.position - 1, limit: 100 })));
    await resumed.return?.();
    feed.close();
  });

  it('ends a subscriber whose unread events pass the byte bound, however few they are', async () => {
    const feed = new RunEventFeed(engine.events, engine.bus, () => {});
    const stream = feed.stream({ runId, after: null });
    const first = stream.next();
    while (feed.openStreams === 0) await new Promise((r) => setTimeout(r, 1));
    // 20 notes of 1 MiB: far below the 10,000-event bound, above the 16 MiB one.
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 20; i++) await engine.runs.addRunNote({ runId, message: `big ${i}`, payload: { big } });
    await first;
    let read = 1;
    let error: unknown;
    try {
      while (!(await stream.next()).done) read += 1;
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'SLOW_CONSUMER', details: { maxBufferedBytes: 16 * 1024 * 1024 } });
    expect(read).toBeLessThan(20);
    expect(read).toBeGreaterThanOrEqual(15);
    feed.close();
  });

  it('batches: the same events in the same order, cut at the event and byte limits, live ones as queued', async () => {
    for (let i = 0; i < 12; i++) await note(runId, `stored ${i}`);
    // Each note counts about 256 bytes plus its payload: 700 bytes hold two, never three.
    const stream = engine.feed.batches({ runId, after: 0 }, { events: 5, bytes: 700 });
    const stored = await engine.events.after({ runId, after: 0, limit: 100 });
    const batches: RunEvent[][] = [];
    while (batches.flat().length < stored.length) batches.push((await stream.next()).value!);
    expect(batches.map((b) => b.length)).toEqual(
      Array(Math.ceil(stored.length / 2))
        .fill(2)
        .with(-1, stored.length % 2 || 2),
    );
    // Three notes written while nothing reads: the next batches carry them, within the limits.
    for (let i = 0; i < 3; i++) await note(runId, `live ${i}`);
    while (batches.flat().length < stored.length + 3) batches.push((await stream.next()).value!);
    expect(batches.every((b) => b.length >= 1 && b.length <= 2)).toBe(true);
    expect(positions(batches.flat())).toEqual(positions(await engine.events.after({ runId, after: 0, limit: 100 })));
    await stream.return?.();
    expect(engine.feed.openStreams).toBe(0);
  });

  it('batches: a single event larger than the byte limit still goes, alone', async () => {
    await engine.runs.addRunNote({ runId, message: 'big', payload: { big: 'x'.repeat(10_000) } });
    await note(runId, 'small');
    const stream = engine.feed.batches({ runId, after: 0 }, { events: 100, bytes: 1000 });
    const stored = await engine.events.after({ runId, after: 0, limit: 100 });
    const batches: RunEvent[][] = [];
    while (batches.flat().length < stored.length) batches.push((await stream.next()).value!);
    expect(batches.find((b) => b.some((e) => e.payload.message === 'big'))).toHaveLength(1);
    expect(positions(batches.flat())).toEqual(positions(stored));
    await stream.return?.();
  });

  it('announces only after commit: a refused write publishes nothing', async () => {
    const seen: unknown[] = [];
    const off = engine.bus.subscribe('run.event', (m) => seen.push(m));
    await expect(engine.runs.startRun(runId)).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    await expect(engine.runs.quarantineRun(runId, '')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(seen).toEqual([]);
    await note(runId, 'ok');
    expect(seen).toHaveLength(1);
    off();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

interface Batch {
  cursor: string;
  events: { id: string; kind: string; cursor: string }[];
}

const BATCHES = `subscription($runId: ID, $after: String, $size: Int, $follow: Boolean) {
  runEventBatches(runId: $runId, after: $after, size: $size, follow: $follow) { cursor events { id kind cursor } }
}`;

const position = (cursor: string) => Number(Buffer.from(cursor, 'base64url').toString().split(':')[1]);

/** The stored log after a cursor, read page by page through the API. */
async function storedLog(runId: string, after: string | null): Promise<string[]> {
  const ids: string[] = [];
  let cursor = after;
  for (;;) {
    const res = await server.gql(`query($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after, first: 100) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`, {
      runId,
      after: cursor,
    });
    ids.push(...res.data.runEvents.edges.map((e: { node: { id: string } }) => e.node.id));
    if (!res.data.runEvents.pageInfo.hasNextPage) return ids;
    cursor = res.data.runEvents.pageInfo.endCursor;
  }
}

async function firstCursor(runId: string): Promise<string> {
  const res = await server.gql(`query($runId: ID!) { runEvents(runId: $runId, first: 1) { edges { cursor } } }`, { runId });
  return res.data.runEvents.edges[0].cursor;
}

async function writeNotes(runId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 4) {
    await Promise.all([0, 1, 2, 3].map((j) => server.ok(`mutation($runId: ID!, $m: String!) { addRunNote(input: {runId: $runId, message: $m}) { event { id } } }`, { runId, m: `note ${i + j}` })));
  }
}

/** Each batch is non-empty, within `size`, and its cursor is its last event's. */
function expectWellFormed(batches: Batch[], size: number): void {
  for (const batch of batches) {
    expect(batch.events.length).toBeGreaterThan(0);
    expect(batch.events.length).toBeLessThanOrEqual(size);
    expect(batch.cursor).toBe(batch.events.at(-1)!.cursor);
  }
}

/** Collects batches until `total` events have arrived. */
async function receive(variables: Record<string, unknown>, total: number) {
  const sub = subscribe<{ runEventBatches: Batch }>(server.wsClient(), BATCHES, variables);
  const batches: Batch[] = [];
  while (batches.reduce((n, b) => n + b.events.length, 0) < total) {
    await sub.next(batches.length + 1, 20_000);
    const result = sub.results[batches.length]!;
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    batches.push(result.data!.runEventBatches);
  }
  return { sub, batches };
}

describe('runEventBatches over graphql-ws', () => {
  it('replays in batches, continues live while another client writes, and resumes from a batch cursor: no gap, no duplicate', async () => {
    const runId = await createRun(server);
    const after = await firstCursor(runId);
    await writeNotes(runId, 120);
    const writer = writeNotes(runId, 80);
    // The stored 120 arrive in pages of at most 50; the connection is dropped after the first 60 or so events.
    const first = await receive({ runId, after, size: 50 }, 60);
    first.sub.stop();
    expect(first.batches[0]!.events).toHaveLength(50);
    const resumed = await receive({ runId, after: first.batches.at(-1)!.cursor, size: 50 }, 200 - first.batches.flatMap((b) => b.events).length);
    resumed.sub.stop();
    await writer;
    const batches = [...first.batches, ...resumed.batches];
    expectWellFormed(batches, 50);
    const received = batches.flatMap((b) => b.events);
    expect(received.map((e) => e.id)).toEqual(await storedLog(runId, after));
    const positions = received.map((e) => position(e.cursor));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it("completes after the run's final event, which its last batch carries", async () => {
    const runId = await createRun(server);
    const { sub, batches } = await receive({ runId, after: await firstCursor(runId) }, 0);
    await server.ok(`mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id } } }`, { id: runId });
    await sub.done;
    batches.push(...sub.results.map((r) => r.data!.runEventBatches));
    expectWellFormed(batches, 100);
    expect(batches.flatMap((b) => b.events.map((e) => e.kind)).at(-1)).toBe('RUN_STATE_CHANGED');
  });

  it('refuses a size outside 1 to 500 with BAD_USER_INPUT', async () => {
    const runId = await createRun(server);
    for (const size of [0, 501]) {
      const sub = subscribe(server.wsClient(), BATCHES, { runId, size });
      await sub.next(1);
      expect(sub.results[0]!.errors?.map((e) => [e.extensions?.code, e.extensions?.max])).toEqual([['BAD_USER_INPUT', 500]]);
    }
  });
});

describe('runEventBatches over Server-Sent Events', () => {
  it('replays the stored events after a cursor in batches', async () => {
    const runId = await createRun(server);
    const after = await firstCursor(runId);
    await writeNotes(runId, 12);
    const controller = new AbortController();
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_SECRET}` },
      body: JSON.stringify({ query: BATCHES, variables: { runId, after, size: 5 } }),
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const batches: Batch[] = [];
    const reader = res.body!.getReader();
    let buffer = '';
    while (batches.reduce((n, b) => n + b.events.length, 0) < 12) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${buffer}`);
      buffer += new TextDecoder().decode(value);
      const end = buffer.lastIndexOf('\n\n');
      for (const match of buffer.slice(0, end + 2).matchAll(/^data: (.+)$/gm)) {
        const payload = JSON.parse(match[1]!);
        if (payload.data) batches.push(payload.data.runEventBatches);
      }
      buffer = buffer.slice(end + 2);
    }
    controller.abort();
    expect(batches.map((b) => b.events.length)).toEqual([5, 5, 2]);
    expectWellFormed(batches, 5);
    expect(batches.flatMap((b) => b.events.map((e) => e.id))).toEqual(await storedLog(runId, after));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

interface EventRow {
  id: string;
  kind: string;
  cursor: string;
  run: { id: string };
}

const EVENT_SUBSCRIPTION = `subscription($runId: ID, $after: String) { runEvents(runId: $runId, after: $after) { id kind cursor run { id } } }`;

/** The stored log after a cursor, read page by page through the API. */
async function storedLog(runId: string, after: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = after;
  for (;;) {
    const res: { data?: any } = await server.gql(
      `query($runId: ID!, $after: String) { runEvents(runId: $runId, after: $after, first: 100) { edges { node { id } cursor } pageInfo { hasNextPage endCursor } } }`,
      { runId, after: cursor },
    );
    const page: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } = res.data.runEvents;
    ids.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    cursor = page.pageInfo.endCursor;
  }
}

/** Another client writing notes to runs over HTTP, a few at a time. */
async function writeNotes(runIds: string[], count: number): Promise<void> {
  for (let i = 0; i < count; i += 4) {
    await Promise.all(
      [0, 1, 2, 3].map((j) =>
        server.gql(`mutation($runId: ID!, $m: String!) { addRunNote(input: {runId: $runId, message: $m}) { event { id } } }`, {
          runId: runIds[(i + j) % runIds.length],
          m: `note ${i + j}`,
        }),
      ),
    );
  }
}

async function firstCursor(runId: string): Promise<string> {
  const res = await server.gql(`query($runId: ID!) { runEvents(runId: $runId, first: 1) { edges { cursor } } }`, { runId });
  return res.data.runEvents.edges[0].cursor;
}

/**
 * Subscribes with `after`, drops the connection after `dropAfter` events,
 * resubscribes from the last cursor it saw, and returns everything received
 * once `total` events have arrived.
 */
async function receiveWithReconnect(variables: Record<string, unknown>, dropAfter: number, total: number): Promise<EventRow[]> {
  const first = subscribe<{ runEvents: EventRow }>(server.wsClient(), EVENT_SUBSCRIPTION, variables);
  await first.next(dropAfter);
  first.stop();
  const received = first.results.map((r) => r.data!.runEvents);
  const second = subscribe<{ runEvents: EventRow }>(server.wsClient(), EVENT_SUBSCRIPTION, {
    ...variables,
    after: received.at(-1)!.cursor,
  });
  await second.next(total - received.length, 20_000);
  second.stop();
  return [...received, ...second.results.map((r) => r.data!.runEvents)];
}

describe('resumable run event subscription (graphql-ws)', () => {
  it('replays after a cursor and continues live while another client writes: no gap, no duplicate', async () => {
    const runId = await createRun(server);
    const after = await firstCursor(runId);
    await writeNotes([runId], 40);
    const writer = writeNotes([runId], 120);
    // 40 stored before it subscribes, 120 written while it replays, disconnects and resumes.
    const received = await receiveWithReconnect({ runId, after }, 25, 160);
    await writer;
    const stored = await storedLog(runId, after);
    expect(stored).toHaveLength(160);
    expect(received.map((e) => e.id)).toEqual(stored);
  });

  it('resumes the all-runs stream across runs in log order', async () => {
    const runs = [await createRun(server), await createRun(server)];
    const after = await firstCursor(runs[1]!);
    const writer = writeNotes(runs, 60);
    const received = await receiveWithReconnect({ after }, 10, 60);
    await writer;
    expect(new Set(received.map((e) => e.run.id))).toEqual(new Set(runs));
    const perRun = await Promise.all(runs.map((id) => storedLog(id, after)));
    expect(received.map((e) => e.id).sort()).toEqual(perRun.flat().sort());
    // Log order: cursors strictly increase.
    const positions = received.map((e) => Number(Buffer.from(e.cursor, 'base64url').toString().split(':')[1]));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
  });

  it('refuses an unknown run and a malformed cursor with codes', async () => {
    const missing = Buffer.from('Run:01ARZ3NDEKTSV4RRFFQ69G5FAV').toString('base64url');
    const errors = await Promise.all(
      [{ runId: missing }, { after: 'not-a-cursor' }].map(
        (variables) =>
          new Promise<readonly { extensions?: Record<string, unknown> }[]>((resolve) => {
            // A subscription refused at its start arrives as one result with errors, then completes.
            server.wsClient().subscribe({ query: EVENT_SUBSCRIPTION, variables }, { next: (r) => resolve(r.errors ?? []), error: resolve as never, complete: () => {} });
          }),
      ),
    );
    expect(errors.map((e) => e[0]?.extensions?.code)).toEqual(['NOT_FOUND', 'BAD_USER_INPUT']);
  });

  it('streams runStateChanged for a project', async () => {
    const open = server.engine.openStreams();
    const sub = subscribe(server.wsClient(), `subscription { runStateChanged(projectId: "state-proj") { id state } }`);
    // It has no replay: wait until it is attached before writing.
    while (server.engine.openStreams() === open) await new Promise((r) => setTimeout(r, 5));
    const runId = await createRun(server, { projectId: 'state-proj' });
    await createRun(server, { projectId: 'other-proj' });
    await server.gql(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
    await sub.next(2);
    sub.stop();
    expect(sub.results.map((r) => r.data)).toEqual([{ runStateChanged: { id: runId, state: 'PENDING' } }, { runStateChanged: { id: runId, state: 'RUNNING' } }]);
  });
});

describe('run event subscription over Server-Sent Events', () => {
  it('replays and continues live over SSE', async () => {
    const runId = await createRun(server);
    const after = await firstCursor(runId);
    const controller = new AbortController();
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_SECRET}` },
      body: JSON.stringify({ query: EVENT_SUBSCRIPTION, variables: { runId, after } }),
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    await server.gql(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
    const kinds: string[] = [];
    const reader = res.body!.getReader();
    let buffer = '';
    while (kinds.length < 1) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${buffer}`);
      buffer += new TextDecoder().decode(value);
      for (const match of buffer.matchAll(/^data: (.+)$/gm)) {
        const payload = JSON.parse(match[1]!);
        if (payload.data) kinds.push(payload.data.runEvents.kind);
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
    }
    controller.abort();
    expect(kinds).toEqual(['RUN_STARTED']);
  });
});

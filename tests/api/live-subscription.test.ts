import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe('live subscription without a cursor', () => {
  it('delivers what happens after it starts, with nested fields read fresh', async () => {
    const runId = await createRun(server);
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($runId: ID) { runEvents(runId: $runId) { kind cursor run { state } } }`, { runId });
    while (server.engine.openStreams() === 0) await new Promise((r) => setTimeout(r, 5));
    await server.gql(`mutation($id: ID!) { startRun(input: {id: $id}) { run { state } } }`, { id: runId });
    // Nested fields show the run as it is when the event is delivered: let the first one go out first.
    await sub.next(1);
    await server.gql(`mutation($id: ID!) { completeRun(input: {id: $id, state: SUCCEEDED}) { run { state } } }`, { id: runId });
    await sub.next(2);
    // One context serves the whole subscription; each event must still see the run as it is now.
    expect(sub.results.map((r) => r.data.runEvents)).toMatchObject([
      { kind: 'RUN_STARTED', run: { state: 'RUNNING' } },
      { kind: 'RUN_STATE_CHANGED', run: { state: 'SUCCEEDED' } },
    ]);
    sub.stop();
  });
});

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
    await sub.next(1);
    expect(sub.results[0].data.runEvents).toMatchObject({ kind: 'RUN_STARTED', run: { state: 'RUNNING' } });
    sub.stop();
  });
});

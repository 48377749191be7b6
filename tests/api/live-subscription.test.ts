import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';

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

const EVENTS = `subscription($runId: ID, $projectId: ID, $after: String, $kinds: [RunEventKind!], $follow: Boolean) {
  runEvents(runId: $runId, projectId: $projectId, after: $after, kinds: $kinds, follow: $follow) { kind cursor run { id } }
}`;

/** Waits until the feed has one more stream open than `before` (a live stream must be attached before the writes it expects). */
async function attached(before: number): Promise<void> {
  while (server.engine.openStreams() <= before) await new Promise((r) => setTimeout(r, 5));
}

const start = (id: string) => server.ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });
const end = (id: string, state = 'FAILED') => server.ok(`mutation($id: ID!, $s: RunCompletionState!) { completeRun(input: {id: $id, state: $s}) { run { id } } }`, { id, s: state });
const cancel = (id: string) => server.ok(`mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id } } }`, { id });
const note = (runId: string, m = 'n') => server.ok(`mutation($runId: ID!, $m: String!) { addRunNote(input: {runId: $runId, message: $m}) { event { cursor } } }`, { runId, m });
const kindsOf = (sub: { results: { data?: any }[] }) => sub.results.map((r) => r.data.runEvents.kind);

describe('runEvents(runId:) ends with its run', () => {
  it("completes after the run's final event, with the events its ending wrote (graphql-ws)", async () => {
    const runId = await createRun(server);
    const task = await server.ok(`mutation($r: ID!) { createTask(input: {kind: "c2-end", runId: $r}) { task { id } } }`, { r: runId });
    const before = server.engine.openStreams();
    const sub = subscribe(server.wsClient(), EVENTS, { runId });
    await attached(before);
    await start(runId);
    await cancel(runId);
    await sub.done;
    // The pending task is skipped in the same write that ended the run.
    expect(kindsOf(sub)).toEqual(['RUN_STARTED', 'RUN_STATE_CHANGED', 'TASK_SKIPPED']);
    expect(task.createTask.task.id).toBeTruthy();
  });

  it('completes even when its kinds leave the ending out', async () => {
    const runId = await createRun(server);
    const before = server.engine.openStreams();
    const sub = subscribe(server.wsClient(), EVENTS, { runId, kinds: ['RUN_STARTED'] });
    await attached(before);
    await start(runId);
    await end(runId);
    await sub.done;
    expect(kindsOf(sub)).toEqual(['RUN_STARTED']);
  });

  it('follow: true keeps it open after the end; without runId it never ends', async () => {
    const runId = await createRun(server);
    const before = server.engine.openStreams();
    const client = server.wsClient();
    const following = subscribe(client, EVENTS, { runId, follow: true });
    const all = subscribe(client, EVENTS, {});
    await attached(before + 1);
    await start(runId);
    await end(runId);
    await note(runId, 'after the end');
    await following.next(3);
    await all.next(3);
    let completed = false;
    void following.done.then(() => (completed = true));
    void all.done.then(() => (completed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(completed).toBe(false);
    expect(kindsOf(following)).toEqual(['RUN_STARTED', 'RUN_STATE_CHANGED', 'NOTE']);
    following.stop();
    all.stop();
  });

  it('on an ended run: resuming with after replays the rest and completes; without after it completes at once', async () => {
    const runId = await createRun(server);
    const cursor = (await note(runId, 'first')).addRunNote.event.cursor;
    await start(runId);
    await end(runId, 'SUCCEEDED');
    const resumed = subscribe(server.wsClient(), EVENTS, { runId, after: cursor });
    await resumed.done;
    expect(kindsOf(resumed)).toEqual(['RUN_STARTED', 'RUN_STATE_CHANGED']);
    const live = subscribe(server.wsClient(), EVENTS, { runId });
    await live.done;
    expect(live.results).toEqual([]);
  });

  it('identical subscribers sharing one stream all complete', async () => {
    const runId = await createRun(server);
    const before = server.engine.openStreams();
    const subs = [server.wsClient(), server.wsClient()].map((client) => subscribe(client, EVENTS, { runId }));
    await attached(before);
    await start(runId);
    await end(runId);
    await Promise.all(subs.map((s) => s.done));
    for (const sub of subs) expect(kindsOf(sub)).toEqual(['RUN_STARTED', 'RUN_STATE_CHANGED']);
  });

  it('completes over Server-Sent Events', async () => {
    const runId = await createRun(server);
    const cursor = (await note(runId)).addRunNote.event.cursor;
    await start(runId);
    await end(runId);
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_SECRET}` },
      body: JSON.stringify({ query: EVENTS, variables: { runId, after: cursor } }),
    });
    // The body ends: the stream completed.
    const text = await res.text();
    const kinds = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!).data?.runEvents.kind).filter(Boolean);
    expect(kinds).toEqual(['RUN_STARTED', 'RUN_STATE_CHANGED']);
    expect(text).toContain('event: complete');
  });
});

describe('runEvents(projectId:)', () => {
  it("delivers only that project's runs' events, live and replayed", async () => {
    const mine = await createRun(server, { projectId: 'c2-mine' });
    const other = await createRun(server, { projectId: 'c2-other' });
    const cursor = (await note(mine, 'stored')).addRunNote.event.cursor;
    await note(other, 'stored elsewhere');
    const before = server.engine.openStreams();
    const live = subscribe(server.wsClient(), EVENTS, { projectId: 'c2-mine' });
    const replay = subscribe(server.wsClient(), EVENTS, { projectId: 'c2-mine', after: cursor });
    await attached(before + 1);
    await note(other, 'live elsewhere');
    await note(mine, 'live');
    await live.next(1);
    await replay.next(1);
    expect(live.results.map((r) => r.data.runEvents.run.id)).toEqual([mine]);
    // Replayed: nothing of mine after the cursor but the live note; the other project's notes never.
    expect(replay.results.map((r) => r.data.runEvents.run.id)).toEqual([mine]);
    live.stop();
    replay.stop();
  });

  it('with a runId of another project it completes without events', async () => {
    const runId = await createRun(server, { projectId: 'c2-a' });
    const sub = subscribe(server.wsClient(), EVENTS, { runId, projectId: 'c2-b', follow: true });
    await sub.done;
    expect(sub.results).toEqual([]);
  });
});

describe('runProgress', () => {
  it('never sends the same snapshot twice in a row', async () => {
    const runId = await createRun(server);
    const before = server.engine.openStreams();
    const sub = subscribe(server.wsClient(), `subscription($id: ID!) { runProgress(runId: $id) { total pending running skipped completionPercent } }`, { id: runId });
    await attached(before);
    await server.ok(`mutation($r: ID!) { createTask(input: {kind: "c2-progress", runId: $r}) { task { id } } }`, { r: runId });
    // Starting the run moves no figure: nothing is sent for it.
    await start(runId);
    await cancel(runId);
    await sub.next(2);
    await new Promise((r) => setTimeout(r, 100));
    sub.stop();
    expect(sub.results.map((r) => r.data.runProgress)).toEqual([
      { total: 1, pending: 1, running: 0, skipped: 0, completionPercent: 0 },
      { total: 1, pending: 0, running: 0, skipped: 1, completionPercent: 0 },
    ]);
  });
});

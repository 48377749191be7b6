import type { ExecutionResult } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/engine/core/clock.js';
import { SharedSubscriptions, sharedSubscriptionStats, SLOW_CONSUMER_BYTES } from '../../src/server/shared-subscriptions.js';
import { ADMIN_SECRET, createRun, startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

/**
 * Identical graphql-ws subscriptions share one source stream and one
 * execution per event (src/server/shared-subscriptions.ts); everything a
 * subscriber sees must stay as if it had its own: every event exactly once,
 * in order, under its own id; its own token checks, complete and errors.
 */

const NOTES = `subscription($runId: ID) { runEvents(runId: $runId) { kind payload } }`;
const ADD_NOTE = `mutation($runId: ID!, $message: String!) { addRunNote(input: { runId: $runId, message: $message }) { event { cursor } } }`;
const CREATE_TOKEN = `mutation($name: String!, $expiresAt: DateTime) {
  createApiToken(input: { name: $name, scopes: [READ], expiresAt: $expiresAt }) { token apiToken { id } }
}`;

/** A graphql-transport-ws socket driven by hand, so that the test picks the operation ids. */
interface Raw {
  socket: WebSocket;
  /** `next` payloads by operation id, in arrival order. */
  nexts: Map<string, any[]>;
  /** Every other message after connection_ack. */
  others: any[];
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  complete(id: string): void;
  closed: Promise<number>;
}

let server: TestServer;

async function raw(token: string = ADMIN_SECRET, target: TestServer = server): Promise<Raw> {
  const socket = new WebSocket(target.wsUrl, 'graphql-transport-ws');
  const nexts = new Map<string, any[]>();
  const others: any[] = [];
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('error', reject);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') resolve();
      else if (message.type === 'next') nexts.set(message.id, [...(nexts.get(message.id) ?? []), message.payload]);
      else others.push(message);
    });
  });
  return {
    socket,
    nexts,
    others,
    subscribe: (id, query, variables) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } })),
    complete: (id) => socket.send(JSON.stringify({ id, type: 'complete' })),
    closed,
  };
}

const messages = (client: Raw, id: string) => (client.nexts.get(id) ?? []).map((p) => p.data?.runEvents?.payload?.message ?? p);

async function note(runId: string, message: string, target: TestServer = server): Promise<string> {
  return (await target.ok(ADD_NOTE, { runId, message })).addRunNote.event.cursor;
}

async function token(name: string, expiresAt?: string, target: TestServer = server): Promise<{ secret: string; id: string }> {
  const data = await target.ok(CREATE_TOKEN, { name, expiresAt });
  return { secret: data.createApiToken.token, id: data.createApiToken.apiToken.id };
}

/** Waits until `count` more subscribers have joined a shared group than `from`. */
const joined = (from: number, count: number) => until(() => sharedSubscriptionStats.subscribers - from === count, `${count} shared subscribers`);

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe('shared subscriptions', () => {
  it('k identical subscribers share one stream and one execution per event; each gets every event once, in order, under its own id', async () => {
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const subscribers = sharedSubscriptionStats.subscribers;
    const [one, two] = [await raw(), await raw()];
    // Two operations on one socket, and the same id ("a") on two sockets.
    one.subscribe('a', NOTES, { runId });
    one.subscribe('b', NOTES, { runId });
    two.subscribe('a', NOTES, { runId });
    two.subscribe('x-7', NOTES, { runId });
    await joined(subscribers, 4);
    await until(() => server.engine.openStreams() === streams + 1, 'the one shared stream to open');

    const executions = sharedSubscriptionStats.executions;
    const sent = ['n0', 'n1', 'n2', 'n3', 'n4'];
    for (const message of sent) await note(runId, message);
    const each = [
      [one, 'a'],
      [one, 'b'],
      [two, 'a'],
      [two, 'x-7'],
    ] as const;
    await until(() => each.every(([client, id]) => messages(client, id).length >= sent.length), 'every subscriber to get every event');
    await sleep(50);
    for (const [client, id] of each) expect(messages(client, id), `${id}`).toEqual(sent);
    // One execution per event for the four of them, and one source stream.
    expect(sharedSubscriptionStats.executions - executions).toBe(sent.length);
    expect(server.engine.openStreams()).toBe(streams + 1);
    expect([...one.nexts.keys()].sort()).toEqual(['a', 'b']);
    expect([...two.nexts.keys()].sort()).toEqual(['a', 'x-7']);
    expect([...one.others, ...two.others]).toEqual([]);

    one.socket.close();
    two.socket.close();
    await until(() => server.engine.openStreams() === streams, 'the shared stream to close with its last subscriber');
    expect(sharedSubscriptionStats.subscribers).toBe(subscribers);
  });

  it('a subscriber with other variables gets only its own events', async () => {
    const [runA, runB] = [await createRun(server), await createRun(server)];
    const streams = server.engine.openStreams();
    const subscribers = sharedSubscriptionStats.subscribers;
    const client = await raw();
    client.subscribe('a1', NOTES, { runId: runA });
    client.subscribe('a2', NOTES, { runId: runA });
    client.subscribe('b', NOTES, { runId: runB });
    await joined(subscribers, 3);
    await until(() => server.engine.openStreams() === streams + 2, 'one stream per distinct operation');
    await note(runA, 'a-1');
    await note(runB, 'b-1');
    await note(runA, 'a-2');
    await until(() => messages(client, 'b').length === 1 && messages(client, 'a2').length === 2, 'the events');
    await sleep(50);
    expect(messages(client, 'a1')).toEqual(['a-1', 'a-2']);
    expect(messages(client, 'a2')).toEqual(['a-1', 'a-2']);
    expect(messages(client, 'b')).toEqual(['b-1']);
    client.socket.close();
  });

  it("revoking one subscriber's token closes only its socket (4403); the others sharing the stream keep receiving", async () => {
    const runId = await createRun(server);
    // Same name and scopes: the same sharing key, so one group across the two tokens.
    const [revoked, kept] = [await token('dashboard'), await token('dashboard')];
    const streams = server.engine.openStreams();
    const subscribers = sharedSubscriptionStats.subscribers;
    const [a, b, c] = [await raw(revoked.secret), await raw(kept.secret), await raw(kept.secret)];
    for (const client of [a, b, c]) client.subscribe('1', NOTES, { runId });
    await joined(subscribers, 3);
    await until(() => server.engine.openStreams() === streams + 1, 'the one shared stream to open');

    await note(runId, 'before');
    await until(() => [a, b, c].every((client) => messages(client, '1').length === 1), 'the first event');
    await server.ok(`mutation($id: ID!) { revokeApiToken(input: { id: $id }) { apiToken { id } } }`, { id: revoked.id });
    expect(await a.closed).toBe(4403);
    await note(runId, 'after');
    await until(() => [b, c].every((client) => messages(client, '1').length === 2), 'the second event');
    await sleep(50);
    expect(messages(a, '1')).toEqual(['before']);
    expect(messages(b, '1')).toEqual(['before', 'after']);
    expect(messages(c, '1')).toEqual(['before', 'after']);
    expect(server.engine.openStreams()).toBe(streams + 1);
    b.socket.close();
    c.socket.close();
    await until(() => server.engine.openStreams() === streams, 'the stream to close');
  });

  it('completing one subscriber does not affect the others', async () => {
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const subscribers = sharedSubscriptionStats.subscribers;
    const client = await raw();
    client.subscribe('gone', NOTES, { runId });
    client.subscribe('stays', NOTES, { runId });
    await joined(subscribers, 2);
    await until(() => server.engine.openStreams() === streams + 1, 'the one shared stream to open');
    await note(runId, 'one');
    await until(() => messages(client, 'gone').length === 1 && messages(client, 'stays').length === 1, 'the first event');
    client.complete('gone');
    await until(() => sharedSubscriptionStats.subscribers - subscribers === 1, 'the completed one to leave');
    await note(runId, 'two');
    await until(() => messages(client, 'stays').length === 2, 'the second event');
    await sleep(50);
    expect(messages(client, 'gone')).toEqual(['one']);
    expect(messages(client, 'stays')).toEqual(['one', 'two']);
    // A client-initiated complete is not answered; nothing else came.
    expect(client.others).toEqual([]);
    client.complete('stays');
    await until(() => server.engine.openStreams() === streams, 'the stream to close with its last subscriber');
    client.socket.close();
  });

  it('a refusal at the start reaches every subscriber that shared it', async () => {
    const missing = Buffer.from('Run:01ARZ3NDEKTSV4RRFFQ69G5FAV').toString('base64url');
    const client = await raw();
    client.subscribe('1', NOTES, { runId: missing });
    client.subscribe('2', NOTES, { runId: missing });
    await until(() => client.others.filter((m) => m.type === 'complete').length === 2, 'both to complete');
    for (const id of ['1', '2']) expect(client.nexts.get(id)?.map((p) => p.errors?.[0]?.extensions?.code)).toEqual(['NOT_FOUND']);
    client.socket.close();
  });

  it('a replay (after:) is never shared: each subscriber gets the whole replay', async () => {
    const runId = await createRun(server);
    const cursor = await note(runId, 'r0');
    await note(runId, 'r1');
    await note(runId, 'r2');
    const streams = server.engine.openStreams();
    const subscribers = sharedSubscriptionStats.subscribers;
    const query = `subscription($runId: ID, $after: String) { runEvents(runId: $runId, after: $after) { kind payload } }`;
    const client = await raw();
    client.subscribe('1', query, { runId, after: cursor });
    await until(() => messages(client, '1').length === 2, 'the first replay');
    client.subscribe('2', query, { runId, after: cursor });
    await until(() => messages(client, '2').length === 2, 'the second replay');
    await note(runId, 'r3');
    await until(() => messages(client, '1').length === 3 && messages(client, '2').length === 3, 'the live event');
    expect(messages(client, '1')).toEqual(['r1', 'r2', 'r3']);
    expect(messages(client, '2')).toEqual(['r1', 'r2', 'r3']);
    expect(server.engine.openStreams()).toBe(streams + 2);
    expect(sharedSubscriptionStats.subscribers).toBe(subscribers);
    client.socket.close();
  });
});

describe('shared subscriptions and slow consumers', () => {
  /** A socket as the fan-out sees it; bufferedAmount is what the test says it is. */
  const fakeSocket = () => ({
    readyState: WebSocket.OPEN,
    bufferedAmount: 0,
    sent: [] as string[],
    send(message: string) {
      this.sent.push(message);
    },
    close() {},
  });

  it('a socket with too much unsent is ended with SLOW_CONSUMER; the others keep receiving', async () => {
    // A source the test feeds: the group's one stream of executed results.
    const queue: ExecutionResult[] = [];
    let wake = () => {};
    async function* source(): AsyncGenerator<ExecutionResult> {
      for (;;) {
        const next = queue.shift();
        if (next) yield next;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    const push = async (result: ExecutionResult) => {
      queue.push(result);
      wake();
      await sleep(5);
    };
    const shared = new SharedSubscriptions(() => true);
    const identity = { tokenId: null, tokenName: 'unit', scopes: ['read'] as const, expiresAt: null };
    const stream = source();
    const [fast, slow] = [fakeSocket(), fakeSocket()];
    const join = (socket: ReturnType<typeof fakeSocket>, id: string) => shared.subscribe({ key: 'k', socket: socket as never, id, identity }, () => stream) as Promise<AsyncIterableIterator<never>>;
    const [fastIterator, slowIterator] = [await join(fast, 'f'), await join(slow, 's')];
    // graphql-ws starts iterating; neither ever yields (the messages go to the socket directly).
    const fastEnd = fastIterator.next();
    const slowEnd = slowIterator.next().then(
      () => null,
      (error: unknown) => error,
    );

    await push({ data: { n: 1 } });
    slow.bufferedAmount = SLOW_CONSUMER_BYTES + 1;
    await push({ data: { n: 2 } });
    await push({ data: { n: 3 } });
    expect(fast.sent).toEqual([1, 2, 3].map((n) => `{"id":"f","type":"next","payload":{"data":{"n":${n}}}}`));
    expect(slow.sent).toEqual(['{"id":"s","type":"next","payload":{"data":{"n":1}}}']);
    expect(await slowEnd).toMatchObject({ message: 'subscriber fell too far behind', extensions: { code: 'SLOW_CONSUMER' } });

    await fastIterator.return!();
    expect(await fastEnd).toEqual({ value: undefined, done: true });
  });
});

describe('shared subscriptions and token expiry', () => {
  const clock = new ManualClock();
  let timed: TestServer;
  beforeAll(async () => {
    timed = await startTestServer({ clock });
  });
  afterAll(() => timed.stop());

  it("an expired token closes only its subscriber's socket (4403)", async () => {
    const runId = await createRun(timed);
    const expiring = await token('wall', new Date(clock.now().getTime() + 60_000).toISOString(), timed);
    const lasting = await token('wall', undefined, timed);
    const streams = timed.engine.openStreams();
    const subscribers = sharedSubscriptionStats.subscribers;
    const [a, b] = [await raw(expiring.secret, timed), await raw(lasting.secret, timed)];
    a.subscribe('1', NOTES, { runId });
    b.subscribe('1', NOTES, { runId });
    await joined(subscribers, 2);
    await until(() => timed.engine.openStreams() === streams + 1, 'the one shared stream to open');
    await note(runId, 'before', timed);
    await until(() => messages(a, '1').length === 1 && messages(b, '1').length === 1, 'the first event');
    clock.advance(120_000);
    await note(runId, 'after', timed);
    expect(await a.closed).toBe(4403);
    await until(() => messages(b, '1').length === 2, 'the second event');
    expect(messages(a, '1')).toEqual(['before']);
    expect(messages(b, '1')).toEqual(['before', 'after']);
    b.socket.close();
  });
});

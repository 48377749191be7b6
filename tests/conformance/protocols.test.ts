import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, codes, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/**
 * The wire protocols the gateway speaks, checked against the real server:
 * graphql-ws (GraphQL over WebSocket, subprotocol graphql-transport-ws,
 * https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md) with a raw
 * socket, the official graphql-ws and graphql-sse clients, and Relay
 * connection semantics.
 */

const INIT_TIMEOUT_MS = 300;
const AUTH = { authorization: `Bearer ${ADMIN_SECRET}` };
const ALL_RUNS = `subscription { runStateChanged { id state } }`;
const ONE_RUN = `subscription($id: ID) { runStateChanged(runId: $id) { id state } }`;
const START_RUN = `mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { wsInitTimeoutMs: INIT_TIMEOUT_MS } });
});
afterAll(() => server.stop());

const startRun = (id: string) => server.ok(START_RUN, { id });

/** A graphql-ws socket driven by hand: what it received, and how it ended. */
interface RawSocket {
  socket: WebSocket;
  /** Every message received, JSON-parsed (a frame that is not JSON is kept as text). */
  messages: any[];
  send(message: unknown): void;
  /** Resolves to the first received message that matches (already received ones count). */
  waitFor(match: (message: any) => boolean, what: string, timeoutMs?: number): Promise<any>;
  /** Resolves to the close the server sent. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
}

/** Opens a WebSocket to the gateway offering `protocol` (none when null); resolves once open. */
function openRaw(protocol: string | null = 'graphql-transport-ws'): Promise<RawSocket> {
  const socket = protocol === null ? new WebSocket(server.wsUrl) : new WebSocket(server.wsUrl, protocol);
  const messages: any[] = [];
  const waiters: { match: (message: any) => boolean; resolve: (message: any) => void }[] = [];
  let close: { code: number; reason: string } | null = null;
  const closeListeners: (() => void)[] = [];
  socket.on('message', (data) => {
    const text = String(data);
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = text;
    }
    messages.push(message);
    for (const waiter of waiters.filter((w) => w.match(message))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  socket.on('close', (code, reason) => {
    close = { code, reason: String(reason) };
    for (const listener of closeListeners) listener();
  });
  const raw: RawSocket = {
    socket,
    messages,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    waitFor(match, what, timeoutMs = 5_000) {
      const found = messages.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (message: any) => (clearTimeout(timer), resolve(message)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no ${what}; got ${JSON.stringify(messages)}${close ? `, closed ${close.code} ${close.reason}` : ''}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    closed(timeoutMs = 5_000) {
      if (close) return Promise.resolve(close);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => (socket.terminate(), reject(new Error(`socket not closed; got ${JSON.stringify(messages)}`))), timeoutMs);
        closeListeners.push(() => (clearTimeout(timer), resolve(close!)));
      });
    },
    isOpen: () => socket.readyState === WebSocket.OPEN,
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(raw));
    socket.once('error', reject);
  });
}

/** An open socket past connection_init, acknowledged with the admin token. */
async function ackedRaw(): Promise<RawSocket> {
  const raw = await openRaw();
  raw.send({ type: 'connection_init', payload: AUTH });
  await raw.waitFor((m) => m.type === 'connection_ack', 'connection_ack');
  return raw;
}

/** The messages of one operation id. */
const of = (raw: RawSocket, id: string) => raw.messages.filter((m) => m.id === id);

/**
 * A WebSocket handshake by hand, so that what the server answers is seen
 * as is (a `ws` client would fail the connection itself first): the status,
 * the headers, and the first frame the server sends, read as a close frame.
 */
function rawHandshake(protocol: string): Promise<{ status: number; headers: Record<string, unknown>; close?: { code: number; reason: string } }> {
  const { hostname, port, pathname } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: hostname,
      port,
      path: pathname,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': protocol,
      },
    });
    const timer = setTimeout(() => (req.destroy(), reject(new Error('no answer to the handshake'))), 5_000);
    req.on('error', (error) => (clearTimeout(timer), reject(error)));
    // Refused outright: an ordinary HTTP response.
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve({ status: res.statusCode!, headers: res.headers });
    });
    req.on('upgrade', (res, socket, head) => {
      let buffer = head;
      const onData = (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        if (buffer.length < 2) return;
        const opcode = buffer.readUInt8(0) & 0x0f;
        const length = buffer.readUInt8(1) & 0x7f; // a close frame's payload is at most 125 bytes
        if (buffer.length < 2 + length) return;
        clearTimeout(timer);
        socket.destroy();
        if (opcode !== 0x8) return reject(new Error(`first frame has opcode ${opcode}, not close: ${buffer.toString('hex')}`));
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          close: { code: buffer.readUInt16BE(2), reason: buffer.subarray(4, 2 + length).toString('utf8') },
        });
      };
      socket.on('data', onData);
      onData(Buffer.alloc(0));
    });
    req.end();
  });
}

describe('graphql-ws protocol (graphql-transport-ws) with a raw socket', () => {
  it('closes with 4408 when connection_init does not come within the init timeout', async () => {
    const started = Date.now();
    const raw = await openRaw();
    expect(await raw.closed()).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    // Not refused at once: the server waited for the timeout.
    expect(Date.now() - started).toBeGreaterThanOrEqual(INIT_TIMEOUT_MS - 50);
    expect(raw.messages).toEqual([]);
  });

  it('closes with 4401 on a subscribe before connection_ack', async () => {
    const raw = await openRaw();
    raw.send({ id: '1', type: 'subscribe', payload: { query: '{ viewer { tokenName } }' } });
    expect(await raw.closed()).toEqual({ code: 4401, reason: 'Unauthorized' });
    expect(raw.messages).toEqual([]);
  });

  it('closes with 4429 on a second connection_init', async () => {
    const raw = await ackedRaw();
    raw.send({ type: 'connection_init', payload: AUTH });
    expect(await raw.closed()).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('closes with 4409 on a subscribe reusing the id of an active subscription, and ends that subscription', async () => {
    const streams = server.engine.openStreams();
    const raw = await ackedRaw();
    const subscribeMessage = { id: 'dup', type: 'subscribe', payload: { query: ALL_RUNS } };
    raw.send(subscribeMessage);
    await until(() => server.engine.openStreams() === streams + 1, 'the subscription to be live');
    raw.send(subscribeMessage);
    expect(await raw.closed()).toEqual({ code: 4409, reason: 'Subscriber for dup already exists' });
    // Closing the socket ends what was live on it.
    await until(() => server.engine.openStreams() === streams, 'the stream to end');
  });

  it.each([
    ['an unknown message type', '{"type":"nonsense"}'],
    ['a frame that is not JSON', 'not json'],
    ['a message without a type', '{"id":"1"}'],
    ['a subscribe without a payload', '{"id":"1","type":"subscribe"}'],
    ['a subscribe with an empty id', '{"id":"","type":"subscribe","payload":{"query":"{ viewer { tokenName } }"}}'],
  ])('closes with 4400 on %s', async (_label, frame) => {
    const raw = await ackedRaw();
    raw.send(frame);
    expect(await raw.closed()).toEqual({ code: 4400, reason: 'Invalid message received' });
  });

  describe('subprotocol', () => {
    // graphql-ws's use/ws sets ws's handleProtocols: it picks graphql-transport-ws
    // or nothing, so ws completes the upgrade without a Sec-WebSocket-Protocol
    // header, and the server then closes the socket with 4406.
    it.each(['graphql-ws', 'nonsense'])('offering only %s: 101 without a subprotocol, then a close with 4406', async (protocol) => {
      const answer = await rawHandshake(protocol);
      expect(answer.status).toBe(101);
      expect(answer.headers['sec-websocket-protocol']).toBeUndefined();
      expect(answer.close).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
    });

    it('a ws client offering only the legacy graphql-ws fails the handshake itself (RFC 6455 4.1: no subprotocol chosen)', async () => {
      await expect(openRaw('graphql-ws')).rejects.toThrow('Server sent no subprotocol');
    });

    it('a client offering no subprotocol is closed with 4406', async () => {
      const raw = await openRaw(null);
      expect(raw.socket.protocol).toBe('');
      expect(await raw.closed()).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
    });

    it('graphql-transport-ws among others is chosen', async () => {
      const answer = await rawHandshake('graphql-ws, graphql-transport-ws');
      expect(answer.status).toBe(101);
      expect(answer.headers['sec-websocket-protocol']).toBe('graphql-transport-ws');
      // Nothing is sent until connection_init; the init timeout then closes it.
      expect(answer.close).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    });
  });

  it('answers ping with pong carrying the same payload, before and after connection_init', async () => {
    const raw = await openRaw();
    // PROTOCOL.md: a Ping "can be sent at any time within the established socket".
    raw.send({ type: 'ping', payload: { early: true } });
    expect(await raw.waitFor((m) => m.type === 'pong', 'pong')).toEqual({ type: 'pong', payload: { early: true } });
    raw.send({ type: 'connection_init', payload: AUTH });
    await raw.waitFor((m) => m.type === 'connection_ack', 'connection_ack');
    const payload = { n: 42, text: 'hello', nested: { list: [1, 'two', null] } };
    raw.send({ type: 'ping', payload });
    await raw.waitFor((m) => m.type === 'pong' && m.payload?.n === 42, 'pong with the payload');
    // Without a payload, the pong has none either.
    raw.send({ type: 'ping' });
    await until(() => raw.messages.filter((m) => m.type === 'pong').length === 3, 'the third pong');
    expect(raw.messages.filter((m) => m.type === 'pong')).toEqual([{ type: 'pong', payload: { early: true } }, { type: 'pong', payload }, { type: 'pong' }]);
    expect(raw.isOpen()).toBe(true);
    raw.socket.close();
  });

  it('stops a live subscription on the client complete: nothing more for that id, and its stream closes', async () => {
    const streams = server.engine.openStreams();
    const raw = await ackedRaw();
    raw.send({ id: 'live', type: 'subscribe', payload: { query: ALL_RUNS } });
    await until(() => server.engine.openStreams() === streams + 1, 'the subscription to be live');
    const first = await createRun(server);
    await raw.waitFor((m) => m.id === 'live' && m.type === 'next' && m.payload.data.runStateChanged.id === first, 'the created run');

    raw.send({ id: 'live', type: 'complete' });
    await until(() => server.engine.openStreams() === streams, 'the completed stream to close');
    const seenForLive = of(raw, 'live').length;

    // A second subscription on the same socket shows when events have gone out.
    raw.send({ id: 'control', type: 'subscribe', payload: { query: ALL_RUNS } });
    await until(() => server.engine.openStreams() === streams + 1, 'the control subscription to be live');
    const second = await createRun(server);
    await startRun(second);
    await raw.waitFor(
      (m) => m.id === 'control' && m.type === 'next' && m.payload.data.runStateChanged.id === second && m.payload.data.runStateChanged.state === 'RUNNING',
      'the control subscription to see the run start',
    );
    // PROTOCOL.md: after the client's Complete the server sends nothing more for that id (no next, no complete).
    expect(of(raw, 'live')).toHaveLength(seenForLive);
    expect(of(raw, 'live').map((m) => m.type)).toEqual(['next']);
    expect(raw.isOpen()).toBe(true);
    raw.socket.close();
    await until(() => server.engine.openStreams() === streams, 'the control stream to close');
  });

  it('sends an error message for an operation that fails validation or parsing, and the socket stays usable', async () => {
    const raw = await ackedRaw();
    raw.send({ id: 'unknown-field', type: 'subscribe', payload: { query: '{ viewer { noSuchField } }' } });
    const invalid = await raw.waitFor((m) => m.id === 'unknown-field', 'an answer to the invalid operation');
    expect(invalid.type).toBe('error');
    expect(Array.isArray(invalid.payload)).toBe(true);
    expect(invalid.payload.length).toBeGreaterThan(0);
    expect(invalid.payload.map((e: any) => e.extensions?.code)).toEqual(invalid.payload.map(() => 'GRAPHQL_VALIDATION_FAILED'));
    expect(invalid.payload[0].message).toContain('noSuchField');

    raw.send({ id: 'syntax', type: 'subscribe', payload: { query: '{ viewer { ' } });
    const unparsable = await raw.waitFor((m) => m.id === 'syntax', 'an answer to the unparsable operation');
    expect(unparsable).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] });

    raw.send({ id: 'valid', type: 'subscribe', payload: { query: '{ viewer { tokenName } }' } });
    await raw.waitFor((m) => m.id === 'valid' && m.type === 'complete', 'the valid query to complete');
    expect(of(raw, 'valid')).toEqual([
      { id: 'valid', type: 'next', payload: { data: { viewer: { tokenName: expect.any(String) } } } },
      { id: 'valid', type: 'complete' },
    ]);
    // PROTOCOL.md: Error "terminates the operation and no further messages will be sent" (no complete).
    expect(of(raw, 'unknown-field')).toHaveLength(1);
    expect(of(raw, 'syntax')).toHaveLength(1);
    expect(raw.isOpen()).toBe(true);
    raw.socket.close();
  });

  it('delivers an execution (resolver) error as an ExecutionResult in next, then complete', async () => {
    // PROTOCOL.md: Next carries an ExecutionResult, errors included; Error is
    // for failures before execution (validation). So a resolver's error is a `next`.
    const raw = await ackedRaw();
    raw.send({ id: 'page', type: 'subscribe', payload: { query: '{ runs(first: 101) { totalCount } }' } });
    await raw.waitFor((m) => m.id === 'page' && (m.type === 'complete' || m.type === 'error'), 'the operation to end');
    const messages = of(raw, 'page');
    expect(messages.map((m) => m.type)).toEqual(['next', 'complete']);
    expect(codes(messages[0].payload)).toEqual(['BAD_USER_INPUT']);
    expect(raw.isOpen()).toBe(true);
    raw.socket.close();
  });

  it('closes with 4403 on a connection_init without a token (see access-control for the rest)', async () => {
    const raw = await openRaw();
    raw.send({ type: 'connection_init', payload: {} });
    expect(await raw.closed()).toEqual({ code: 4403, reason: expect.stringMatching(/^no token: send Authorization: Bearer uet_/) });
    expect(raw.messages).toEqual([]);
  });
});

describe('real clients', () => {
  it('the graphql-ws client receives a live subscription', async () => {
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const client = createWsClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: AUTH, retryAttempts: 0 });
    try {
      const sub = subscribe(client, ONE_RUN, { id: runId });
      await until(() => server.engine.openStreams() === streams + 1, 'the subscription to be live');
      await startRun(runId);
      await sub.next(1);
      expect(sub.results).toEqual([{ data: { runStateChanged: { id: runId, state: 'RUNNING' } } }]);
      sub.stop();
      await until(() => server.engine.openStreams() === streams, 'the stream to close');
    } finally {
      await client.dispose();
    }
  });

  it('the graphql-sse client (distinct connections mode) receives a live subscription over SSE', async () => {
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    // Kept so that a failure says exactly what was sent and what came back.
    const exchanges: string[] = [];
    const fetchFn: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const headers = JSON.stringify(Object.fromEntries(new Headers(init?.headers).entries()));
      const answer = res.ok ? '' : ` ${await res.clone().text()}`;
      exchanges.push(`${init?.method ?? 'GET'} ${String(input)} ${headers} ${String(init?.body ?? '')} -> ${res.status} ${res.headers.get('content-type')}${answer}`);
      return res;
    };
    const client = createSseClient({ url: server.url, headers: AUTH, retryAttempts: 0, fetchFn });
    const results: unknown[] = [];
    let failure: unknown = null;
    let completed = false;
    const stop = client.subscribe(
      { query: ONE_RUN, variables: { id: runId } },
      {
        next: (value) => results.push(value),
        error: (error) => (failure = error),
        complete: () => (completed = true),
      },
    );
    const report = () => `${String(failure)}\n${exchanges.join('\n')}`;
    try {
      await until(() => server.engine.openStreams() === streams + 1 || failure !== null || completed, 'the SSE subscription to be live');
      expect(failure, report()).toBeNull();
      expect(completed, report()).toBe(false);
      await startRun(runId);
      await until(() => results.length > 0 || failure !== null, 'an SSE event');
      expect(failure, report()).toBeNull();
      expect(results).toEqual([{ data: { runStateChanged: { id: runId, state: 'RUNNING' } } }]);
      expect(exchanges).toHaveLength(1);
      expect(exchanges[0]).toContain('-> 200 text/event-stream');
    } finally {
      stop();
      client.dispose();
    }
    // The client's abort ends the server's stream.
    await until(() => server.engine.openStreams() === streams, 'the SSE stream to close');
  });
});

describe('Relay connections of the Query type', () => {
  /** Required arguments of connection fields, by field; a new one must be added here. */
  const REQUIRED_ARGS: Record<string, (ids: { runId: string }) => Record<string, string>> = {
    runEvents: ({ runId }) => ({ runId }),
  };
  /** How to add one node to a connection cheaply; each is called twice. executionRequests needs a claimed workstream task, so it is not seeded. */
  const DIFF = ['diff --git a/a.ts b/a.ts', '--- a/a.ts', '+++ b/a.ts', '@@ -1 +1 @@', '-const a = 1;', '+const a = 2;', ''].join('\n');
  const SEEDS: Record<string, (i: number) => Promise<unknown>> = {
    apiTokens: (i) => server.ok(`mutation($name: String!) { createApiToken(input: { name: $name, scopes: [READ] }) { token } }`, { name: `relay-${i}` }),
    costs: () => server.ok(`mutation { recordCost(input: { projectId: "relay", resourceType: API_CALL, amount: "0.01", currency: "USD" }) { cost { id } } }`),
    patchLedger: () => server.ok(`mutation($d: String!) { createPatch(input: { projectId: "relay", targetRepo: "relay.git", diffText: $d }) { patch { id } } }`, { d: DIFF }),
    tasks: () => server.ok(`mutation { createTask(input: { kind: "relay" }) { task { id } } }`),
    testGates: (i) => server.ok(`mutation($name: String!) { createTestGate(input: { name: $name, type: LINT }) { gate { id } } }`, { name: `relay-${i}` }),
    workers: () => server.ok(`mutation { registerWorker(input: { type: EXECUTOR }) { worker { id } } }`),
  };
  /** Connections this test fills with at least two nodes (others are checked with whatever they hold). */
  const SEEDED = ['runEvents', 'runs', ...Object.keys(SEEDS)];
  const SELECTION = `edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount`;

  interface TypeRef {
    kind: string;
    name: string | null;
    ofType: TypeRef | null;
  }
  const named = (type: TypeRef): TypeRef => (type.ofType ? named(type.ofType) : type);

  it('every connection field pages by first/after with consistent cursors and refuses first: 101', async () => {
    const schema = await server.ok<{ __schema: { queryType: { fields: { name: string; type: TypeRef; args: { name: string; type: TypeRef; defaultValue: string | null }[] }[] } } }>(`{
      __schema { queryType { fields {
        name
        type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
        args { name defaultValue type { kind name ofType { kind name ofType { kind name } } } }
      } } }
    }`);
    const connections = schema.__schema.queryType.fields.filter((f) => /Connection$/.test(named(f.type).name ?? ''));
    expect(connections.map((f) => f.name)).toEqual(expect.arrayContaining(SEEDED));

    // Two of each seeded kind: runs (one started, so it has two events) and the SEEDS.
    const runId = await createRun(server, { projectId: 'relay' });
    await createRun(server, { projectId: 'relay' });
    await startRun(runId);
    for (const seed of Object.values(SEEDS)) for (const i of [1, 2]) await seed(i);

    const checkedWithData: string[] = [];
    const checkedWithOne: string[] = [];
    const checkedEmpty: string[] = [];
    for (const field of connections) {
      const name = field.name;
      const unknownRequired = field.args.filter((a) => a.type.kind === 'NON_NULL' && a.defaultValue === null && !(name in REQUIRED_ARGS));
      expect(
        unknownRequired.map((a) => a.name),
        `${name} has required arguments this test does not know how to fill`,
      ).toEqual([]);
      expect(
        field.args.map((a) => a.name),
        `${name} takes first/after`,
      ).toEqual(expect.arrayContaining(['first', 'after']));
      const required = REQUIRED_ARGS[name]?.({ runId }) ?? {};
      const page = async (args: Record<string, unknown>) => {
        const list = Object.entries({ ...required, ...args }).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
        return server.gql(`{ c: ${name}(${list.join(', ')}) { ${SELECTION} } }`);
      };

      const tooBig = await page({ first: 101 });
      expect.soft(codes(tooBig), `${name}(first: 101)`).toContain('BAD_USER_INPUT');

      const one = await page({ first: 1 });
      expect(one.errors, `${name}(first: 1)`).toBeUndefined();
      const c1 = one.data.c;
      expect.soft(c1.totalCount, `${name} totalCount`).toBeTypeOf('number');
      if (c1.totalCount === 0) {
        checkedEmpty.push(name);
        expect.soft(c1.edges, `${name} edges when empty`).toEqual([]);
        expect.soft(c1.pageInfo.hasNextPage, `${name} hasNextPage when empty`).toBe(false);
        continue;
      }
      expect.soft(c1.edges, `${name}(first: 1) edges`).toHaveLength(1);
      expect.soft(c1.pageInfo.startCursor, `${name}(first: 1) startCursor`).toBe(c1.edges[0].cursor);
      expect.soft(c1.pageInfo.endCursor, `${name}(first: 1) endCursor`).toBe(c1.edges[0].cursor);
      expect.soft(c1.pageInfo.hasNextPage, `${name}(first: 1) hasNextPage`).toBe(c1.totalCount > 1);
      // Relay: with first and no after, nothing comes before.
      expect.soft(c1.pageInfo.hasPreviousPage, `${name}(first: 1) hasPreviousPage`).toBe(false);
      if (c1.totalCount < 2) {
        checkedWithOne.push(name);
        continue;
      }
      checkedWithData.push(name);

      const two = await page({ first: 2 });
      expect(two.errors, `${name}(first: 2)`).toBeUndefined();
      const c2 = two.data.c;
      expect
        .soft(
          c2.edges.map((e: any) => e.node.id),
          `${name}(first: 2) begins with the first page`,
        )
        .toHaveLength(2);
      expect.soft(c2.edges[0].node.id, `${name}(first: 2) first node`).toBe(c1.edges[0].node.id);
      expect.soft(c2.pageInfo.startCursor, `${name}(first: 2) startCursor`).toBe(c2.edges[0].cursor);
      expect.soft(c2.pageInfo.endCursor, `${name}(first: 2) endCursor`).toBe(c2.edges[1].cursor);

      const next = await page({ first: 1, after: c1.pageInfo.endCursor });
      expect(next.errors, `${name}(first: 1, after)`).toBeUndefined();
      const cn = next.data.c;
      expect
        .soft(
          cn.edges.map((e: any) => e.node.id),
          `${name}(first: 1, after) is the next node`,
        )
        .toEqual([c2.edges[1].node.id]);
      expect.soft(cn.edges[0]?.cursor, `${name}(first: 1, after) cursor`).toBe(c2.edges[1].cursor);
      expect.soft(cn.pageInfo.startCursor, `${name}(first: 1, after) startCursor`).toBe(cn.edges[0]?.cursor);
      expect.soft(cn.pageInfo.endCursor, `${name}(first: 1, after) endCursor`).toBe(cn.edges[0]?.cursor);
      expect.soft(cn.pageInfo.hasNextPage, `${name}(first: 1, after) hasNextPage`).toBe(c1.totalCount > 2);
      expect.soft(cn.totalCount, `${name} totalCount does not depend on the page`).toBe(c1.totalCount);
    }
    // Every connection was checked; the seeded ones with paging.
    expect(checkedWithData).toEqual(expect.arrayContaining(SEEDED));
    expect([...checkedWithData, ...checkedWithOne, ...checkedEmpty].sort()).toEqual(connections.map((f) => f.name).sort());
  });
});

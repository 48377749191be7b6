import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Limits } from '../../src/config.js';
import { ManualClock } from '../../src/engine/core/clock.js';
import { codes, ADMIN_SECRET, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';

/** Small, explicit limits so "just under" and "just over" are easy to write. */
const LIMITS: Partial<Limits> = { maxDepth: 5, maxAliases: 3, maxTokens: 200, maxDirectives: 2, maxCost: 500 };

/** POSTs any JSON body (for persisted-operation ids and the like). */
async function post(server: TestServer, body: unknown, token: string | null = ADMIN_SECRET): Promise<{ status: number; json: GraphQLResponse }> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as GraphQLResponse };
}

/**
 * Runs one operation (query or mutation) over graphql-ws and resolves to its
 * first result; a refusal sent as an `error` message becomes `{ errors }`.
 */
function wsOnce(client: Client, payload: { query: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> }, timeoutMs = 5000): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => finish(() => (reject(new Error('no result over graphql-ws')), unsubscribe())), timeoutMs);
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    // Not unsubscribed on the result: the server's `complete` follows, and
    // an early unsubscribe would release the client's connection lock twice
    // (graphql-ws then closes a socket that later operations still need).
    const unsubscribe = client.subscribe(payload as never, {
      next: (value) => finish(() => resolve(value as GraphQLResponse)),
      error: (error) =>
        finish(() => {
          if (Array.isArray(error)) return resolve({ errors: error as GraphQLResponse['errors'] });
          const close = error as { code?: number; reason?: string };
          reject(close.code ? new Error(`socket closed instead of an answer: ${close.code} ${close.reason}`) : error);
        }),
      complete: () => finish(() => reject(new Error('completed without a result'))),
    });
  });
}

/** Resolves to the close code of a socket closed by the server. */
function closeCode(client: Client, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket not closed')), timeoutMs);
    client.on('closed', (event) => {
      clearTimeout(timer);
      resolve((event as { code: number }).code);
    });
  });
}

/** A raw graphql-transport-ws socket (no graphql-ws client): every message it gets is parsed and kept. */
interface RawSocket {
  socket: WebSocket;
  messages: any[];
  /** When it opened (ms since the epoch). */
  openedAt: number;
  /** Resolves with the close code and when it closed. */
  closed: Promise<{ code: number; at: number }>;
  send(message: unknown): void;
  /** Sends connection_init with the admin secret and waits for connection_ack. */
  init(): Promise<void>;
  /** Runs one operation and resolves to its single `next` payload (after its `complete`). */
  run(id: string, query: string): Promise<GraphQLResponse>;
}

async function rawSocket(server: TestServer, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws', options);
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; at: number }>((resolve) => socket.on('close', (code) => resolve({ code, at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const raw: RawSocket = {
    socket,
    messages,
    openedAt: Date.now(),
    closed,
    send: (message) => socket.send(typeof message === 'string' ? message : JSON.stringify(message)),
    async init() {
      raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_SECRET}` } });
      await until(() => messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
    },
    async run(id, query) {
      raw.send({ id, type: 'subscribe', payload: { query } });
      await until(() => messages.some((m) => m.id === id && (m.type === 'complete' || m.type === 'error')), `the end of operation ${id}`);
      const mine = messages.filter((m) => m.id === id);
      expect(mine.map((m) => m.type)).toEqual(['next', 'complete']);
      return mine[0].payload;
    },
  };
  return raw;
}

async function createToken(server: TestServer, name: string): Promise<string> {
  const res = await server.gql(`mutation($name: String!) { createApiToken(input: { name: $name, scopes: [READ, OPERATE] }) { token } }`, { name });
  expect(res.errors).toBeUndefined();
  return res.data.createApiToken.token;
}

const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) { run { id } } }`;
const runInput = { input: { projectId: 'limits', phaseId: 'p' } };

// Depth = nested field levels (graphql-armor). Cost (src/server/cost.ts): a field costs
// 1 + its list size x the cost of its selection, a leaf 1. maxTokens counts every token but <EOF>.
const tokensQuery = (fields: number) => `{ viewer { ${Array(fields).fill('tokenName').join(' ')} } }`; // 5 + fields tokens
const CASES = [
  {
    limit: 'maxDepth',
    under: '{ runs { edges { node { counters { errors } } } } }', // depth 5
    over: '{ runs { edges { node { events { pageInfo { hasNextPage } } } } } }', // depth 6
  },
  {
    limit: 'maxAliases',
    under: '{ a: viewer { tokenName } b: viewer { tokenName } c: viewer { tokenName } }',
    over: '{ a: viewer { tokenName } b: viewer { tokenName } c: viewer { tokenName } d: viewer { tokenName } }',
  },
  { limit: 'maxTokens', under: tokensQuery(195), over: tokensQuery(196) },
  {
    limit: 'maxDirectives',
    under: '{ viewer { tokenName @include(if: true) scopes @skip(if: false) } }',
    over: '{ viewer { tokenName @include(if: true) scopes @skip(if: false) __typename @include(if: true) } }',
  },
  {
    limit: 'maxCost',
    under: '{ runs(first: 100) { edges { node { id state } } } apiTokens(first: 98) { totalCount } }', // 1 + 100 x 4 = 401, + 1 + 98 = 500
    over: '{ runs(first: 100) { edges { node { id state } } } apiTokens(first: 99) { totalCount } }', // 401 + 100 = 501
  },
];
const PAGE_CASES = [
  { name: 'runs(first: 100)', query: '{ runs(first: 100) { totalCount } }', code: undefined },
  { name: 'runs(first: 101)', query: '{ runs(first: 101) { totalCount } }', code: 'BAD_USER_INPUT' },
];

describe('query limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ limits: LIMITS });
  });
  afterAll(() => server.stop());

  describe.each([
    { transport: 'HTTP', run: (query: string) => server.gql(query) },
    // A client per operation: one operation's fate must not decide the next one's.
    { transport: 'graphql-ws', run: (query: string) => wsOnce(server.wsClient(), { query }) },
  ])('over $transport', ({ run }) => {
    it.each(CASES)('$limit: just under passes, just over is QUERY_LIMIT_EXCEEDED', async ({ under, over }) => {
      const ok = await run(under);
      expect(ok.errors).toBeUndefined();
      expect(ok.data).toBeDefined();
      const refused = await run(over);
      expect(refused.data ?? undefined).toBeUndefined();
      expect(codes(refused)).toEqual(['QUERY_LIMIT_EXCEEDED']);
    });

    it.each(PAGE_CASES)('page size $name', async ({ query, code }) => {
      const res = await run(query);
      if (code === undefined) {
        expect(res.errors).toBeUndefined();
        expect(res.data.runs.totalCount).toBeTypeOf('number');
      } else {
        expect(codes(res)).toContain(code);
      }
    });
  });
});

describe('request body size', () => {
  const MAX = 2000;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ limits: { maxBodyBytes: MAX } });
  });
  afterAll(() => server.stop());

  /** A valid GraphQL request body of exactly `size` bytes (padded with an unused variable). */
  const bodyOf = (size: number) => {
    const empty = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
    const body = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(size - empty.length) } });
    expect(Buffer.byteLength(body)).toBe(size);
    return body;
  };
  const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${ADMIN_SECRET}` };
  const chunked = (body: string) => {
    const bytes = new TextEncoder().encode(body);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 300) controller.enqueue(bytes.slice(i, i + 300));
        controller.close();
      },
    });
  };

  it.each([
    { name: 'with content-length', send: (body: string) => fetch(server.url, { method: 'POST', headers, body }) },
    {
      name: 'chunked (no content-length)',
      send: (body: string) => fetch(server.url, { method: 'POST', headers, body: chunked(body), duplex: 'half' } as RequestInit),
    },
  ])('$name: exactly the limit passes, one byte more is 413 PAYLOAD_TOO_LARGE', async ({ send }) => {
    const ok = await send(bodyOf(MAX));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ data: { __typename: 'Query' } });
    const refused = await send(bodyOf(MAX + 1));
    expect(refused.status).toBe(413);
    const json = (await refused.json()) as GraphQLResponse;
    expect(codes(json)).toEqual(['PAYLOAD_TOO_LARGE']);
  });
});

describe('mutation rate limit', () => {
  const LIMIT = 5;
  // Windows are whole minutes of the engine's clock: a clock that stands still
  // half-way through one keeps a window from ending in the middle of a test.
  const clock = new ManualClock('2026-01-01T00:00:30.000Z');
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ clock, limits: { mutationsPerMinute: LIMIT } });
  });
  afterAll(() => server.stop());
  const count = () => server.engine.orm.em.fork().count('Run', {});

  it('refuses the 6th mutation of a token within a minute, writing nothing; other tokens and queries go on', async () => {
    const [a, b] = [await createToken(server, 'a'), await createToken(server, 'b')];
    for (let i = 0; i < 5; i++) {
      const res = await server.gql(CREATE_RUN, runInput, { token: a });
      expect(res.errors, `mutation ${i + 1}`).toBeUndefined();
    }
    expect(await count()).toBe(5);

    const refused = await server.gql(CREATE_RUN, runInput, { token: a });
    expect(refused.data?.createRun ?? null).toBeNull();
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors?.[0]?.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.errors?.[0]?.extensions!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await count()).toBe(5);

    const other = await server.gql(CREATE_RUN, runInput, { token: b });
    expect(other.errors).toBeUndefined();
    expect(await count()).toBe(6);

    const query = await server.gql('{ runs(first: 1) { totalCount } }', {}, { token: a });
    expect(query.errors).toBeUndefined();
    expect(query.data.runs.totalCount).toBe(6);
  });

  it('over graphql-ws: the 5 under pass, the 6th is RATE_LIMITED with retryAfterSeconds and writes nothing; the window then resets', async () => {
    const [a, b] = [await createToken(server, 'ws-a'), await createToken(server, 'ws-b')];
    const start = await count();
    const client = server.wsClient({ token: a });
    const mutate = (c: Client) => wsOnce(c, { query: CREATE_RUN, variables: runInput });
    for (let i = 0; i < LIMIT; i++) {
      const res = await mutate(client);
      expect(res.errors, `mutation ${i + 1}`).toBeUndefined();
      expect(res.data.createRun.run.id).toBeTruthy();
    }
    expect(await count()).toBe(start + LIMIT);

    const refused = await mutate(client);
    expect(refused.data?.createRun ?? null).toBeNull();
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    // 30 s into the minute: the window ends in 30 s.
    expect(refused.errors?.[0]?.extensions!.retryAfterSeconds).toBe(30);
    expect(await count()).toBe(start + LIMIT);
    // One budget per token, whatever the transport.
    expect(codes(await server.gql(CREATE_RUN, runInput, { token: a }))).toEqual(['RATE_LIMITED']);
    expect(await count()).toBe(start + LIMIT);

    // Another token's socket is served, and the limited socket still answers queries.
    const other = await mutate(server.wsClient({ token: b }));
    expect(other.errors).toBeUndefined();
    const query = await wsOnce(client, { query: '{ runs(first: 1) { totalCount } }' });
    expect(query.errors).toBeUndefined();
    expect(query.data.runs.totalCount).toBe(start + LIMIT + 1);

    // retryAfterSeconds later, the token has a fresh budget.
    clock.advance(refused.errors?.[0]?.extensions!.retryAfterSeconds * 1000);
    const again = await mutate(client);
    expect(again.errors).toBeUndefined();
    expect(await count()).toBe(start + LIMIT + 2);
    await client.dispose();
  });

  it('a concurrent burst of LIMIT + 5 mutations (HTTP and graphql-ws mixed): exactly LIMIT pass, the rest are RATE_LIMITED; another token is served during and after', async () => {
    const [a, b] = [await createToken(server, 'burst-a'), await createToken(server, 'burst-b')];
    const start = await count();
    const [clientA, clientB] = [server.wsClient({ token: a }), server.wsClient({ token: b })];
    // Open both sockets first, so that the burst does not wait on a handshake.
    for (const c of [clientA, clientB]) expect((await wsOnce(c, { query: '{ viewer { tokenName } }' })).errors).toBeUndefined();

    const burst = Array.from({ length: LIMIT + 5 }, (_, i) => (i % 2 ? wsOnce(clientA, { query: CREATE_RUN, variables: runInput }) : server.gql(CREATE_RUN, runInput, { token: a })));
    // In flight at the same time as the burst: mutations and queries of another token.
    const during = [
      server.gql(CREATE_RUN, runInput, { token: b }),
      wsOnce(clientB, { query: CREATE_RUN, variables: runInput }),
      server.gql('{ viewer { tokenName } }', {}, { token: b }),
      wsOnce(clientB, { query: '{ runs(first: 1) { totalCount } }' }),
    ];
    const [burstResults, duringResults] = await Promise.all([Promise.all(burst), Promise.all(during)]);

    const passed = burstResults.filter((r) => r.errors === undefined);
    const refused = burstResults.filter((r) => r.errors !== undefined);
    expect(passed).toHaveLength(LIMIT);
    for (const r of passed) expect(r.data.createRun.run.id).toBeTruthy();
    expect(refused).toHaveLength(5);
    for (const r of refused) {
      expect(codes(r)).toEqual(['RATE_LIMITED']);
      expect(r.data?.createRun ?? null).toBeNull();
      expect(r.errors?.[0]?.extensions!.retryAfterSeconds).toBeGreaterThan(0);
      expect(r.errors?.[0]?.extensions!.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    for (const r of duringResults) expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
    expect(await count()).toBe(start + LIMIT + 2);

    // After the burst: the other token still passes, over both transports; the limited one is still refused.
    expect((await server.gql(CREATE_RUN, runInput, { token: b })).errors).toBeUndefined();
    expect((await wsOnce(clientB, { query: CREATE_RUN, variables: runInput })).errors).toBeUndefined();
    expect(codes(await server.gql(CREATE_RUN, runInput, { token: a }))).toEqual(['RATE_LIMITED']);
    expect(await count()).toBe(start + LIMIT + 4);
    await Promise.all([clientA.dispose(), clientB.dispose()]);
  });

  it('counts root fields inside inline fragments and fragment spreads: they cannot slip past the budget', async () => {
    const token = await createToken(server, 'fragments');
    const before = await count();
    const spread = `mutation($input: CreateRunInput!) { ...Create }
      fragment Create on Mutation { one: createRun(input: $input) { run { id } } two: createRun(input: $input) { run { id } } }`;
    const inline = `mutation($input: CreateRunInput!) { ... on Mutation { a: createRun(input: $input) { run { id } } b: createRun(input: $input) { run { id } } } }`;
    expect((await server.gql(spread, runInput, { token })).errors).toBeUndefined();
    expect((await server.gql(inline, runInput, { token })).errors).toBeUndefined();
    expect(await count()).toBe(before + 4);
    // Four of five spent: two more in one document are over, so none of them runs.
    expect(codes(await server.gql(inline, runInput, { token }))).toEqual(['RATE_LIMITED']);
    expect(await count()).toBe(before + 4);
  });
});

describe('batching', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it.each([
    {
      name: 'two mutations',
      body: [
        { query: CREATE_RUN, variables: runInput },
        { query: CREATE_RUN, variables: runInput },
      ],
    },
    { name: 'a single mutation in an array', body: [{ query: CREATE_RUN, variables: runInput }] },
  ])('is off: a JSON array of $name is 400 BAD_REQUEST and nothing runs', async ({ body }) => {
    const count = () => server.engine.orm.em.fork().count('Run', {});
    const before = await count();
    const { status, json } = await post(server, body);
    expect(status).toBe(400);
    expect(json.data ?? undefined).toBeUndefined();
    expect(codes(json)).toEqual(['BAD_REQUEST']);
    expect(json.errors?.[0]?.message).toMatch(/batching is not supported/i);
    expect(await count()).toBe(before);
    // Control: the same operation, not batched, runs.
    const single = await post(server, body[0]);
    expect(single.json.errors).toBeUndefined();
    expect(await count()).toBe(before + 1);
  });
});

describe('heartbeat rate limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A clock that stands still: no window ends in the middle of the test.
    server = await startTestServer({ clock: new ManualClock('2026-01-01T00:00:30.000Z'), limits: { mutationsPerMinute: 3, heartbeatsPerMinute: 6 } });
  });
  afterAll(() => server.stop());

  it('has its own budget: heartbeats past the mutation limit pass, the one over its own is refused over HTTP and graphql-ws', async () => {
    const res = await server.gql(`mutation { createApiToken(input: { name: "beats", scopes: [WORKER] }) { token } }`);
    const token = res.data.createApiToken.token as string;
    const registered = await server.gql(`mutation { registerWorker(input: { type: EXECUTOR }) { worker { id } } }`, {}, { token });
    const workerId = registered.data.registerWorker.worker.id;
    const BEAT = `mutation($w: ID!) { heartbeat(input: { workerId: $w }) { worker { lastHeartbeat } } }`;
    for (let i = 0; i < 4; i++) expect((await server.gql(BEAT, { w: workerId }, { token })).errors, `heartbeat ${i + 1}`).toBeUndefined();
    const client = server.wsClient({ token });
    for (let i = 4; i < 6; i++) expect((await wsOnce(client, { query: BEAT, variables: { w: workerId } })).errors, `heartbeat ${i + 1}`).toBeUndefined();
    const overWs = await wsOnce(client, { query: BEAT, variables: { w: workerId } });
    expect(codes(overWs)).toEqual(['RATE_LIMITED']);
    const overHttp = await server.gql(BEAT, { w: workerId }, { token });
    expect(codes(overHttp)).toEqual(['RATE_LIMITED']);
    expect(overHttp.errors?.[0]?.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // The general budget (one used by the registration) is untouched by the heartbeats.
    for (let i = 0; i < 2; i++) {
      const paused = await server.gql(`mutation($w: ID!) { ${i ? 'resumeWorker' : 'pauseWorker'}(input: { id: $w }) { worker { state } } }`, { w: workerId }, { token });
      expect(paused.errors).toBeUndefined();
    }
    await client.dispose();
  });
});

describe('graphql-ws limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ limits: { wsMaxSubscriptions: 2, wsMaxMessageBytes: 1000, wsInitTimeoutMs: 300 } });
  });
  afterAll(() => server.stop());

  it('refuses a third concurrent operation on a connection while the first two keep working', async () => {
    const client = server.wsClient();
    const runId = (await server.gql(CREATE_RUN, runInput)).data.createRun.run.id;
    const SUB = `subscription($runId: ID) { runStateChanged(runId: $runId) { id state } }`;
    const first = subscribe(client, SUB, { runId });
    const second = subscribe(client, SUB, { runId });
    const refusals: unknown[] = [];
    first.done.catch((e) => refusals.push(['first', e]));
    second.done.catch((e) => refusals.push(['second', e]));
    // Let both be registered before the third.
    await new Promise((r) => setTimeout(r, 200));
    expect(refusals, 'the first two operations must be accepted').toEqual([]);
    const third = await wsOnce(client, { query: SUB, variables: { runId } });
    expect(codes(third)).toEqual(['QUERY_LIMIT_EXCEEDED']);

    const started = await server.gql(`mutation($id: ID!) { startRun(input: { id: $id }) { run { state } } }`, { id: runId });
    expect(started.errors).toBeUndefined();
    await Promise.all([first.next(1), second.next(1)]);
    expect(first.results[0]?.data.runStateChanged).toMatchObject({ id: runId });
    expect(second.results[0]?.data.runStateChanged).toMatchObject({ id: runId });
    first.stop();
    // A freed slot can be used again.
    const again = await wsOnce(client, { query: '{ viewer { tokenName } }' });
    expect(again.errors).toBeUndefined();
    second.stop();
  });

  it('closes the socket with 1009 on a message over wsMaxMessageBytes', async () => {
    const client = server.wsClient();
    // An open subscription keeps the (lazy) socket up, and must die with it.
    const open = subscribe(client, `subscription { runStateChanged { id } }`);
    await new Promise((r) => setTimeout(r, 100));
    const closed = closeCode(client);
    const query = `{ viewer { ${'tokenName '.repeat(120)} } }`;
    expect(JSON.stringify({ query }).length).toBeGreaterThan(1000);
    const big = wsOnce(client, { query });
    expect(await closed).toBe(1009);
    await expect(big).rejects.toThrow(/1009/);
    await expect(open.done).rejects.toMatchObject({ code: 1009 });
  });

  it('a message of exactly wsMaxMessageBytes is served; one byte more closes the socket with 1009', async () => {
    /** A subscribe message of exactly `size` bytes (padded with an unused variable). */
    const message = (id: string, size: number) => {
      const build = (pad: string) => JSON.stringify({ id, type: 'subscribe', payload: { query: '{ viewer { tokenName } }', variables: { pad } } });
      const text = build('x'.repeat(size - build('').length));
      expect(Buffer.byteLength(text)).toBe(size);
      return text;
    };
    const raw = await rawSocket(server);
    await raw.init();
    raw.send(message('under', 1000));
    await until(() => raw.messages.some((m) => m.id === 'under' && m.type === 'complete'), 'the 1000-byte operation to complete');
    expect(raw.messages.filter((m) => m.id === 'under')).toEqual([
      { id: 'under', type: 'next', payload: { data: { viewer: { tokenName: 'UET_ADMIN_TOKEN' } } } },
      { id: 'under', type: 'complete' },
    ]);
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);

    raw.send(message('over', 1001));
    expect((await raw.closed).code).toBe(1009);
    expect(raw.messages.filter((m) => m.id === 'over')).toEqual([]);
  });

  it('acknowledges a connection_init sent within wsInitTimeoutMs, and the socket outlives the timeout', async () => {
    const raw = await rawSocket(server);
    await sleep(150); // half of the 300 ms
    await raw.init();
    // Past the timeout: the socket is still open and serves operations.
    await sleep(Math.max(0, raw.openedAt + 450 - Date.now()));
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    const res = await raw.run('1', '{ viewer { tokenName } }');
    expect(res).toEqual({ data: { viewer: { tokenName: 'UET_ADMIN_TOKEN' } } });
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    raw.socket.close();
    expect((await raw.closed).code).toBe(1005);
  });

  it('closes a socket that never sends connection_init with 4408', async () => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const started = Date.now();
    const code = await new Promise<number>((resolve, reject) => {
      socket.on('close', (c) => resolve(c));
      socket.on('error', reject);
      setTimeout(() => reject(new Error('not closed')), 5000);
    });
    expect(code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe('graphql-ws keep-alive', () => {
  const KEEPALIVE = 200;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ limits: { wsKeepAliveMs: KEEPALIVE } });
  });
  afterAll(() => server.stop());

  it('terminates a socket that answered a ping and then stopped answering', async () => {
    const raw = await rawSocket(server, { autoPong: false });
    await raw.init();
    const pings: number[] = [];
    raw.socket.on('ping', (data) => {
      pings.push(Date.now());
      // Alive for the first ping only.
      if (pings.length === 1) raw.socket.pong(data);
    });
    const { code, at } = await Promise.race([
      raw.closed,
      sleep(10 * KEEPALIVE).then(() => {
        throw new Error(`still open ${10 * KEEPALIVE} ms later, after ${pings.length} pings`);
      }),
    ]);
    // The server cut the TCP connection without a close frame (terminate()).
    expect(code).toBe(1006);
    expect(pings.length).toBeGreaterThanOrEqual(2);
    // Not dropped while it answered: only a full interval after the unanswered ping.
    expect(at - pings[1]!).toBeGreaterThanOrEqual(KEEPALIVE - 20);
    // About 3 intervals after opening (ping, answered ping, unanswered ping + wait).
    expect(at - raw.openedAt).toBeLessThan(6 * KEEPALIVE);
  });

  it('keeps a socket that answers pings across several intervals', async () => {
    const raw = await rawSocket(server);
    await raw.init();
    let pings = 0;
    raw.socket.on('ping', () => pings++);
    let closedEarly = false;
    void raw.closed.then(() => (closedEarly = true));
    await until(() => pings >= 5 || closedEarly, 'five pings', 5_000);
    expect(closedEarly).toBe(false);
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    expect(await raw.run('1', '{ viewer { tokenName } }')).toEqual({ data: { viewer: { tokenName: 'UET_ADMIN_TOKEN' } } });
    raw.socket.close();
    expect((await raw.closed).code).toBe(1005);
  });
});

describe('introspection', () => {
  let closed: TestServer;
  let open: TestServer;
  beforeAll(async () => {
    [closed, open] = await Promise.all([startTestServer({ introspection: false }), startTestServer()]);
  });
  afterAll(() => Promise.all([closed.stop(), open.stop()]));

  const INTROSPECT = '{ __schema { types { name } } }';

  it('off: schema queries are INTROSPECTION_DISABLED and no field suggestions leak', async () => {
    const refused = await closed.gql(INTROSPECT);
    expect(refused.data ?? undefined).toBeUndefined();
    expect(codes(refused)).toContain('INTROSPECTION_DISABLED');
    const typo = await closed.gql('{ runz { totalCount } viewer { tokenNam } }');
    expect(typo.errors!.length).toBeGreaterThan(0);
    for (const e of typo.errors!) expect(e.message).not.toMatch(/Did you mean/);
    // Also over graphql-ws.
    const ws = await wsOnce(closed.wsClient(), { query: INTROSPECT });
    expect(codes(ws)).toContain('INTROSPECTION_DISABLED');
  });

  it('on (the default): introspection works and suggestions are given', async () => {
    const res = await open.gql(INTROSPECT);
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.types.map((t: { name: string }) => t.name)).toContain('Run');
    const typo = await open.gql('{ runz { totalCount } }');
    expect(typo.errors?.[0]?.message).toMatch(/Did you mean/);
  });
});

describe('persisted operations', () => {
  const LISTED = '{ runs(first: 1) { totalCount } }';
  let dir: string;
  let server: TestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'uet-persisted-'));
    const file = join(dir, 'operations.json');
    writeFileSync(file, JSON.stringify({ q1: LISTED }));
    server = await startTestServer({ persistedOperationsFile: file });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ALLOWED = [
    { name: 'extensions.persistedQuery.sha256Hash', payload: { extensions: { persistedQuery: { version: 1, sha256Hash: 'q1' } } } },
    { name: 'documentId', payload: { documentId: 'q1' } },
    { name: 'the exact listed text', payload: { query: LISTED } },
  ];
  const REFUSED = [
    { name: 'another query', payload: { query: '{ viewer { tokenName } }' } },
    { name: 'the listed text reformatted', payload: { query: '{ runs(first: 1) { totalCount }}' } },
    { name: 'an unknown id', payload: { extensions: { persistedQuery: { version: 1, sha256Hash: 'nope' } } } },
    { name: 'an unknown documentId with the listed text', payload: { query: LISTED, documentId: 'nope' } },
  ];

  it.each(ALLOWED)('HTTP: $name runs', async ({ payload }) => {
    const { status, json } = await post(server, payload);
    expect(json.errors).toBeUndefined();
    expect(status).toBe(200);
    expect(json.data.runs.totalCount).toBe(0);
  });
  it.each(REFUSED)('HTTP: $name is OPERATION_NOT_ALLOWED', async ({ payload }) => {
    const { json } = await post(server, payload);
    expect(json.data ?? undefined).toBeUndefined();
    expect(codes(json)).toEqual(['OPERATION_NOT_ALLOWED']);
  });
  // graphql-ws requires `query` to be a string; an id goes with an empty one.
  it.each(ALLOWED)('graphql-ws: $name runs', async ({ payload }) => {
    const res = await wsOnce(server.wsClient(), { query: '', ...payload });
    expect(res.errors).toBeUndefined();
    expect(res.data.runs.totalCount).toBe(0);
  });
  it.each(REFUSED)('graphql-ws: $name is OPERATION_NOT_ALLOWED', async ({ payload }) => {
    const res = await wsOnce(server.wsClient(), { query: '', ...payload });
    expect(codes(res)).toEqual(['OPERATION_NOT_ALLOWED']);
  });
});

describe('CSRF prevention and error masking', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it.each([
    { name: 'without x-graphql-yoga-csrf is refused', headers: {} as Record<string, string>, status: 403 },
    { name: 'with x-graphql-yoga-csrf works', headers: { 'x-graphql-yoga-csrf': '1' }, status: 200 },
  ])('GET /graphql?query=… $name', async ({ headers, status }) => {
    const res = await fetch(`${server.url}?query=${encodeURIComponent('{__typename}')}`, {
      headers: { authorization: `Bearer ${ADMIN_SECRET}`, accept: 'application/json', ...headers },
    });
    const text = await res.text();
    expect(res.status, text).toBe(status);
    if (status === 200) expect(JSON.parse(text)).toEqual({ data: { __typename: 'Query' } });
    else expect(text).not.toContain('Query');
  });

  it('an unexpected error is masked: no message, no stack, a request id', async () => {
    const queries = server.engine.queries as unknown as Record<string, unknown>;
    const original = queries.listRuns;
    queries.listRuns = () => {
      throw new Error('secret internal detail');
    };
    try {
      const res = await server.gql('{ runs(first: 1) { totalCount } }');
      expect(res.errors).toHaveLength(1);
      const error = res.errors![0]!;
      expect(error.message).toBe('Unexpected error.');
      expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(error.extensions?.requestId).toBeTruthy();
      const raw = JSON.stringify(res);
      expect(raw).not.toContain('secret internal detail');
      expect(raw).not.toMatch(/stack|\.ts:\d+|at \w+ \(/);
      // The operator's log line has the detail, under the request id the client was given, and no token.
      const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.requestId === error.extensions?.requestId && l.level === 'error');
      expect(line?.error?.message).toBe('secret internal detail');
      expect(server.logs.join('\n')).not.toContain(ADMIN_SECRET);
    } finally {
      queries.listRuns = original;
    }
  });
});

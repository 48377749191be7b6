import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiTokenSchema } from '../../src/engine/auth/entities.js';
import { ManualClock } from '../../src/engine/core/clock.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/builder.js';
import { ADMIN_SECRET, codes, connectionInit, createRun, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/**
 * Issue 18, "Errors that say what to do": UNAUTHENTICATED says which case
 * it is (no header, no Bearer, unknown, expired with when, revoked with
 * when) over HTTP, SSE and as the graphql-ws close reason; FORBIDDEN names
 * the scope a field needs; a bare ULID works where the argument names the
 * type, and gets a hint where it does not.
 */

const START = '2026-01-01T00:00:00.000Z';
const clock = new ManualClock(START);
let server: TestServer;

async function createToken(name: string, scopes: string[], expiresAt?: string): Promise<{ secret: string; id: string }> {
  const data = await server.ok(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }`, { input: { name, scopes, expiresAt } });
  return { secret: data.createApiToken.token, id: data.createApiToken.apiToken.id };
}

/** A request with exactly this Authorization header (none when null). */
function post(authorization: string | null, query: string, accept = 'application/graphql-response+json, application/json'): Promise<Response> {
  return fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...(authorization === null ? {} : { authorization }) },
    body: JSON.stringify({ query }),
  });
}

async function overHttp(authorization: string | null): Promise<NonNullable<GraphQLResponse['errors']>[number]> {
  const res = (await (await post(authorization, `{ runs(first: 1) { totalCount } }`)).json()) as GraphQLResponse;
  expect(res.errors).toHaveLength(1);
  return res.errors![0]!;
}

/** The first payload of an SSE subscription, read until the stream ends. */
async function overSse(authorization: string | null): Promise<GraphQLResponse> {
  const res = await post(authorization, `subscription { runEvents { kind } }`, 'text/event-stream');
  const text = await res.text();
  const payloads = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as GraphQLResponse);
  expect(payloads).toHaveLength(1);
  return payloads[0]!;
}

const TODO = 'create one with `uet-gateway token create` or createApiToken';

beforeAll(async () => {
  server = await startTestServer({ clock });
});
afterAll(() => server.stop());

describe('UNAUTHENTICATED says which case it is, over HTTP, SSE and graphql-ws', () => {
  /** Each case: the header, the reason, and the whole message. Made in the test, as some need tokens. */
  async function cases(): Promise<[string, string | null, string, string][]> {
    const unknown = 'uet_not-a-token-of-this-gateway';
    const expiring = await createToken('expiring', ['READ'], new Date(clock.now().getTime() + 60_000).toISOString());
    const revoked = await createToken('revoked', ['READ']);
    await server.ok(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }`, { id: revoked.id });
    const revokedAt = clock.now().toISOString();
    clock.advance(120_000);
    return [
      ['no header', null, 'MISSING_TOKEN', 'no token: send Authorization: Bearer uet_… (graphql-ws: in connectionParams); create one with `uet-gateway token create`'],
      ['a header without Bearer', `Token ${unknown}`, 'NOT_BEARER', 'the Authorization value must be "Bearer uet_…": the word Bearer, a space, then the token'],
      ['Bearer and nothing else', 'Bearer ', 'NOT_BEARER', 'the Authorization value must be "Bearer uet_…": the word Bearer, a space, then the token'],
      ['an unknown token', `Bearer ${unknown}`, 'UNKNOWN_TOKEN', `unknown token: check that it was copied whole, or ${TODO}`],
      ['an expired token', `Bearer ${expiring.secret}`, 'TOKEN_EXPIRED', `token expired at 2026-01-01T00:01:00.000Z: ${TODO}`],
      ['a revoked token', `Bearer ${revoked.secret}`, 'TOKEN_REVOKED', `token revoked at ${revokedAt}: ${TODO}`],
    ];
  }

  it('each case has its own message and reason, the same on every transport, and none echoes the secret', async () => {
    for (const [label, authorization, reason, message] of await cases()) {
      const http = await overHttp(authorization);
      expect(http, label).toMatchObject({ message, extensions: { code: 'UNAUTHENTICATED', reason } });
      const sse = await overSse(authorization);
      expect(sse.errors, label).toEqual([expect.objectContaining({ message, extensions: expect.objectContaining({ code: 'UNAUTHENTICATED', reason }) })]);
      const ws = await connectionInit(server.wsUrl, authorization === null ? {} : { authorization });
      // The whole message is the close reason: each fits the 123 bytes a close frame leaves.
      expect(ws, label).toEqual({ code: 4403, reason: message, messages: [] });
      expect(Buffer.byteLength(message)).toBeLessThanOrEqual(123);
      const secret = authorization?.split(' ')[1];
      if (secret) expect(JSON.stringify([http, sse]), label).not.toContain(secret);
    }
  });

  it('graphql-ws takes the Authorization key of connectionParams in any case, as HTTP takes the header', async () => {
    // The README's header, {"Authorization": "Bearer uet_..."}, pasted as connectionParams: read, not "no token".
    for (const key of ['Authorization', 'AUTHORIZATION']) {
      expect(await connectionInit(server.wsUrl, { [key]: 'Bearer uet_not-a-token-of-this-gateway' }), key).toMatchObject({
        code: 4403,
        reason: `unknown token: check that it was copied whole, or ${TODO}`,
      });
      expect(await connectionInit(server.wsUrl, { [key]: 'uet_without-bearer' }), key).toMatchObject({ code: 4403, reason: expect.stringMatching(/^the Authorization value must be "Bearer/) });
    }
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { Authorization: `Bearer ${ADMIN_SECRET}` } });
    try {
      const viewer = subscribe(client, `query { viewer { tokenName } }`);
      await viewer.done;
      expect(viewer.results).toEqual([{ data: { viewer: { tokenName: expect.any(String) } } }]);
    } finally {
      await client.dispose();
    }
  });

  it('gives the time as extensions too: expiredAt and revokedAt', async () => {
    const expiring = await createToken('expiring-2', ['READ'], new Date(clock.now().getTime() + 1_000).toISOString());
    clock.advance(2_000);
    const expired = await overHttp(`Bearer ${expiring.secret}`);
    expect(expired.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED', expiredAt: new Date(clock.now().getTime() - 1_000).toISOString() });
    const { secret, id } = await createToken('revoked-2', ['READ']);
    await server.ok(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }`, { id });
    expect((await overHttp(`Bearer ${secret}`)).extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED', revokedAt: clock.now().toISOString() });
  });

  it('the reason survives the cache: a token used before it expires or is revoked', async () => {
    const expiring = await createToken('cached-expiring', ['READ'], new Date(clock.now().getTime() + 10_000).toISOString());
    const revoked = await createToken('cached-revoked', ['READ']);
    // Used once each: their identities are now cached (token-service `known`).
    await server.ok(`{ viewer { tokenName } }`, {}, { token: expiring.secret });
    await server.ok(`{ viewer { tokenName } }`, {}, { token: revoked.secret });
    await server.ok(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }`, { id: revoked.id });
    const revokedAt = clock.now().toISOString();
    clock.advance(11_000);
    expect((await overHttp(`Bearer ${expiring.secret}`)).extensions).toMatchObject({ reason: 'TOKEN_EXPIRED' });
    expect(await overHttp(`Bearer ${revoked.secret}`)).toMatchObject({ message: `token revoked at ${revokedAt}: ${TODO}`, extensions: { revokedAt } });
  });

  it('a token revoked in the database by another process is refused with the time the database holds', async () => {
    const { secret, id } = await createToken('revoked-elsewhere', ['READ']);
    const at = new Date('2025-12-31T23:00:00.000Z');
    await server.engine.orm.em.fork().nativeUpdate(ApiTokenSchema, { id: decodeGlobalId(id, 'id').id }, { revokedAt: at });
    expect((await overHttp(`Bearer ${secret}`)).extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED', revokedAt: at.toISOString() });
  });

  /** Opens a raw socket with a live runEvents subscription; resolves once the stream is open, with how the socket will close. */
  async function subscribedSocket(secret: string): Promise<{ closed: Promise<{ code: number; reason: string }> }> {
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type !== 'connection_ack') return;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription($r: ID) { runEvents(runId: $r) { kind } }`, variables: { r: runId } } }));
    });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    // Wrapped: an async function returning the promise itself would wait for the close.
    return { closed };
  }

  it('an open socket whose token is revoked is closed with 4403 and the reason, with when', async () => {
    const { secret, id } = await createToken('revoked-while-open', ['READ']);
    const { closed } = await subscribedSocket(secret);
    await server.ok(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }`, { id });
    expect(await closed).toEqual({ code: 4403, reason: `token revoked at ${clock.now().toISOString()}: ${TODO}` });
  });

  it('an open socket whose token expires is closed with 4403 and the reason, with when', async () => {
    // The expiry timer runs on real time for what is left by the engine's clock: 300 ms here.
    const expiresAt = new Date(clock.now().getTime() + 300).toISOString();
    const { secret } = await createToken('expiring-while-open', ['READ'], expiresAt);
    const { closed } = await subscribedSocket(secret);
    expect(await closed).toEqual({ code: 4403, reason: `token expired at ${expiresAt}: ${TODO}` });
  });
});

describe('FORBIDDEN names the scope the field needs', () => {
  let tokens: Record<'read' | 'operate' | 'worker', string>;
  beforeAll(async () => {
    tokens = {
      read: (await createToken('reader', ['READ'])).secret,
      operate: (await createToken('operator', ['OPERATE'])).secret,
      worker: (await createToken('worker', ['WORKER'])).secret,
    };
  });

  it.each([
    ['a read token creating a run', 'read', `mutation { createRun(input: {projectId: "p", phaseId: "x"}) { run { id } } }`, 'Mutation.createRun', ['operate'], ['read']],
    ['an operate token reading runs', 'operate', `{ runs(first: 1) { totalCount } }`, 'Query.runs', ['read'], ['operate']],
    ['a read token starting a step (operate or worker)', 'read', `mutation { startStep(input: {runId: "x", toolId: "t"}) { step { id } } }`, 'Mutation.startStep', ['operate', 'worker'], ['read']],
    ['a worker token listing tokens', 'worker', `{ apiTokens(first: 1) { totalCount } }`, 'Query.apiTokens', ['admin'], ['worker']],
  ] as const)('%s', async (_label, caller, query, field, needed, has) => {
    const res = await server.gql(query, {}, { token: tokens[caller] });
    expect(codes(res)).toEqual(['FORBIDDEN']);
    const { message, extensions } = res.errors![0]!;
    const needs = `the ${needed.join(' or ')} scope`;
    expect(message).toBe(
      `token "${({ read: 'reader', operate: 'operator', worker: 'worker' } as const)[caller]}" may not use ${field}: it needs ${needs} and has ${has.join(', ')}; use a token that has it (\`uet-gateway token create --scopes ${needed[0]}\`)`,
    );
    expect(extensions).toMatchObject({ code: 'FORBIDDEN', field, neededScopes: needed, tokenScopes: has });
  });

  it('over graphql-ws too', async () => {
    const client = server.wsClient({ token: tokens.operate });
    const sub = subscribe(client, `subscription { runEvents { kind } }`);
    await sub.next(1);
    expect(sub.results[0]!.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('may not use Subscription.runEvents: it needs the read scope and has operate') })]);
    await client.dispose();
  });

  it('a field beyond one task, refused up front, names the scopes it needs', async () => {
    const { registerWorker } = await server.ok(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`, {}, { token: tokens.worker });
    const res = await server.gql(
      `mutation($w: ID!) { heartbeat(input: {workerId: $w}) { worker { id currentTask { run { events(first: 1) { totalCount } } } } } }`,
      { w: registerWorker.worker.id },
      { token: tokens.worker },
    );
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: 'token "worker" may not use Run.events: it needs the read or operate scope and has worker; leave it out of the selection',
        extensions: expect.objectContaining({ code: 'FORBIDDEN', field: 'Run.events', neededScopes: ['read', 'operate'] }),
      }),
    ]);
  });
});

describe('ids: a bare ULID where the argument names the type, a hint where it does not', () => {
  it('run(id:) and revokeApiToken take the bare ULID inside a global id', async () => {
    const runId = await createRun(server);
    const bare = decodeGlobalId(runId, 'id').id;
    expect(await server.ok(`query($id: ID!) { run(id: $id) { id } }`, { id: bare })).toEqual({ run: { id: runId } });
    const { id } = await createToken('bare-revoke', ['READ']);
    const revoked = await server.ok(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id revokedAt } } }`, { id: decodeGlobalId(id, 'id').id });
    expect(revoked.revokeApiToken.apiToken).toEqual({ id, revokedAt: clock.now().toISOString() });
  });

  it('node(id:) cannot tell the type of a bare ULID and says what to pass instead', async () => {
    const bare = decodeGlobalId(await createRun(server), 'id').id;
    const res = await server.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: bare });
    expect(res.errors).toEqual([
      expect.objectContaining({
        message: `id: "${bare}" is a bare ULID, which does not say its type: pass the id field a query returned (a global id), or use a field for one type, e.g. run(id:)`,
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'id' }),
      }),
    ]);
  });

  it('an id of another type names both types; a malformed one says what to pass, quoting at most 60 characters', async () => {
    const taskOfRun = encodeGlobalId('Task', decodeGlobalId(await createRun(server), 'id').id);
    const wrong = await server.gql(`query($id: ID!) { run(id: $id) { id } }`, { id: taskOfRun });
    expect(wrong.errors?.[0]).toMatchObject({ message: `id: "${taskOfRun}" is not a Run ID (it is a Task ID)`, extensions: { code: 'BAD_USER_INPUT' } });
    const long = 'x'.repeat(5_000);
    const malformed = await server.gql(`query($id: ID!) { run(id: $id) { id } }`, { id: long });
    expect(malformed.errors?.[0]).toMatchObject({
      message: `id: "${'x'.repeat(57)}..." is not a valid Run ID: pass a Run's id field (a global id) or the bare ULID inside it`,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});

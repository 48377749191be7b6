import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import { expectBystanderServed, underAttack } from './bystander.js';
import { createToken, HEARTBEATS, openSocket, openStream, settledWithin, type OpenSocket, type OpenStream } from './live-clients.js';

/**
 * Per-token caps (security review: 10,000 subscriptions on one READ token
 * cost +490 MB): WebSocket connections per token, and live subscriptions
 * per token over graphql-ws and SSE together, on one instance.
 */
const MAX_CONNECTIONS = 5;
const MAX_SUBSCRIPTIONS = 6;

/** The heap still in use after a full collection, in MB (what is retained, not garbage not yet collected). */
function retainedHeapMb(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** The first error of a refused SSE subscription (its stream holds one `next` with errors, then ends). */
async function streamRefusal(stream: OpenStream): Promise<NonNullable<GraphQLResponse['errors']>[number]> {
  await settledWithin(stream.ended, 3000, 'refused stream to end');
  const data = /data: (\{.*"errors".*\})/.exec(stream.text());
  if (!data) throw new Error(`no errors in the stream: ${stream.text()}`);
  return (JSON.parse(data[1]!) as GraphQLResponse).errors![0]!;
}

/** An SSE subscription that the server kept open (not answered with an error and ended). */
async function accepted(stream: OpenStream): Promise<boolean> {
  const ended = await Promise.race([stream.ended.then(() => true), sleep(300).then(() => false)]);
  return !ended;
}

describe('per-token caps on WebSockets and live subscriptions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ limits: { wsMaxConnectionsPerToken: MAX_CONNECTIONS, maxSubscriptionsPerToken: MAX_SUBSCRIPTIONS } });
  });
  afterAll(() => server?.stop());

  it('a token opens WebSockets up to UET_WS_MAX_CONNECTIONS_PER_TOKEN; the next is closed with 4429, another token is not affected', async () => {
    const token = await createToken(server, ['READ']);
    const other = await createToken(server, ['READ']);
    const sockets: OpenSocket[] = [];
    const refusedAttempts = 200;
    const report = await underAttack(server, async () => {
      for (let i = 0; i < MAX_CONNECTIONS; i++) sockets.push(await openSocket(server, token.secret));
      // Then keeps trying, 20 at a time.
      const refusals: ({ code: number; reason: string } | null)[] = [];
      for (let i = 0; i < refusedAttempts; i += 20) {
        const batch = Array.from({ length: 20 }, () =>
          openSocket(server, token.secret).then(
            () => null,
            (error: { code: number; reason: string }) => error,
          ),
        );
        refusals.push(...(await Promise.all(batch)));
      }
      return refusals;
    });
    expectBystanderServed(`${refusedAttempts} WebSockets past the per-token cap of ${MAX_CONNECTIONS}`, report);
    expect(report.result).toHaveLength(refusedAttempts);
    for (const refusal of report.result) {
      expect(refusal).toMatchObject({ code: 4429 });
      expect(refusal!.reason).toBe(`at most ${MAX_CONNECTIONS} WebSockets per token (UET_WS_MAX_CONNECTIONS_PER_TOKEN)`);
    }
    const bystander = await openSocket(server, other.secret);
    // A place is given back when a socket closes.
    await sockets.pop()!.client.dispose();
    let again: OpenSocket | null = null;
    for (const deadline = Date.now() + 3000; !again && Date.now() < deadline; await sleep(50)) {
      again = await openSocket(server, token.secret).catch(() => null);
    }
    expect(again).not.toBeNull();
    for (const socket of [...sockets, again!, bystander]) await socket.client.dispose();
  });

  it('live subscriptions are capped per token over graphql-ws and SSE together (QUERY_LIMIT_EXCEEDED naming the variable)', async () => {
    const token = await createToken(server, ['READ']);
    const [first, second] = [await openSocket(server, token.secret), await openSocket(server, token.secret)];
    const wsErrors = [first, second, first, second].map((socket) => socket.subscribe(HEARTBEATS).errors);
    const streams: OpenStream[] = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS - wsErrors.length; i++) streams.push(await openStream(server, token.secret));
    for (const stream of streams) expect(await accepted(stream)).toBe(true);

    const overWs = await settledWithin(first.subscribe(HEARTBEATS).errors, 3000, 'refusal over graphql-ws');
    expect(overWs?.[0]).toMatchObject({ extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit: 'maxSubscriptionsPerToken', max: MAX_SUBSCRIPTIONS } });
    expect(overWs?.[0]?.message).toContain('UET_MAX_SUBSCRIPTIONS_PER_TOKEN');
    // SSE subscriptions past the cap, 20 at a time: each refused, the stream ended.
    const sseAttempts = 100;
    const report = await underAttack(server, async () => {
      const refusals: Awaited<ReturnType<typeof streamRefusal>>[] = [];
      for (let i = 0; i < sseAttempts; i += 20) {
        refusals.push(...(await Promise.all(Array.from({ length: 20 }, async () => streamRefusal(await openStream(server, token.secret))))));
      }
      return refusals;
    });
    expectBystanderServed(`${sseAttempts} SSE subscriptions past the per-token cap of ${MAX_SUBSCRIPTIONS}`, report);
    expect(report.result).toHaveLength(sseAttempts);
    const overSse = report.result[0]!;
    for (const refusal of report.result) expect(refusal).toEqual(overSse);
    expect(overSse).toMatchObject({ extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit: 'maxSubscriptionsPerToken', max: MAX_SUBSCRIPTIONS } });
    expect(overSse.message).toContain(`at most ${MAX_SUBSCRIPTIONS} live subscriptions`);
    // None of the first ones was refused; queries still run on the sockets.
    const early = await Promise.race([Promise.race(wsErrors), sleep(100).then(() => 'none')]);
    expect(early).toBe('none');
    expect(await first.run('{ runs(first: 1) { totalCount } }')).toMatchObject({ data: { runs: { totalCount: 0 } } });

    // Ending a stream gives its place back.
    streams.pop()!.abort();
    let reopened: OpenStream | null = null;
    for (const deadline = Date.now() + 3000; !reopened && Date.now() < deadline;) {
      const stream = await openStream(server, token.secret);
      if (await accepted(stream)) reopened = stream;
    }
    expect(reopened).not.toBeNull();
    for (const stream of [...streams, reopened!]) stream.abort();
    for (const socket of [first, second]) await socket.client.dispose();
  });
});

/** A bare graphql-transport-ws socket, acknowledged (an attacker needs no client library); counts the cap refusals it receives. */
async function rawSocket(server: TestServer, secret: string): Promise<{ socket: WebSocket; refusals: () => number }> {
  const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
  let refusals = 0;
  let acknowledged = () => {};
  const ready = new Promise<void>((resolve) => (acknowledged = resolve));
  socket.on('message', (data) => {
    const text = String(data);
    if (text.includes('"connection_ack"')) acknowledged();
    else if (text.includes('"type":"error"') && text.includes('QUERY_LIMIT_EXCEEDED')) refusals += 1;
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${secret}` } }));
  await settledWithin(ready, 5000, 'connection_ack');
  return { socket, refusals: () => refusals };
}

describe('a flood of subscriptions on one READ token', () => {
  const CONNECTIONS = 40;
  const CAP = 200;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ limits: { wsMaxConnectionsPerToken: CONNECTIONS, maxSubscriptionsPerToken: CAP } });
  });
  afterAll(() => server?.stop());

  it('opens only up to the cap (the rest are refused), keeps memory bounded and the bystander served', async () => {
    const token = await createToken(server, ['READ']);
    const heapBefore = retainedHeapMb();
    const report = await underAttack(server, async () => {
      const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => rawSocket(server, token.secret)));
      let attempts = 0;
      for (const { socket } of sockets) {
        for (let i = 0; i < 100; i++) socket.send(JSON.stringify({ id: `s${(attempts += 1)}`, type: 'subscribe', payload: { query: HEARTBEATS } }));
        // The attacker shares this process's event loop: it lets go between sockets, as a remote one would not hold ours.
        await new Promise(setImmediate);
      }
      // Every attempt past the cap is answered with an error; the others stay open without one.
      const refused = () => sockets.reduce((sum, socket) => sum + socket.refusals(), 0);
      await until(() => refused() >= attempts - CAP, `${attempts - CAP} refusals`, 20_000);
      await sleep(200);
      return { sockets, attempts, refused: refused() };
    });
    expectBystanderServed(`${report.result.attempts} subscriptions on one READ token over ${CONNECTIONS} sockets`, report);
    expect(report.result.refused).toBe(report.result.attempts - CAP);
    const heapGrowthMb = retainedHeapMb() - heapBefore;
    console.info(`[security] subscription flood: ${report.result.attempts} attempts, ${CAP} open, heap +${heapGrowthMb.toFixed(1)} MB (clients and server in one process)`);
    // Without the cap the same flood retains about 72 MB here (and keeps the bystander waiting over a second).
    expect(heapGrowthMb).toBeLessThan(30);
    for (const { socket } of report.result.sockets) socket.close();
  }, 60_000);
});

import { execFile } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, onPostgres, type TestDatabase } from '../helpers/database.js';
import { decodeGlobalId, encodeGlobalId } from '../../src/schema/builder.js';
import { codes, startTestServer, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';
import { describeWithServices, POSTGRES_URL, postgresProblem } from '../scale-out/cluster.js';
import { expectBystanderServed, underAttack } from './bystander.js';
import { createToken, openSocket, openStream, settledWithin } from './live-clients.js';

/**
 * Security review, finding 7: a token revoked from the CLI stayed usable
 * (HTTP for ~30 s, open sockets and SSE streams for good: 35 s later the
 * socket minted a new admin token), and an expired token's socket lived
 * until its next event. Revocation by any process must bite on every
 * instance within 2 s; expiry at once.
 */
const BIN = new URL('../../bin/uet-gateway.js', import.meta.url).pathname;
const WITHIN_MS = 2000;
const MINT = 'mutation { createApiToken(input: { name: "escalated", scopes: [ADMIN] }) { token } }';

/** `uet-gateway token revoke ID` in a process of its own, on the given database; resolves when it has exited. */
function revokeFromCli(id: string, databaseUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'token', 'revoke', id], { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`token revoke failed: ${stderr}`));
      else if (!stdout.includes(`revoked token "under test" (${encodeGlobalId('ApiToken', id)})`)) reject(new Error(`unexpected output: ${stdout}`));
      else resolve();
    });
  });
}

/** When the CLI revoked the token (its revokedAt, stamped as its transaction began), on performance.now()'s scale. */
async function revokedAt(server: TestServer, id: string): Promise<number> {
  const data = await server.ok('{ apiTokens(first: 100) { edges { node { id revokedAt } } } }');
  const node = data.apiTokens.edges.map((edge: { node: { id: string; revokedAt: string } }) => edge.node).find((n: { id: string }) => decodeGlobalId(n.id, 'id').id === id);
  return new Date(node.revokedAt).getTime() - (Date.now() - performance.now());
}

/** Polls until `server` refuses the secret over HTTP; resolves to that time (rejects after 15 s). */
async function httpRefused(server: TestServer, secret: string): Promise<number> {
  for (const deadline = performance.now() + 15_000; performance.now() < deadline; await sleep(20)) {
    const res = await server.gql('{ runs(first: 1) { totalCount } }', {}, { token: secret });
    if (codes(res).includes('UNAUTHENTICATED')) return performance.now();
  }
  throw new Error('HTTP still accepts the revoked token');
}

/**
 * Opens a socket and an SSE stream with an ADMIN token on `watched`, revokes
 * it from the CLI, and checks that within WITHIN_MS of the CLI's exit
 * `watched` refuses it over HTTP, closed the socket with 4403, and ended the
 * stream; and that the socket can no longer mint tokens.
 */
async function expectRevocationBites(created: TestServer, watched: TestServer, databaseUrl: string, label: string): Promise<string> {
  const token = await createToken(created, ['ADMIN']);
  const socket = await openSocket(watched, token.secret);
  socket.subscribe('subscription { workerHeartbeats { at } }');
  const stream = await openStream(watched, token.secret);
  expect(await socket.run('{ runs(first: 1) { totalCount } }')).toMatchObject({ data: { runs: { totalCount: 0 } } });
  expect(codes(await watched.gql('{ runs(first: 1) { totalCount } }', {}, { token: token.secret }))).toEqual([]);

  // Watched from now: the CLI takes a second or two to start, and may commit before it exits.
  const refusal = settledWithin(Promise.all([httpRefused(watched, token.secret), socket.closed, stream.ended]), WITHIN_MS + 10_000, `${label}: refusal after revocation`);
  await revokeFromCli(token.id, databaseUrl);
  const [refusedAt, closed, endedAt] = await refusal;
  const revoked = await revokedAt(created, token.id);
  console.info(
    `[security] ${label}: after the CLI's revocation, HTTP refused in ${(refusedAt - revoked).toFixed(0)} ms, socket closed ${closed.code} in ${(closed.at - revoked).toFixed(0)} ms, SSE ended in ${(endedAt - revoked).toFixed(0)} ms`,
  );
  expect(closed.code).toBe(4403);
  expect(refusedAt - revoked).toBeLessThan(WITHIN_MS);
  expect(closed.at - revoked).toBeLessThan(WITHIN_MS);
  expect(endedAt - revoked).toBeLessThan(WITHIN_MS);
  // The same client cannot run a mutation any more: it would have to connect again, and is refused.
  const minted = await socket.run(MINT);
  expect(minted).toHaveProperty('refused');
  await expect(openSocket(watched, token.secret)).rejects.toMatchObject({ code: 4403 });
  await socket.client.dispose();
  return token.secret;
}

describe.skipIf(onPostgres)('revocation on SQLite (security finding 7)', () => {
  let server: TestServer;
  afterAll(() => server?.stop());

  it('a token revoked by the CLI in another process is refused over HTTP, its socket closed with 4403 and its SSE stream ended within 2 s', async () => {
    server = await startTestServer();
    const report = await underAttack(server, () => expectRevocationBites(server, server, `sqlite:${server.sqlitePath}`, 'revoke from the CLI (SQLite)'));
    expectBystanderServed('a revoked ADMIN token with an open socket and SSE stream', report);
  });

  it("an expiring token's socket is closed with 4403 and its SSE stream ends at expiry, with no event published", async () => {
    const expiresAt = new Date(Date.now() + 2500);
    const token = await createToken(server, ['READ'], expiresAt);
    const socket = await openSocket(server, token.secret);
    socket.subscribe('subscription { workerHeartbeats { at } }');
    const stream = await openStream(server, token.secret);
    const [closed, endedAt] = await settledWithin(Promise.all([socket.closed, stream.ended]), 6000, 'expiry');
    // performance.now() and the wall clock: the offset between them.
    const expiry = expiresAt.getTime() - (Date.now() - performance.now());
    console.info(`[security] expiry: socket closed ${closed.code} ${(closed.at - expiry).toFixed(0)} ms after expiry, SSE ended ${(endedAt - expiry).toFixed(0)} ms after`);
    expect(closed.code).toBe(4403);
    expect(closed.at - expiry).toBeGreaterThan(-50);
    expect(closed.at - expiry).toBeLessThan(1000);
    expect(endedAt - expiry).toBeGreaterThan(-50);
    expect(endedAt - expiry).toBeLessThan(1000);
    expect(stream.text()).not.toContain('"data"');
    expect(codes(await server.gql('{ runs(first: 1) { totalCount } }', {}, { token: token.secret }))).toEqual(['UNAUTHENTICATED']);
    await socket.client.dispose();
  });
});

describeWithServices('revocation across two instances on PostgreSQL without Redis (security finding 7)', await postgresProblem(POSTGRES_URL), () => {
  let database: TestDatabase;
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await database?.drop();
  });

  it('a token revoked by the CLI is refused by the other instance within 2 s: HTTP, its socket (4403) and its SSE stream', async () => {
    database = await createPostgresDatabase(POSTGRES_URL);
    servers.push(await startTestServer({ database }), await startTestServer({ database }));
    const [a, b] = servers as [TestServer, TestServer]; // the two pushed above
    const secret = await expectRevocationBites(a, b, database.options.postgresUrl!, 'revoke from the CLI (PostgreSQL, other instance, no Redis)');
    // The instance it was created on (and had it cached) refuses it too.
    expect(codes(await a.gql('{ runs(first: 1) { totalCount } }', {}, { token: secret }))).toEqual(['UNAUTHENTICATED']);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { createRefusal, parseExpiry } from '../../src/cli/token.js';
import { ApiTokenSchema } from '../../src/engine/auth/entities.js';
import { badInput } from '../../src/engine/core/errors.js';
import { decodeGlobalId } from '../../src/schema/builder.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// The CLI in its own process, on the SQLite file a real gateway is serving.
let server: TestServer;
let env: Record<string, string>;
beforeAll(async () => {
  server = await startTestServer();
  env = { DATABASE_URL: `sqlite:${server.sqlitePath}` };
});
afterAll(() => server.stop());

const token = (...args: string[]) => runCli(['token', ...args], env);
const createdId = (stderr: string) => /, id (\S+)\n/.exec(stderr)?.[1] ?? '';
const rawUlid = (globalId: string) =>
  Buffer.from(globalId, 'base64url')
    .toString('utf8')
    .replace(/^ApiToken:/, '');

describe('uet-gateway token', { timeout: 90_000 }, () => {
  it('create prints the secret alone on stdout, and the API takes the id it prints', async () => {
    const created = await token('create', '--name', 'ci-deploy', '--scopes', 'read,operate', '--expires-at', '2099-01-01');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^uet_[\w-]{43}\n$/);
    expect(created.stderr).toContain(`database: ${server.sqlitePath}\n`);
    expect(created.stderr).toMatch(/^created token "ci-deploy" \(read, operate\), expires 2099-01-01T00:00:00Z, id \S+$/m);
    const id = createdId(created.stderr);

    // The secret works on the running gateway, and its id is the API's ApiToken.id.
    const viewer = await server.ok(`{ viewer { tokenName scopes } }`, {}, { token: created.stdout.trim() });
    expect(viewer.viewer).toEqual({ tokenName: 'ci-deploy', scopes: ['READ', 'OPERATE'] });
    const listed = await server.ok(`{ apiTokens(first: 100) { edges { node { id name expiresAt } } } }`);
    expect(listed.apiTokens.edges.map((e: { node: unknown }) => e.node)).toContainEqual({ id, name: 'ci-deploy', expiresAt: '2099-01-01T00:00:00.000Z' });
    const revoked = await server.ok(`mutation Revoke($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id name revokedAt } } }`, { id });
    expect(revoked.revokeApiToken.apiToken).toMatchObject({ id, name: 'ci-deploy', revokedAt: expect.any(String) });

    // Revoked through the API, the CLI says so rather than revoking it again.
    const again = await token('revoke', id);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`token "ci-deploy" (${id}) was already revoked at ${revoked.revokeApiToken.apiToken.revokedAt.replace(/\.\d{3}Z$/, 'Z')}\n`);
  });

  it('list is an aligned table with a header, the state and the expiry of each token', async () => {
    const never = createdId((await token('create', '--name', 'never-expires', '--scopes', 'read')).stderr);
    // Written with an offset, to check those too; then its expiry passes, moved into the past in the database (as time
    // would move it: the engine refuses a past expiry), so the test neither sleeps nor depends on how fast the CLI starts.
    const brief = await token('create', '--name', 'brief', '--scopes', 'worker', '--expires-at', '2099-06-01T12:00:00+02:00');
    expect(brief.code, brief.stderr).toBe(0);
    expect(brief.stderr).toMatch(/^created token "brief" \(worker\), expires 2099-06-01T10:00:00Z, id \S+$/m);
    const briefId = createdId(brief.stderr);
    const expired = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
    await server.engine.orm.em.fork().nativeUpdate(ApiTokenSchema, { id: decodeGlobalId(briefId, 'id').id }, { expiresAt: expired });
    const gone = createdId((await token('create', '--name', 'gone', '--scopes', 'admin')).stderr);
    const revoked = await token('revoke', gone);
    expect(revoked.stdout).toBe(`revoked token "gone" (${gone})\n`);

    const list = await token('list');
    expect(list.code, list.stderr).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +NAME +SCOPES +STATE +EXPIRES +LAST USED$/);
    const columns = ['ID', 'NAME', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED'].map((title) => header!.indexOf(title));
    const cells = (row: string) => columns.map((start, i) => row.slice(start, columns[i + 1]).trim());
    const byId = new Map(rows.map((row) => [cells(row)[0], cells(row)]));
    expect(byId.get(never)).toEqual([never, 'never-expires', 'read', 'active', 'never', 'never']);
    expect(byId.get(briefId)).toEqual([briefId, 'brief', 'worker', 'expired', expired.toISOString().replace(/\.\d{3}Z$/, 'Z'), 'never']);
    expect(byId.get(gone)).toEqual([gone, 'gone', 'admin', 'revoked', 'never', 'never']);
    // Newest first.
    expect(rows.map((row) => cells(row)[0]).slice(0, 3)).toEqual([gone, briefId, never]);
  });

  it('revoke takes the raw id too; an unknown one fails in one line', async () => {
    const id = createdId((await token('create', '--name', 'raw', '--scopes', 'read')).stderr);
    const byRaw = await token('revoke', rawUlid(id));
    expect(byRaw.code, byRaw.stderr).toBe(0);
    expect(byRaw.stdout).toBe(`revoked token "raw" (${id})\n`);
    const twice = await token('revoke', id);
    expect(twice.code).toBe(0);
    expect(twice.stderr).toMatch(/was already revoked at \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\n$/);
    const row = (await server.ok(`{ apiTokens(first: 100) { edges { node { id revokedAt } } } }`)).apiTokens.edges.find((e: { node: { id: string } }) => e.node.id === id);
    expect(row.node.revokedAt).not.toBeNull();

    const unknown = await token('revoke', '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\nerror: ApiToken 01ARZ3NDEKTSV4RRFFQ69G5FAV does not exist\n$/);
    // Another type's global id is not a token id.
    const runId = Buffer.from('Run:01ARZ3NDEKTSV4RRFFQ69G5FAV').toString('base64url');
    expect((await token('revoke', runId)).code).toBe(2);
  });

  it('a name the engine refuses is wrong usage, and nothing is created', async () => {
    const before = (await server.ok(`{ apiTokens { totalCount } }`)).apiTokens.totalCount;
    const long = await token('create', '--name', 'x'.repeat(201), '--scopes', 'read');
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/error: --name: must be at most 200 characters\n\nusage: uet-gateway token create/);
    expect((await server.ok(`{ apiTokens { totalCount } }`)).apiTokens.totalCount).toBe(before);
  });
});

describe("the engine's refusals of a token", () => {
  it.each([
    // An expiry that passed between the CLI's check and the write (a slow start on a loaded machine).
    [badInput('expiresAt', 'must be in the future'), '--expires-at: must be in the future'],
    [badInput('name', 'must be at most 200 characters'), '--name: must be at most 200 characters'],
  ])('name the option: %s', (error, message) => {
    const usage = createRefusal(error);
    expect(usage).toBeInstanceOf(UsageError);
    expect(usage.message).toBe(message);
  });
});

describe('--expires-at', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  it.each([
    ['2027-01-01', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['2027-01-01T09:30Z', '2027-01-01T09:30:00.000Z'],
    ['2027-01-01T09:30:15.250+02:00', '2027-01-01T07:30:15.250Z'],
    ['2026-06-01t12:00:01z', '2026-06-01T12:00:01.000Z'],
  ])('accepts %s', (raw, iso) => {
    expect(parseExpiry(raw, now).toISOString()).toBe(iso);
  });

  it.each([
    ['tomorrow', /is not a date: use ISO 8601/],
    ['2027-02-30', /is not a date/],
    ['2027-1-1', /is not a date/],
    ['2027-01-01T25:00Z', /is not a date/],
    ['2027-01-01T10:00', /add Z for UTC, or an offset such as \+02:00/],
    ['1767225600', /is not a date/],
    ['2026-06-01T12:00:00Z', /is in the past \(now is 2026-06-01T12:00:00Z\)/],
    ['2020-01-01', /is in the past/],
  ])('refuses %s', (raw, message) => {
    expect(() => parseExpiry(raw, now)).toThrow(UsageError);
    expect(() => parseExpiry(raw, now)).toThrow(message);
  });
});

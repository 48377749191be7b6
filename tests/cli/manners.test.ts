import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// Every command runs against a database file in an empty folder: --help and
// wrong usage must leave it empty (no database created, nothing migrated).
const dir = mkdtempSync(join(tmpdir(), 'uet-cli-manners-'));
const env = { DATABASE_URL: `sqlite:${join(dir, 'gateway.sqlite')}`, PORT: '0', UET_ADMIN_TOKEN: undefined };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A command that ignored --help or its wrong usage (serve) would keep running: this bound ends it as a failure. */
const run = (args: string[]) => runCli(args, env, 20_000);

const STACK_LINE = /^\s+at /m;

describe('every command answers --help with its usage and nothing else', { timeout: 60_000 }, () => {
  it.concurrent.each([
    [['--help'], /^uet-gateway: .*\n\nusage: uet-gateway <command>/],
    [['-h'], /^uet-gateway: .*\n\nusage: uet-gateway <command>/],
    [['help'], /^uet-gateway: .*\n\nusage: uet-gateway <command>/],
    [['help', 'backup'], /^usage: uet-gateway backup FILE\n/],
    [['serve', '--help'], /^usage: uet-gateway serve\n/],
    [['migrate', '--help'], /^usage: uet-gateway migrate\n/],
    [['token', '--help'], /^usage: uet-gateway token <create\|list\|revoke>/],
    [['token', 'create', '--help'], /^usage: uet-gateway token create --name NAME --scopes/],
    [['token', 'list', '-h'], /^usage: uet-gateway token list\n/],
    [['token', 'revoke', '--help'], /^usage: uet-gateway token revoke ID\n/],
    [['seed', '--help'], /^usage: uet-gateway seed/],
    [['simulate', '--help'], /^usage: uet-gateway simulate/],
    [['schema:check', '--help'], /^usage: uet-gateway schema:check \[--against FILE\] \[--verbose\]\n/],
    [['backup', '--help'], /^usage: uet-gateway backup FILE\n/],
    // --help wins over everything else on the line, even an option the command does not know.
    [['token', 'create', '--name', 'x', '--bogus', '--help'], /^usage: uet-gateway token create/],
  ])('%j', async (args, usage) => {
    const result = await run(args);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(usage);
    expect(result.stderr).toBe('');
  });
});

describe('wrong usage says what was wrong, shows the usage and exits 2', { timeout: 60_000 }, () => {
  it.concurrent.each([
    [[], /^error: missing command\n\nuet-gateway: /],
    [['nonsense'], /^error: unknown command "nonsense"\n/],
    [['tokn'], /^error: unknown command "tokn"; did you mean "token"\?\n/],
    [['help', '--bogus'], /^error: unknown command "--bogus"/],
    [['serve', '--port', '4000'], /^error: Unknown option '--port'\n\nusage: uet-gateway serve\n/],
    [['migrate', 'now'], /^error: Unexpected argument 'now'.*\n\nusage: uet-gateway migrate\n/],
    [['token'], /^error: missing subcommand: create, list or revoke\n\nusage: uet-gateway token/],
    [['token', 'delete', 'x'], /^error: unknown subcommand "delete": use create, list or revoke\n/],
    [['token', 'create', '--scopes', 'read'], /^error: missing --name\n\nusage: uet-gateway token create/],
    [['token', 'create', '--name', 'ci'], /^error: missing --scopes\n/],
    [['token', 'create', '--name', 'ci', '--scopes', 'read,wrtie'], /^error: unknown scope "wrtie" in --scopes: use read, operate, worker, admin\n/],
    [['token', 'create', '--name', 'ci', '--scopes', 'read', '--expires-at', 'tomorrow'], /^error: --expires-at "tomorrow" is not a date: use ISO 8601, e.g. 2027-01-01T00:00:00Z or 2027-01-01\n/],
    [['token', 'create', '--name', 'ci', '--scopes', 'read', '--expires-at', '2001-01-01'], /^error: --expires-at 2001-01-01 is in the past/],
    [['token', 'create', '--name', 'ci', '--scopes', 'read', '--expires-at'], /^error: Option '--expires-at <value>' argument missing\n/],
    [['token', 'list', '--all'], /^error: Unknown option '--all'\n\nusage: uet-gateway token list\n/],
    [['token', 'revoke'], /^error: missing token ID\n\nusage: uet-gateway token revoke ID\n/],
    [['token', 'revoke', 'not-an-id'], /^error: "not-an-id" is not a token ID: use the ID column of `uet-gateway token list`/],
    [['seed', '--demo', '--runs', 'abc'], /^error: .*--runs.*abc/],
    [['simulate', '--workers'], /^error: Option '--workers <value>' argument missing\n/],
    [['schema:check', '--against'], /^error: Option '--against <value>' argument missing\n\nusage: uet-gateway schema:check/],
    [['schema:check', '--verbos'], /^error: Unknown option '--verbos'/],
    [['backup'], /^error: missing FILE to write the copy to\n\nusage: uet-gateway backup FILE\n/],
    [['backup', 'a.sqlite', 'b.sqlite'], /^error: one FILE, got 2\n/],
  ])('%j', async (args, message) => {
    const result = await run(args);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/usage: uet-gateway/);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stdout).toBe('');
  });
});

describe('commands that need an existing database', { timeout: 60_000 }, () => {
  it.concurrent.each([[['token', 'list']], [['token', 'create', '--name', 'ci', '--scopes', 'read']], [['token', 'revoke', '01ARZ3NDEKTSV4RRFFQ69G5FAV']], [['backup', join(dir, 'copy.sqlite')]]])(
    '%j refuses a missing one in one line, creating nothing',
    async (args) => {
      const result = await run(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `error: no database at ${join(dir, 'gateway.sqlite')}: start the gateway once (npm start) or run \`uet-gateway migrate\` to create it, or set DATABASE_URL to the one you mean\n`,
      );
      expect(result.stdout).toBe('');
    },
  );

  it('migrate says in one line that it cannot create a database where DATABASE_URL points', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'uet-cli-blocked-'));
    try {
      // The folder it would create is a file.
      writeFileSync(join(elsewhere, 'data'), '');
      const result = await runCli(['migrate'], { DATABASE_URL: `sqlite:${join(elsewhere, 'data', 'gateway.sqlite')}` });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/\nerror: cannot open the database at .*\/data\/gateway\.sqlite: E[A-Z]+: .*\n$/);
      expect(result.stderr).not.toMatch(STACK_LINE);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('backup refuses PostgreSQL and points to pg_dump, without connecting', async () => {
    const result = await runCli(['backup', join(dir, 'pg.dump')], { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: backup copies a SQLite database; on PostgreSQL use pg_dump --format=custom (docs/operations.md#backups)\n');
  });
});

// Runs after the tables above (vitest runs a file's concurrent tests before moving on to the next describe block's).
describe('after all of the above', () => {
  it('no database (or any other file) was created', () => {
    expect(existsSync(join(dir, 'gateway.sqlite'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

/**
 * `uet-gateway serve` as operators run it (the real bin, a SQLite file, a
 * free port): what it prints in a pipe and on a terminal, where the first
 * start's admin secret goes, the modes of the files it creates, and the one
 * line it prints when PORT or HOST is wrong.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/engine/database.js';
import { createLogger } from '../../src/logger.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/uet-gateway.js');
const dir = mkdtempSync(join(tmpdir(), 'uet-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

/** The environment of a first start: no admin secret from the environment, the format left to the gateway. */
function gatewayEnv(database: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `sqlite:${database}`, LOG_LEVEL: 'info', ...extra };
  delete env.UET_ADMIN_TOKEN;
  if (!('LOG_FORMAT' in extra)) delete env.LOG_FORMAT;
  return env;
}

interface Started {
  pid: number;
  /** Everything it wrote so far: stdout, stderr (the terminal mixes both into stdout). */
  stdout: () => string;
  stderr: () => string;
  /** Resolves when a line of the output matches; rejects if the process exits first. */
  waitFor: (pattern: RegExp) => Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  /** Signals the process it started (a no-op once it has exited). */
  kill: (signal: NodeJS.Signals) => void;
}

/** Starts a command and collects its output. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const watchers: (() => void)[] = [];
  const changed = () => watchers.forEach((watch) => watch());
  child.stdout.on('data', (chunk: Buffer) => ((out += chunk), changed()));
  child.stderr.on('data', (chunk: Buffer) => ((err += chunk), changed()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => (changed(), resolve(code))));
  return {
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal) => void child.kill(signal),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        // Fails with what it printed, before the test's own timeout hides it.
        setTimeout(() => reject(new Error(`no ${pattern} within 90 s:\n${out}\n${err}`)), 90_000).unref();
        const watch = () => {
          const match = new RegExp(pattern.source, `${pattern.flags.replace('m', '')}m`).exec(`${out}\n${err}`);
          if (match) resolve(match);
          else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${out}\n${err}`));
        };
        watchers.push(watch);
        watch();
      }),
  };
}

const serve = (env: NodeJS.ProcessEnv) => start(process.execPath, [BIN, 'serve'], env);

/** `serve` with a pseudo-terminal as its stdout and stderr (util-linux `script`), as a person runs it. */
const serveOnTerminal = (env: NodeJS.ProcessEnv) => start('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} serve`, '/dev/null'], env);

/**
 * Signals the gateway process under `script`, if it is still there. `script` runs its command through $SHELL -c;
 * bash execs a single command but dash (/bin/sh, used when SHELL is unset, as in CI) keeps itself as the parent,
 * so the gateway is found among all of script's descendants by its command line.
 */
function signalUnderTerminal(scriptPid: number, signal: NodeJS.Signals): void {
  const { stdout } = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  const rows = stdout.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), ppid: Number(match[2]), args: match[3]! }] : [];
  });
  const descendants = new Set([scriptPid]);
  // ps lists by pid and a child may have a lower pid than its parent (pids wrap), so repeat until nothing is added.
  for (let size = 0; size !== descendants.size;) {
    size = descendants.size;
    for (const row of rows) if (descendants.has(row.ppid)) descendants.add(row.pid);
  }
  for (const row of rows) if (row.pid !== scriptPid && descendants.has(row.pid) && row.args.includes(BIN) && row.args.startsWith(process.execPath)) process.kill(row.pid, signal);
}

async function answers(url: string, secret: string): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: '{ viewer { scopes tokenName } }' }),
  });
  return res.json();
}

async function tokenCount(database: string): Promise<number> {
  const orm = await openDatabase({ sqlitePath: database });
  try {
    return await orm.em.fork().count('ApiToken', {});
  } finally {
    await orm.close();
  }
}

// Starts through tsx take 5 to 15 s on a busy 2-core machine.
describe('uet-gateway serve', { timeout: 120_000 }, () => {
  it('in a pipe: JSON lines only, the first secret in a 0600 file beside the database (0700 folder, 0600 files), never in the output', async () => {
    const folder = join(dir, 'piped', 'data');
    const database = join(folder, 'gateway.sqlite');
    const gateway = serve(gatewayEnv(database));
    try {
      const [, fileField] = await gateway.waitFor(/"file":"([^"]+)"/);
      const lines = gateway.stderr().trim().split('\n');
      const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const listening = parsed.find((line) => line.url);
      expect(listening).toMatchObject({ level: 'info', database, bus: 'in-process', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/) });
      expect(fileField).toBe(join(folder, 'bootstrap-admin-token'));
      expect(gateway.stdout()).toBe('');

      const secret = readFileSync(fileField!, 'utf8').trim();
      expect(secret).toMatch(/^uet_/);
      expect(`${gateway.stdout()}${gateway.stderr()}`).not.toContain(secret);
      expect(await answers(listening!.url as string, secret)).toEqual({ data: { viewer: { scopes: ['ADMIN'], tokenName: 'bootstrap-admin' } } });
      expect(mode(folder)).toBe(0o700);
      expect(mode(fileField!)).toBe(0o600);
      for (const file of [database, `${database}-wal`, `${database}-shm`]) expect([file, mode(file)]).toEqual([file, 0o600]);

      gateway.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
    } finally {
      gateway.kill('SIGKILL');
    }

    // The next start has a token already: nothing is created, written or announced.
    rmSync(join(folder, 'bootstrap-admin-token'));
    const again = serve(gatewayEnv(database));
    try {
      await again.waitFor(/"url":"/);
      again.kill('SIGTERM');
      expect(await again.exited).toBe(0);
      expect(again.stderr()).not.toContain('admin token');
      expect(existsSync(join(folder, 'bootstrap-admin-token'))).toBe(false);
      expect(await tokenCount(database)).toBe(1);
    } finally {
      again.kill('SIGKILL');
    }
  });

  it('on a terminal: one readable startup line (URL, database, bus) and the secret shown once, no file', async () => {
    const database = join(dir, 'terminal', 'gateway.sqlite');
    const gateway = serveOnTerminal(gatewayEnv(database));
    try {
      await gateway.waitFor(/^Lost it\?.*`npm run token -- create --name admin --scopes admin`/);
      const [, secret] = await gateway.waitFor(/^ {2}(uet_\S+)\r?$/);
      const lines = gateway.stdout().split(/\r?\n/).filter(Boolean);
      expect(lines[0]).toMatch(
        new RegExp(`^uet-gateway listening on http://127\\.0\\.0\\.1:\\d+/ \\(console\\) and http://127\\.0\\.0\\.1:\\d+/graphql \\(database: ${database}, bus: in-process\\)$`),
      );
      expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
      const url = /(http:\/\/\S+\/graphql)/.exec(lines[0]!)![1]!;
      expect(await answers(url, secret!)).toEqual({ data: { viewer: { scopes: ['ADMIN'], tokenName: 'bootstrap-admin' } } });
      expect(existsSync(join(dir, 'terminal', 'bootstrap-admin-token'))).toBe(false);

      signalUnderTerminal(gateway.pid, 'SIGTERM');
      expect(await gateway.exited).toBe(0);
      // Shutdown lines are readable too.
      expect(gateway.stdout()).toMatch(/^\d\d:\d\d:\d\d INFO {2}shutting down signal=SIGTERM\r?$/m);
    } finally {
      signalUnderTerminal(gateway.pid, 'SIGKILL');
      gateway.kill('SIGKILL');
    }
  });

  it('LOG_FORMAT=json on a terminal (docker run -t) keeps JSON lines and puts the secret in the file', async () => {
    const database = join(dir, 'tty-json', 'gateway.sqlite');
    const gateway = serveOnTerminal(gatewayEnv(database, { LOG_FORMAT: 'json' }));
    try {
      await gateway.waitFor(/"file":"/);
      const lines = gateway.stdout().split(/\r?\n/).filter(Boolean);
      expect(lines.every((line) => line.startsWith('{"level":'))).toBe(true);
      expect(readFileSync(join(dir, 'tty-json', 'bootstrap-admin-token'), 'utf8')).toMatch(/^uet_\S+\n$/);
      expect(gateway.stdout()).not.toMatch(/uet_[A-Za-z0-9_-]{20,}/);
      signalUnderTerminal(gateway.pid, 'SIGTERM');
      expect(await gateway.exited).toBe(0);
    } finally {
      signalUnderTerminal(gateway.pid, 'SIGKILL');
      gateway.kill('SIGKILL');
    }
  });

  it('a taken port: one line saying what to set, exit 1, and no admin token spent', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const database = join(dir, 'taken', 'gateway.sqlite');
    try {
      const gateway = serve(gatewayEnv(database, { PORT: String(port), LOG_LEVEL: 'warn' }));
      expect(await gateway.exited).toBe(1);
      expect(gateway.stderr()).toBe(`error: port ${port} is in use on 127.0.0.1; set PORT to a free port\n`);
      expect(gateway.stdout()).toBe('');
      expect(await tokenCount(database)).toBe(0);
    } finally {
      taken.close();
    }
  });

  // graphql-js picks, once as it loads, between a plain instanceof and one that also looks for a second copy of itself
  // (src/cli/main.ts). Run from the sources so that graphql-js is the module the probe finds, not one inlined in a bundle.
  it.each([
    ['unset', 'production', undefined],
    ["an operator's own (development)", 'development', 'development'],
  ])('NODE_ENV %s: graphql-js loads in %s mode', async (_, mode, nodeEnv) => {
    const probe = join(dir, 'graphql-mode-probe.mjs');
    writeFileSync(
      probe,
      `import { createRequire } from 'node:module';
const require = createRequire(${JSON.stringify(`${ROOT}/`)});
process.on('exit', () => {
  const loaded = require.cache[require.resolve('graphql/jsutils/instanceOf.js')];
  class Probe { get [Symbol.toStringTag]() { return 'Probe'; } }
  let mode = 'not loaded';
  // Only the development check throws for an object that merely calls itself a Probe.
  if (loaded) try { loaded.exports.instanceOf({ [Symbol.toStringTag]: 'Probe' }, Probe); mode = 'production'; } catch { mode = 'development'; }
  process.stderr.write('graphql-js: ' + mode + '\\n');
});
`,
    );
    const env = gatewayEnv(join(dir, `mode-${nodeEnv}`, 'gateway.sqlite'), nodeEnv ? { NODE_ENV: nodeEnv } : {});
    if (!nodeEnv) delete env.NODE_ENV;
    const tsx = join(ROOT, 'node_modules/tsx/dist/loader.mjs');
    const gateway = start(process.execPath, ['--import', tsx, '--import', probe, join(ROOT, 'src/cli/main.ts'), 'serve'], env);
    try {
      await gateway.waitFor(/"url":"/);
      gateway.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
      expect(gateway.stderr()).toContain(`graphql-js: ${mode}\n`);
    } finally {
      gateway.kill('SIGKILL');
    }
  });

  it.each([
    ['192.0.2.1', /^error: HOST 192\.0\.2\.1 is not an address of this machine; set HOST \(127\.0\.0\.1, 0\.0\.0\.0, or one of its addresses\)\n$/],
    ['no-such-host.invalid', /^error: HOST "no-such-host\.invalid" does not resolve to an address; set HOST \(127\.0\.0\.1, 0\.0\.0\.0, or one of its addresses\)\n$/],
  ])('a bad HOST (%s): one line saying what to set, exit 1', async (host, line) => {
    const gateway = serve(gatewayEnv(join(dir, `host-${host}`, 'gateway.sqlite'), { HOST: host, LOG_LEVEL: 'warn' }));
    expect(await gateway.exited).toBe(1);
    expect(gateway.stderr()).toMatch(line);
  });

  it('a bad LOG_FORMAT stops the start with a line naming the variable', async () => {
    const gateway = serve(gatewayEnv(join(dir, 'format', 'gateway.sqlite'), { LOG_FORMAT: 'xml' }));
    expect(await gateway.exited).toBe(1);
    expect(gateway.stderr()).toBe('configuration error: LOG_FORMAT must be one of auto, json, pretty\n');
  });
});

describe('readable log lines (LOG_FORMAT=pretty, or auto on a terminal)', () => {
  it('are one line per entry with its fields, secrets redacted as in JSON, and the stack of an error indented below', () => {
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line), 'pretty');
    logger.debug('not shown at info');
    logger.warn('reaper acted', { crashedWorkers: 2, token: 'uet_secret', headers: { authorization: 'Bearer uet_secret' }, note: 'two words' });
    const error = new Error('disk full');
    logger.error('background failure', { error });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN {2}reaper acted crashedWorkers=2 token=\[redacted\] headers=\[redacted\] note="two words"\n$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d ERROR background failure\n {4}Error: disk full\n {8}at /);
    expect(lines.join('')).not.toContain('uet_secret');
  });
});

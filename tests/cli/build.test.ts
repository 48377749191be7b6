/**
 * The production path: `npm start` compiles the gateway (`npm run build`,
 * tsc to dist/) and serves from plain JavaScript; SIGTERM to the npm process
 * reaches the server. Run in a copy of the package (its node_modules linked),
 * so that the build neither races the checkout's own dist/ nor sees files
 * being edited.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
/** What a deployment of the checkout holds, minus tests, benchmarks and docs. */
const PACKAGE = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'scripts', 'src', 'migrations', 'schema-json', 'schema.graphql', 'schema.released.graphql', 'console'];
const dir = mkdtempSync(join(tmpdir(), 'uet-build-'));
const copy = join(dir, 'package');

beforeAll(() => {
  for (const entry of PACKAGE) cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** pid and command line of each child of a process. */
const childrenOf = (pid: number) =>
  [...spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout.matchAll(/^\s*(\d+) (.*)$/gm)].map(([, child, args]) => ({ pid: Number(child), args: args! }));

const bin = (args: string[]) => spawnSync(process.execPath, [join(copy, 'bin/uet-gateway.js'), ...args], { cwd: copy, encoding: 'utf8', timeout: 60_000 });

// A cold tsc build of the gateway takes 12 to 30 s on a busy 2-core machine.
describe('the production build', { timeout: 240_000 }, () => {
  it('npm start builds dist/, serves from compiled JavaScript, and SIGTERM to npm stops the server', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `sqlite:${join(dir, 'data', 'gateway.sqlite')}`, LOG_LEVEL: 'info', LOG_FORMAT: 'json' };
    delete env.UET_ADMIN_TOKEN;
    const npm = spawn('npm', ['start'], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    let output = '';
    const tokenFile = new Promise<string>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        output += chunk;
        const file = /"file":"([^"]+)"/.exec(output)?.[1];
        if (file) resolve(file);
      };
      npm.stdout.on('data', look);
      npm.stderr.on('data', look);
      void exited.then((code) => reject(new Error(`npm start exited (${code}) before serving:\n${output}`)));
    });
    let server: { pid: number; args: string } | undefined;
    try {
      const secret = readFileSync(await tokenFile, 'utf8').trim();
      expect(output).toMatch(/built dist\/ in [\d.]+ s/);
      const url = /"url":"([^"]+)"/.exec(output)![1]!;

      // npm's child is the server itself (`exec`), running dist/ with no TypeScript loader.
      server = childrenOf(npm.pid!)[0];
      expect(server?.args).toBe('node dist/src/cli/main.js serve');
      expect(readFileSync(`/proc/${server!.pid}/cmdline`, 'utf8')).not.toMatch(/tsx|esbuild/);
      // Files read at run time resolve from dist/ too: the contracts come from schema-json/.
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: '{ contracts { name } }' }),
      });
      const { data } = (await res.json()) as { data: { contracts: { name: string }[] } };
      expect(data.contracts.map((c) => c.name)).toContain('run_record');
      // And GraphiQL's page and the files it names, from the installed packages.
      const page = await fetch(url, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const assets = [...(await page.text()).matchAll(/(?:src|href)="([^"]+)"/g)].map(([, path]) => new URL(path!, url));
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) expect([asset.pathname, (await fetch(asset)).status]).toEqual([asset.pathname, 200]);
      // The console, built by the same prestart, at `/` with its files.
      expect(output).toMatch(/built dist\/console \(scripts [\d.]+ KB gzipped\) in [\d.]+ s/);
      const consolePage = await (await fetch(new URL('/', url), { headers: { accept: 'text/html' } })).text();
      const consoleFiles = [...consolePage.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(([, path]) => new URL(path!, url));
      expect(consoleFiles.length).toBeGreaterThan(0);
      for (const file of consoleFiles) expect([file.pathname, (await fetch(file)).status]).toEqual([file.pathname, 200]);

      npm.kill('SIGTERM');
      await exited;
      const deadline = Date.now() + 15_000;
      while (alive(server!.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(alive(server!.pid), 'the server outlived npm').toBe(false);
      await expect(fetch(url)).rejects.toThrow();
      expect(output).toContain('"message":"stopped"');
    } finally {
      npm.kill('SIGKILL');
      if (server && alive(server.pid)) process.kill(server.pid, 'SIGKILL');
    }
  });

  it('the bin runs dist/ while it matches the sources, and the sources once one changed', () => {
    expect(existsSync(join(copy, 'dist/.build-stamp.json')), 'the first test builds dist/').toBe(true);
    // npm start's prestart: with nothing changed since the build, no rebuild.
    const started = Date.now();
    const check = spawnSync(process.execPath, [join(copy, 'scripts/build.js'), '--if-stale'], { cwd: copy, encoding: 'utf8' });
    expect([check.status, check.stdout, check.stderr]).toEqual([0, '', '']);
    expect(Date.now() - started).toBeLessThan(5000);

    // Edited source that dist/ does not hold; dated before the build, dist/ still counts as current.
    const main = join(copy, 'src/cli/main.ts');
    writeFileSync(main, "console.log('ran the TypeScript source');\n");
    const longAgo = new Date(Date.now() - 24 * 3600_000);
    utimesSync(main, longAgo, longAgo);
    const fromDist = bin(['--help']);
    expect(fromDist.status).toBe(0);
    expect(fromDist.stdout).toContain('usage: uet-gateway');

    const now = new Date();
    utimesSync(main, now, now);
    const fromSource = bin(['--help']);
    expect(fromSource.stdout).toBe('ran the TypeScript source\n');
  });
});

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { ADMIN_SECRET, createRun, startTestServer, subscribe } from '../helpers/server.js';

/** Waits for a WebSocket close and returns its code. */
function closeCode(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

/** A raw graphql-transport-ws connection, acknowledged. */
function openSocket(wsUrl: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  return new Promise((resolve, reject) => {
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
      socket.once('message', () => resolve(socket));
    });
    socket.once('error', reject);
  });
}

describe('the HTTP server', () => {
  it('serves GraphiQL from installed packages, with no external script or stylesheet', async () => {
    const server = await startTestServer();
    try {
      const res = await fetch(server.url, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('graphiql');
      expect(html).toContain('uet-gateway');
      // A small page that names its files (src/server/graphiql.ts), not GraphiQL inlined (9 MB).
      expect(html.length).toBeLessThan(10_000);
      expect(html).toMatch(/<script src="\/graphql\/static\/[\w-]+\/graphiql\.js" defer><\/script>/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(html).not.toMatch(/<script[^>]+src=["']?https?:/i);
      expect(html).not.toMatch(/<link[^>]+href=["']?https?:/i);
      expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdnjs/i);
    } finally {
      await server.stop();
    }
  });

  it("serves GraphiQL's files compressed as asked, cacheable for a year, with ETags", async () => {
    const server = await startTestServer();
    try {
      const html = await (await fetch(server.url, { headers: { accept: 'text/html' } })).text();
      const base = new URL(/href="([^"]+)graphiql\.css"/.exec(html)![1]!, server.url);
      const file = (name: string, headers: Record<string, string> = {}, method = 'GET') => fetch(new URL(name, base), { method, headers });
      const plain = await file('graphiql.js', { 'accept-encoding': 'identity' });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(plain.headers.get('vary')).toBe('Accept-Encoding');
      expect(plain.headers.get('content-encoding')).toBeNull();
      const size = (await plain.arrayBuffer()).byteLength;
      expect(size).toBeGreaterThan(1_000_000);
      for (const [accept, encoding] of [
        ['gzip, deflate, br', 'br'],
        ['gzip', 'gzip'],
        ['br;q=0, gzip', 'gzip'],
      ] as const) {
        const res = await file('graphiql.js', { 'accept-encoding': accept });
        expect(res.headers.get('content-encoding'), accept).toBe(encoding);
        const etag = res.headers.get('etag')!;
        expect(etag, accept).toMatch(new RegExp(`^"[\\w-]+-${encoding}"$`));
        // fetch decodes the body; Content-Length is what was sent.
        expect(Number(res.headers.get('content-length')), accept).toBeLessThan(size / 3);
        expect((await res.arrayBuffer()).byteLength, accept).toBe(size);
        // A forced reload revalidates: 304, no body.
        const again = await file('graphiql.js', { 'accept-encoding': accept, 'if-none-match': etag });
        expect(again.status, accept).toBe(304);
        expect(await again.text(), accept).toBe('');
      }
      expect((await file('graphiql.js', { 'accept-encoding': 'gzip', 'if-none-match': plain.headers.get('etag')! })).status).toBe(200);
      const head = await file('start.js', {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      expect((await file('start.js', {}, 'POST')).status).toBe(405);
      expect((await file('nothing.js')).status).toBe(404);
      // A page from before an upgrade names an older version.
      const stale = await fetch(new URL('../0000000000000000/graphiql.js', base));
      expect(stale.status).toBe(404);
      expect(await stale.text()).toMatch(/reload/);
    } finally {
      await server.stop();
    }
  });

  it('answers /health and /ready', async () => {
    const server = await startTestServer();
    try {
      const base = server.url.replace('/graphql', '');
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
      expect(await (await fetch(`${base}/ready`)).json()).toEqual({ status: 'ready', eventBus: 'connected' });
    } finally {
      await server.stop();
    }
  });

  it('stops gracefully: WebSockets close with 1001, open streams end, in-flight requests finish', async () => {
    const server = await startTestServer();
    const runId = await createRun(server);
    const socket = await openSocket(server.wsUrl, ADMIN_SECRET);
    const closed = closeCode(socket);
    const sub = subscribe(server.wsClient(), `subscription($runId: ID) { runEvents(runId: $runId) { id } }`, { runId });
    while (server.engine.openStreams() === 0) await new Promise((r) => setTimeout(r, 5));
    // Hold the database so that a request is provably in flight when stop() begins.
    let release = () => {};
    let entered = () => {};
    const holding = new Promise<void>((r) => (entered = r));
    const held = server.engine.orm.em.fork().transactional(() => {
      entered();
      return new Promise<void>((r) => (release = r));
    });
    await holding;
    const pool = (server.engine.orm.em.getKnex().client as { pool: { numPendingAcquires(): number } }).pool;
    const inFlight = server.gql(`{ runs(first: 1) { totalCount } }`);
    while (pool.numPendingAcquires() === 0) await new Promise((r) => setTimeout(r, 5));
    const stopped = server.app.stop();
    release();
    await held;
    await stopped;
    expect(await closed).toBe(1001);
    await expect(sub.done).rejects.toMatchObject({ code: 1001 });
    expect((await inFlight).data).toEqual({ runs: { totalCount: 1 } });
    expect(server.engine.openStreams()).toBe(0);
    // The rest of the teardown (ORM, the PostgreSQL test database, the temporary directory); stopping again is a no-op.
    await server.stop();
  });
});

describe('npm start', () => {
  it('creates and migrates the SQLite file, writes a one-time admin token beside it (no terminal), answers with it, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uet-gateway-start-'));
    const dbFile = join(dir, 'nested', 'gateway.sqlite');
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: `sqlite:${dbFile}`, LOG_LEVEL: 'info' };
    delete env.UET_ADMIN_TOKEN;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // stdout is a pipe, not a terminal: the secret goes to a file, and the log names it after the URL.
      let url = '';
      const tokenFile = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stderr! }).on('line', (line) => {
          url ||= /"url":"([^"]+)"/.exec(line)?.[1] ?? '';
          const file = /"file":"([^"]+)"/.exec(line)?.[1];
          if (file) resolve(file);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
      });
      expect(existsSync(dbFile)).toBe(true);
      const secret = readFileSync(tokenFile, 'utf8').trim();
      expect(secret).toMatch(/^uet_/);
      const query = (authorization?: string) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: JSON.stringify({ query: '{ runs(first: 5) { totalCount } }' }),
        }).then((res) => res.json());
      expect(await query(`Bearer ${secret}`)).toEqual({ data: { runs: { totalCount: 0 } } });
      expect((await query()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      const socket = await openSocket(url.replace('http', 'ws'), secret);
      const closed = closeCode(socket);
      child.kill('SIGTERM');
      expect(await closed).toBe(1001);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
      // The WebSocket takes the token from the Headers editor (src/server/graphiql.ts).
      expect(html).toMatch(/<head><script>[\s\S]*connection_init[\s\S]*graphiql:headers/);
      expect(html).not.toMatch(/<script[^>]+src=["']?https?:/i);
      expect(html).not.toMatch(/<link[^>]+href=["']?https?:/i);
      expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdnjs/i);
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
  it('creates and migrates the SQLite file, prints a one-time admin token, answers with it, and exits 0 on SIGTERM', async () => {
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
    let secret = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      secret ||= /^\s+(uet_\S+)$/.exec(line)?.[1] ?? '';
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stderr! }).on('line', (line) => {
          const url = /"url":"([^"]+)"/.exec(line)?.[1];
          if (url) resolve(url);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
      });
      expect(existsSync(dbFile)).toBe(true);
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

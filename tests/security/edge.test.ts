import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { getIntrospectionQuery } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ConfigError, loadConfig } from '../../src/config.js';
import { ADMIN_SECRET, codes, createRun, startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { expectBystanderServed, underAttack } from './bystander.js';

/** One operation over graphql-ws: its result, or the errors the server answered it with. */
function wsOnce(client: Client, payload: { query: string; variables?: Record<string, unknown> }): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    const stop = client.subscribe(payload, {
      next: (value) => {
        stop();
        resolve(value as GraphQLResponse);
      },
      error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
      complete: () => resolve({}),
    });
  });
}

/**
 * One operation over SSE, as the graphql-sse client sends it in distinct
 * connections mode: its first event, or the JSON error response a refused
 * request gets instead of a stream (which that client only reports as a
 * NetworkError, without the errors).
 */
async function sseOnce(server: TestServer, payload: { query: string; variables?: Record<string, unknown> }, token: string | null = ADMIN_SECRET): Promise<GraphQLResponse> {
  const controller = new AbortController();
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { accept: 'text/event-stream', 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(payload),
    signal: controller.signal,
  });
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return (await res.json()) as GraphQLResponse;
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    text += value ?? '';
    const data = /^data: (.+)$/m.exec(text);
    if (data) {
      controller.abort();
      return JSON.parse(data[1]!) as GraphQLResponse;
    }
    if (done) throw new Error(`the SSE stream ended without a result: ${text}`);
  }
}

/**
 * One operation over graphql-ws, its message written by hand: the graphql-ws
 * client's JSON.stringify cannot write the 10,000-level variables an attacker can.
 */
function rawWsOnce(server: TestServer, subscribeMessage: string): Promise<GraphQLResponse> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_SECRET}` } })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') socket.send(subscribeMessage);
      if (message.type === 'next' || message.type === 'error') {
        socket.close(1000);
        resolve(message.type === 'next' ? message.payload : { errors: message.payload });
      }
    });
    socket.on('close', (code) => reject(new Error(`closed with ${code} before a result`)));
    socket.on('error', reject);
  });
}

const messages = (res: GraphQLResponse) => (res.errors ?? []).map((e) => e.message);
const page = (server: TestServer, path = '/graphql') => fetch(new URL(path, server.url), { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });

describe('config: the HTTP edge', () => {
  it('defaults: GraphiQL on, same-origin only, /metrics open with a 5 s cache, variables 64 levels deep', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ graphiql: true, corsOrigins: [], metricsToken: null, introspection: true });
    expect(config.limits).toMatchObject({ maxJsonDepth: 64, metricsCacheMs: 5000 });
  });

  it('takes the switches, exact origins and a metrics token', () => {
    const config = loadConfig({
      UET_GRAPHIQL: 'false',
      UET_CORS_ORIGINS: 'https://ops.example.com, http://localhost:3000',
      UET_METRICS_TOKEN: 'metrics-token-0123456789',
      UET_MAX_JSON_DEPTH: '16',
      UET_METRICS_CACHE_MS: '0',
    });
    expect(config).toMatchObject({ graphiql: false, corsOrigins: ['https://ops.example.com', 'http://localhost:3000'], metricsToken: 'metrics-token-0123456789' });
    expect(config.limits).toMatchObject({ maxJsonDepth: 16, metricsCacheMs: 0 });
  });

  it('refuses wildcards, paths, other schemes and short metrics tokens', () => {
    for (const origins of ['*', 'https://*.example.com', 'https://ops.example.com/', 'ops.example.com', 'ftp://ops.example.com', 'null']) {
      expect(() => loadConfig({ UET_CORS_ORIGINS: origins }), origins).toThrow(ConfigError);
    }
    expect(() => loadConfig({ UET_METRICS_TOKEN: 'short' })).toThrow(/UET_METRICS_TOKEN must be at least 16 characters/);
    expect(() => loadConfig({ UET_GRAPHIQL: 'maybe' })).toThrow(/UET_GRAPHIQL/);
  });
});

describe('GraphiQL and framing', () => {
  let on: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    [on, off] = await Promise.all([startTestServer(), startTestServer({ edge: { graphiql: false } })]);
  });
  afterAll(() => Promise.all([on.stop(), off.stop()]));

  it('every HTML page may not be framed, and GraphiQL runs only its own scripts', async () => {
    for (const path of ['/graphql', '/graphql?query=mutation%20%7B%20__typename%20%7D', '/graphql/']) {
      const res = await page(on, path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      const policy = res.headers.get('content-security-policy') ?? '';
      expect(policy, path).toContain("frame-ancestors 'none'");
      expect(policy, path).toContain("default-src 'none'");
      expect(policy, path).toContain("connect-src 'self'");
      // Only the gateway's own script files: no inline script, no 'unsafe-inline', no other origin (src/server/graphiql.ts).
      expect(policy.match(/script-src ([^;]+)/)?.[1]).toBe("'self'");
      expect(policy.match(/worker-src ([^;]+)/)?.[1]).toBe("'self'");
      await res.arrayBuffer();
    }
  });

  it('every other response says the same (JSON, health, metrics, 404)', async () => {
    const base = new URL(on.url).origin;
    const responses = [
      await fetch(on.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }),
      await fetch(`${base}/healthz`),
      await fetch(`${base}/metrics`),
      await fetch(`${base}/nowhere`),
      await page(off),
    ];
    for (const res of responses) {
      expect(res.headers.get('x-frame-options'), res.url).toBe('DENY');
      expect(res.headers.get('content-security-policy'), res.url).toBe("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), res.url).toBe('nosniff');
      await res.arrayBuffer();
    }
  });

  it('UET_GRAPHIQL=false: a browser gets 404 where GraphiQL was, while GraphQL over POST works', async () => {
    expect((await page(off, '/graphql/')).status).toBe(404);
    const res = await page(off);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toContain('UET_GRAPHIQL=false');
    // Its files are gone too.
    const html = await (await page(on)).text();
    const file = /src="([^"]+start\.js)"/.exec(html)![1]!;
    expect((await fetch(new URL(file, on.url))).status).toBe(200);
    expect((await fetch(new URL(file, off.url))).status).toBe(404);
    expect(await off.ok('{ viewer { tokenName } }')).toEqual({ viewer: { tokenName: 'UET_ADMIN_TOKEN' } });
    // The page it replaced is there with GraphiQL on (so the 404 above is the switch).
    expect((await page(on)).status).toBe(200);
  });
});

// As in tests/browser: CI installs Chromium; a developer machine without it skips this.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('GraphiQL under its Content-Security-Policy, in Chromium', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('runs a query with no policy violation, while an injected inline script is blocked', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const context = await browser.newContext();
      await context.addInitScript((token) => {
        localStorage.setItem('graphiql:headers', JSON.stringify({ Authorization: `Bearer ${token}` }));
        document.addEventListener('securitypolicyviolation', (e) => console.error(`violation: ${e.violatedDirective} ${e.blockedURI}`));
      }, ADMIN_SECRET);
      const tab = await context.newPage();
      const violations: string[] = [];
      tab.on('console', (message) => message.text().startsWith('violation:') && violations.push(message.text()));
      await tab.goto(server.url);
      await tab.waitForSelector('.graphiql-execute-button', { timeout: 20_000 });
      await tab.click('.graphiql-execute-button');
      await tab.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('workerSummary'), null, { timeout: 20_000 });
      // Typing runs the editor's language worker (a blob: worker) for completions.
      await tab.click('.graphiql-query-editor');
      await tab.keyboard.type('{ ru');
      await tab.waitForTimeout(1000);
      expect(violations).toEqual([]);

      await tab.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.append(script);
      });
      expect(await tab.evaluate(() => (window as { injected?: boolean }).injected)).toBeUndefined();
      await expect.poll(() => violations).toEqual([expect.stringMatching(/^violation: script-src-elem inline/)]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('introspection and "Did you mean"', () => {
  let open: TestServer;
  let closed: TestServer;
  beforeAll(async () => {
    [open, closed] = await Promise.all([startTestServer(), startTestServer({ introspection: false })]);
  });
  afterAll(() => Promise.all([open.stop(), closed.stop()]));

  const INTROSPECT = '{ __schema { description } }';
  // A typo'd field (validation), a near-miss enum value and an unknown input field given through variables (coercion).
  const TYPO = '{ runz { totalCount } }';
  const ENUM_VARIABLE = { query: 'query($s: [WorkerState!]) { workers(first: 1, filter: { states: $s }) { totalCount } }', variables: { s: ['BUS'] } };
  const FIELD_VARIABLE = { query: 'query($f: WorkerFilter) { workers(first: 1, filter: $f) { totalCount } }', variables: { f: { stal: true } } };
  const SUBSCRIPTION_ENUM = (runId: string) => ({
    query: 'subscription($k: [RunEventKind!]) { runEvents(runId: "' + runId + '", kinds: $k) { kind } }',
    variables: { k: ['RUN_STARTE'] },
  });

  it('introspection needs a valid token: anonymous and bad-token callers get UNAUTHENTICATED, a token holder the schema', async () => {
    for (const token of [null, 'uet_not-a-real-token']) {
      const refused = await open.gql(INTROSPECT, undefined, { token });
      expect(refused.data ?? undefined).toBeUndefined();
      expect(codes(refused)).toEqual(['UNAUTHENTICATED']);
      expect(messages(refused)[0]).toMatch(/^introspection needs a token: send Authorization: Bearer <token>/);
      expect(codes(await open.gql('{ __type(name: "Run") { name } }', undefined, { token }))).toEqual(['UNAUTHENTICATED']);
      // GraphiQL's first visit: its whole introspection query (dozens of schema fields) gets the one error, for the document.
      const graphiql = await open.gql(getIntrospectionQuery(), undefined, { token });
      expect(codes(graphiql)).toEqual(['UNAUTHENTICATED']);
      expect(messages(graphiql)[0]).toBe('introspection needs a token: send Authorization: Bearer <token> (requested query contained the field "__schema".)');
    }
    const RUN_TYPE = '{ __type(name: "Run") { name } }';
    expect(await open.ok(RUN_TYPE)).toEqual({ __type: { name: 'Run' } });
    expect(await open.ok(INTROSPECT)).toEqual({ __schema: { description: null } });
    expect(await wsOnce(open.wsClient(), { query: RUN_TYPE })).toEqual({ data: { __type: { name: 'Run' } } });
    // __typename is not schema introspection: anyone may ask it.
    expect(await open.gql('{ __typename }', undefined, { token: null })).toEqual({ data: { __typename: 'Query' } });
  });

  it('UET_INTROSPECTION=false: no one, token or not, over HTTP, SSE or graphql-ws', async () => {
    expect(codes(await closed.gql(INTROSPECT))).toEqual(['INTROSPECTION_DISABLED']);
    expect(codes(await closed.gql(INTROSPECT, undefined, { token: null }))).toEqual(['INTROSPECTION_DISABLED']);
    expect(codes(await wsOnce(closed.wsClient(), { query: INTROSPECT }))).toEqual(['INTROSPECTION_DISABLED']);
    expect(codes(await sseOnce(closed, { query: INTROSPECT }))).toEqual(['INTROSPECTION_DISABLED']);
  });

  it('no "Did you mean" where the schema is hidden: validation and variable coercion, over HTTP, SSE and graphql-ws', async () => {
    const runId = await createRun(closed);
    const hidden: [string, GraphQLResponse][] = [
      ['closed HTTP validation', await closed.gql(TYPO)],
      ['closed HTTP enum variable', await closed.gql(ENUM_VARIABLE.query, ENUM_VARIABLE.variables)],
      ['closed HTTP input field variable', await closed.gql(FIELD_VARIABLE.query, FIELD_VARIABLE.variables)],
      ['closed SSE validation', await sseOnce(closed, { query: TYPO })],
      ['closed SSE enum variable', await sseOnce(closed, ENUM_VARIABLE)],
      ['closed SSE subscription enum variable', await sseOnce(closed, SUBSCRIPTION_ENUM(runId))],
      ['closed graphql-ws validation', await wsOnce(closed.wsClient(), { query: TYPO })],
      ['closed graphql-ws enum variable', await wsOnce(closed.wsClient(), ENUM_VARIABLE)],
      ['closed graphql-ws input field variable', await wsOnce(closed.wsClient(), FIELD_VARIABLE)],
      ['closed graphql-ws subscription enum variable', await wsOnce(closed.wsClient(), SUBSCRIPTION_ENUM(runId))],
      // Introspection on, but no valid token: the same.
      ['anonymous HTTP validation', await open.gql(TYPO, undefined, { token: null })],
      ['anonymous HTTP enum variable', await open.gql(ENUM_VARIABLE.query, ENUM_VARIABLE.variables, { token: null })],
      ['anonymous HTTP input field variable', await open.gql(FIELD_VARIABLE.query, FIELD_VARIABLE.variables, { token: null })],
      ['anonymous SSE enum variable', await sseOnce(open, ENUM_VARIABLE, null)],
    ];
    for (const [name, res] of hidden) {
      expect(res.errors?.length, name).toBeGreaterThan(0);
      expect(
        codes(res).every((code) => code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED'),
        `${name}: ${JSON.stringify(res)}`,
      ).toBe(true);
      for (const message of messages(res)) expect(message, name).not.toMatch(/Did you mean/);
    }
  });

  it("the validation cache keeps each view's answer: the same document, asked with and without a token by turns", async () => {
    const DOCUMENT = '{ runx { totalCount } }';
    for (let i = 0; i < 2; i++) {
      expect(messages(await open.gql(DOCUMENT)).join(' ')).toMatch(/Did you mean .*"runs"/);
      expect(messages(await open.gql(DOCUMENT, undefined, { token: null })).join(' ')).not.toMatch(/Did you mean/);
    }
  });

  it('a token holder with introspection on gets the hints, on every path (so the test above can fail)', async () => {
    const runId = await createRun(open);
    const shown: [string, GraphQLResponse][] = [
      ['HTTP validation', await open.gql(TYPO)],
      ['HTTP enum variable', await open.gql(ENUM_VARIABLE.query, ENUM_VARIABLE.variables)],
      ['HTTP input field variable', await open.gql(FIELD_VARIABLE.query, FIELD_VARIABLE.variables)],
      ['SSE validation', await sseOnce(open, { query: TYPO })],
      ['SSE enum variable', await sseOnce(open, ENUM_VARIABLE)],
      ['SSE subscription enum variable', await sseOnce(open, SUBSCRIPTION_ENUM(runId))],
      ['graphql-ws validation', await wsOnce(open.wsClient(), { query: TYPO })],
      ['graphql-ws enum variable', await wsOnce(open.wsClient(), ENUM_VARIABLE)],
      ['graphql-ws input field variable', await wsOnce(open.wsClient(), FIELD_VARIABLE)],
      ['graphql-ws subscription enum variable', await wsOnce(open.wsClient(), SUBSCRIPTION_ENUM(runId))],
    ];
    for (const [name, res] of shown) expect(messages(res).join(' '), name).toMatch(/Did you mean/);
  });
});

describe('/metrics', () => {
  const METRICS_TOKEN = 'metrics-token-0123456789';
  let server: TestServer;
  let metricsUrl: string;
  beforeAll(async () => {
    server = await startTestServer({ edge: { metricsToken: METRICS_TOKEN } });
    metricsUrl = `${new URL(server.url).origin}/metrics`;
  });
  afterAll(() => server.stop());

  const scrape = (authorization?: string) => fetch(metricsUrl, { headers: authorization ? { authorization } : {} });

  it('UET_METRICS_TOKEN: refused (401) without it or with another token, served with it', async () => {
    for (const authorization of [undefined, `Bearer ${ADMIN_SECRET}`, `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
      const res = await scrape(authorization);
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.text()).not.toContain('uet_tasks');
    }
    const res = await scrape(`Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE uet_tasks gauge');
  });

  it('two scrapes within UET_METRICS_CACHE_MS issue one GROUP BY between them', async () => {
    const knex = server.engine.orm.em.getKnex();
    const groupBys: string[] = [];
    const listener = (q: { sql: string }) => /group by/i.test(q.sql) && groupBys.push(q.sql);
    // Past the window of the scrapes before.
    await new Promise((resolve) => setTimeout(resolve, 5100));
    knex.on('query', listener);
    try {
      const first = await (await scrape(`Bearer ${METRICS_TOKEN}`)).text();
      expect(groupBys).toHaveLength(1);
      const [second, third] = await Promise.all([scrape(`Bearer ${METRICS_TOKEN}`), scrape(`Bearer ${METRICS_TOKEN}`)]);
      expect(await second.text()).toContain('# TYPE uet_tasks gauge');
      await third.arrayBuffer();
      expect(groupBys).toHaveLength(1);
      expect(first).toContain('# TYPE uet_tasks gauge');
    } finally {
      knex.off('query', listener);
    }
  }, 15_000);
});

describe('CORS', () => {
  const LISTED = 'https://ops.example.com';
  let sameOrigin: TestServer;
  let listed: TestServer;
  beforeAll(async () => {
    [sameOrigin, listed] = await Promise.all([startTestServer(), startTestServer({ edge: { corsOrigins: [LISTED, 'http://localhost:3000'] } })]);
  });
  afterAll(() => Promise.all([sameOrigin.stop(), listed.stop()]));

  const post = (server: TestServer, origin: string) =>
    fetch(server.url, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${ADMIN_SECRET}` },
      body: '{"query":"{ __typename }"}',
    });
  const preflight = (server: TestServer, origin: string) =>
    fetch(server.url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
  const corsHeaders = (res: Response) => [...res.headers].filter(([name]) => name.startsWith('access-control-'));

  it('same-origin by default: no origin gets any CORS header, on a request or a preflight', async () => {
    for (const origin of ['https://evil.example', LISTED, 'null']) {
      const res = await post(sameOrigin, origin);
      expect(res.status).toBe(200);
      expect(corsHeaders(res), origin).toEqual([]);
      expect(corsHeaders(await preflight(sameOrigin, origin)), origin).toEqual([]);
    }
  });

  it('UET_CORS_ORIGINS: a listed origin gets itself back without credentials; an unlisted one gets nothing', async () => {
    const ok = await post(listed, LISTED);
    expect(ok.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    expect(await ok.json()).toEqual({ data: { __typename: 'Query' } });

    const allowed = await preflight(listed, LISTED);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(allowed.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    expect(allowed.headers.get('access-control-max-age')).toBe('600');

    for (const origin of ['https://evil.example', 'https://ops.example.com.evil.example', 'http://ops.example.com', 'null']) {
      expect(corsHeaders(await post(listed, origin)), origin).toEqual([]);
      expect(corsHeaders(await preflight(listed, origin)), origin).toEqual([]);
    }
  });
});

describe('deeply nested JSON', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const LEVELS = 10_000;
  /** JSON text of `levels` nested objects, written by hand: JSON.stringify itself overflows on such a value. */
  const nestedJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const CREATE_RUN = 'mutation($input: CreateRunInput!) { createRun(input: $input) { run { id metadata } } }';
  /** The body of a createRun whose metadata is `metadataJson`. */
  const createRunBody = (metadataJson: string) => `{"query":${JSON.stringify(CREATE_RUN)},"variables":{"input":{"projectId":"deep","phaseId":"phase-1","metadata":${metadataJson}}}}`;
  const post = async (body: string): Promise<GraphQLResponse> => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_SECRET}` }, body });
    return (await res.json()) as GraphQLResponse;
  };

  it('a legitimately nested JSON variable goes through', async () => {
    const res = await post(createRunBody(nestedJson(20)));
    expect(res.errors).toBeUndefined();
    expect(res.data.createRun.run.metadata).toEqual(JSON.parse(nestedJson(20)));
  });

  it('10,000 levels in variables over HTTP: BAD_USER_INPUT, and a bystander is served', async () => {
    const body = createRunBody(nestedJson(LEVELS));
    const report = await underAttack(server, async () => {
      const results = [];
      for (let i = 0; i < 20; i++) results.push(await post(body));
      return results;
    });
    expectBystanderServed(`${LEVELS}-level JSON variables over HTTP (20 requests)`, report);
    for (const res of report.result) {
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.message).toMatch(/variables nest more than 64 levels/);
    }
    // Also as arrays, in a variable no operation uses, and in extensions.
    const arrays = `${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}`;
    expect(codes(await post(`{"query":"{ __typename }","variables":{"m":${arrays}}}`))).toEqual(['BAD_USER_INPUT']);
    const extensions = await post(`{"query":"{ __typename }","extensions":{"deep":${nestedJson(LEVELS)}}}`);
    expect(codes(extensions)).toEqual(['BAD_USER_INPUT']);
    expect(extensions.errors?.[0]?.message).toMatch(/extensions nest more than 64 levels/);
    // A request error, as GraphQL over HTTP answers one: 400, nothing executed.
    const refused = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${ADMIN_SECRET}` },
      body: createRunBody(nestedJson(LEVELS)),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).not.toHaveProperty('data');
    // And over SSE (the same HTTP request, asking for an event stream).
    const sse = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_SECRET}` },
      body: `{"query":"subscription { runEvents { kind } }","variables":{"m":${nestedJson(LEVELS)}}}`,
    });
    expect(await sse.text()).toContain('"code":"BAD_USER_INPUT"');
  });

  it('10,000 levels in variables over graphql-ws: BAD_USER_INPUT, the socket stays usable, and a bystander is served', async () => {
    const message = `{"type":"subscribe","id":"1","payload":${createRunBody(nestedJson(LEVELS))}}`;
    const report = await underAttack(server, async () => {
      const results = [];
      for (let i = 0; i < 20; i++) results.push(await rawWsOnce(server, message));
      return results;
    });
    expectBystanderServed(`${LEVELS}-level JSON variables over graphql-ws (20 connections)`, report);
    for (const res of report.result) expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(await wsOnce(server.wsClient(), { query: '{ __typename }' })).toEqual({ data: { __typename: 'Query' } });
  });

  it('10,000 levels in a JSON literal: refused with a code, never INTERNAL_SERVER_ERROR', async () => {
    const literal = `${'['.repeat(LEVELS)}${']'.repeat(LEVELS)}`;
    const res = await server.gql(`mutation { createRun(input: { projectId: "deep", phaseId: "p", metadata: ${literal} }) { run { id } } }`);
    expect(codes(res)).toEqual(['QUERY_LIMIT_EXCEEDED']);
    // The process is alive and well.
    expect(await server.ok('{ __typename }')).toEqual({ __typename: 'Query' });
    expect(server.logs.filter((line) => /unexpected error/.test(line))).toEqual([]);
  });
});

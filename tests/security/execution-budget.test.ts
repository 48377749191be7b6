import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Limits } from '../../src/config.js';
import { encodeGlobalId } from '../../src/schema/builder.js';
import { ADMIN_SECRET, codes, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import { expectBystanderServed, underAttack } from './bystander.js';

/** The first statement's round trip outlasts it: the executor is stopped before the next level's statement. */
const TIMEOUT_MS = 1;
const MAX_RESPONSE_BYTES = 10_000;
const MAX_EVENT_BYTES = 2000;
const RUNS = 30;
/** Under the cost limit (~20,000), yet hundreds of ms of work over RUNS runs of 20 notes each, in 4 or 5 SQL statements. */
const NESTED = `{ runs(first: ${RUNS}) { edges { node { events(first: 15) { edges { node {
  run { events(first: 5) { edges { node { kind step { id } } } } steps(first: 5) { edges { node { id } } } } } } } } } } }`;

/** Each run's notes, then (a third level of statements) each note's run's steps and events: about 15,000 bytes of payloads by the second statement. */
const PAYLOADS = `{ runs(first: ${RUNS}) { edges { node { events(first: 20) { edges { node { payload
  run { steps(first: 5) { edges { node { id } } } events(first: 5) { edges { node { kind } } } } } } } } } } }`;

/** A server with one budget set (the others at their defaults) and RUNS runs of 20 notes each. */
async function budgetServer(limits: Partial<Limits>): Promise<{ server: TestServer; runId: string }> {
  // No reaper passes or revocation polls while statements are being counted.
  const server = await startTestServer({ limits, jobs: { reaperIntervalMs: 0, revocationPollMs: 0 } });
  let runId = '';
  for (let r = 0; r < RUNS; r++) {
    const run = await server.engine.runs.createRun({ projectId: 'budget', phaseId: 'p' });
    for (let i = 0; i < 20; i++) await server.engine.runs.addRunNote({ runId: run.id, message: `note ${i}` });
    runId = encodeGlobalId('Run', run.id);
  }
  return { server, runId };
}

/** Answers one query and counts the SQL statements the server issued meanwhile (and until 100 ms after). */
async function measured(server: TestServer, query: string) {
  const knex = server.engine.orm.em.getKnex();
  const sql: string[] = [];
  const count = (q: { sql: string }) => sql.push(q.sql.slice(0, 60));
  knex.on('query', count);
  try {
    const started = performance.now();
    const res = await server.gql(query);
    const ms = performance.now() - started;
    await sleep(100);
    return { res, ms, statements: sql.length, sql };
  } finally {
    knex.off('query', count);
  }
}

describe('execution time limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    ({ server } = await budgetServer({ executionTimeoutMs: TIMEOUT_MS }));
  }, 60_000);
  afterAll(() => server.stop());

  it(`a query past the time limit (${TIMEOUT_MS} ms) is stopped with EXECUTION_TIMEOUT: fewer statements, sooner than finishing`, async () => {
    // Without a time limit (the default, 10 s), the same query takes this long and issues this many statements.
    const unlimited = await budgetServer({});
    let full: Awaited<ReturnType<typeof measured>>;
    try {
      await measured(unlimited.server, NESTED); // warm
      full = await measured(unlimited.server, NESTED);
      expect(full.res.errors).toBeUndefined();
      expect(full.res.data.runs.edges).toHaveLength(RUNS);
    } finally {
      await unlimited.server.stop();
    }
    await measured(server, NESTED); // warm
    const stopped = await measured(server, NESTED);
    const { res } = stopped;
    expect(res.data ?? null).toBeNull();
    expect(codes(res)).toEqual(['EXECUTION_TIMEOUT']);
    expect(res.errors?.[0]?.message).toContain('UET_EXECUTION_TIMEOUT_MS');
    expect(res.errors?.[0]?.extensions!.timeoutMs).toBe(TIMEOUT_MS);
    console.info(
      `[security] budget: without a time limit the query takes ${full.ms.toFixed(0)} ms and ${full.statements} statements; ` +
        `stopped at ${TIMEOUT_MS} ms it took ${stopped.ms.toFixed(0)} ms and ${stopped.statements} statements`,
    );
    expect(stopped.ms).toBeLessThan(full.ms);
    expect(stopped.statements).toBeLessThan(full.statements);
    const report = await underAttack(server, () => server.gql(NESTED));
    expect(codes(report.result)).toEqual(['EXECUTION_TIMEOUT']);
    expectBystanderServed(`budget: query past the ${TIMEOUT_MS} ms time limit (HTTP)`, report);
  });
});

describe('response and event size caps', () => {
  let server: TestServer;
  let runId: string;
  beforeAll(async () => {
    ({ server, runId } = await budgetServer({ maxResponseBytes: MAX_RESPONSE_BYTES, maxEventBytes: MAX_EVENT_BYTES }));
  }, 60_000);
  afterAll(() => server.stop());

  it(`a response over ${MAX_RESPONSE_BYTES} bytes is RESPONSE_TOO_LARGE, without its data`, async () => {
    const report = await underAttack(server, () => server.gql(NESTED));
    const res = report.result;
    expect(res.data ?? undefined).toBeUndefined();
    expect(codes(res)).toEqual(['RESPONSE_TOO_LARGE']);
    expect(res.errors?.[0]?.message).toContain('UET_MAX_RESPONSE_BYTES');
    expect(res.errors?.[0]?.extensions!.bytes).toBeGreaterThan(MAX_RESPONSE_BYTES);
    expectBystanderServed(`budget: response over ${MAX_RESPONSE_BYTES} bytes (HTTP)`, report);
    // A smaller page of the same is answered.
    const small = await server.gql(`query($r: ID!) { runEvents(runId: $r, first: 5) { edges { node { id kind } } } }`, { r: runId });
    expect(small.errors).toBeUndefined();
    expect(small.data.runEvents.edges).toHaveLength(5);
  });

  it(`a response that passes ${MAX_RESPONSE_BYTES} bytes while it is produced stops the work: fewer statements, RESPONSE_TOO_LARGE only`, async () => {
    // Without the cap, the same query issues this many statements (the meter off: nothing stops it).
    const uncapped = await budgetServer({ maxResponseBytes: 0 });
    let full: Awaited<ReturnType<typeof measured>>;
    try {
      await measured(uncapped.server, PAYLOADS); // warm
      full = await measured(uncapped.server, PAYLOADS);
      expect(full.res.errors).toBeUndefined();
      expect(Buffer.byteLength(JSON.stringify(full.res))).toBeGreaterThan(MAX_RESPONSE_BYTES);
    } finally {
      await uncapped.server.stop();
    }
    await measured(server, PAYLOADS); // warm
    const stopped = await measured(server, PAYLOADS);
    expect(stopped.res.data ?? undefined).toBeUndefined();
    expect(codes(stopped.res)).toEqual(['RESPONSE_TOO_LARGE']);
    expect(stopped.res.errors?.[0]?.message).toContain('at least');
    expect(stopped.res.errors?.[0]?.extensions!.bytes).toBeGreaterThan(MAX_RESPONSE_BYTES);
    console.info(
      `[security] budget: uncapped the payload query takes ${full.ms.toFixed(0)} ms and ${full.statements} statements; ` +
        `capped at ${MAX_RESPONSE_BYTES} bytes it took ${stopped.ms.toFixed(0)} ms and ${stopped.statements} statements`,
    );
    // The statements of the third level (steps, events) never start.
    expect(stopped.statements).toBeLessThanOrEqual(full.statements - 2);
    const report = await underAttack(server, () => server.gql(PAYLOADS));
    expect(codes(report.result)).toEqual(['RESPONSE_TOO_LARGE']);
    expectBystanderServed(`budget: response passing ${MAX_RESPONSE_BYTES} bytes while produced (HTTP)`, report);
  });

  it(`a response of exactly ${MAX_RESPONSE_BYTES} bytes is answered in full; one byte more is RESPONSE_TOO_LARGE`, async () => {
    const query = `query($r: ID!) { runEvents(runId: $r, first: 5) { edges { node { kind payload } } } }`;
    /** A run with one note of `length` characters, and the answer listing its events. */
    const answer = async (length: number) => {
      const run = await server.engine.runs.createRun({ projectId: 'budget', phaseId: 'p' });
      await server.engine.runs.addRunNote({ runId: run.id, message: 'x'.repeat(length) });
      return server.gql(query, { r: encodeGlobalId('Run', run.id) });
    };
    const small = await answer(100);
    expect(small.errors).toBeUndefined();
    const around = Buffer.byteLength(JSON.stringify(small)) - 100;
    const fits = await answer(MAX_RESPONSE_BYTES - around);
    expect(fits.errors).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(MAX_RESPONSE_BYTES);
    expect(fits.data.runEvents.edges.map((e: { node: { kind: string } }) => e.node.kind)).toContain('NOTE');
    const over = await answer(MAX_RESPONSE_BYTES - around + 1);
    expect(over.data ?? undefined).toBeUndefined();
    expect(codes(over)).toEqual(['RESPONSE_TOO_LARGE']);
    expect(over.errors?.[0]?.extensions!.bytes).toBe(MAX_RESPONSE_BYTES + 1);
  });

  it('a response of short values under long aliases is still measured: over the cap, RESPONSE_TOO_LARGE', async () => {
    // Nothing here is metered (enums, dates): the bound on them counts the longest key, or 12,000 bytes of keys would pass as ~5,000.
    const alias = (name: string) => `${name}${'_'.repeat(200)}`;
    const query = `{ runs(first: ${RUNS}) { edges { node { ${alias('a')}: state ${alias('b')}: createdAt } } } }`;
    const res = await server.gql(query);
    expect(res.data ?? undefined).toBeUndefined();
    expect(codes(res)).toEqual(['RESPONSE_TOO_LARGE']);
    expect(res.errors?.[0]?.extensions!.bytes).toBeGreaterThan(MAX_RESPONSE_BYTES);
  });

  /** A live subscription over one transport: the results so far, and how to end it. */
  const TRANSPORTS = [
    {
      transport: 'graphql-ws',
      open: (query: string, variables: Record<string, unknown>) => {
        const client = server.wsClient();
        const sub = subscribe(client, query, variables);
        return { results: sub.results, stop: () => (sub.stop(), client.dispose()) };
      },
    },
    {
      transport: 'SSE',
      open: (query: string, variables: Record<string, unknown>) => {
        const client = createSseClient({ url: server.url, headers: { authorization: `Bearer ${ADMIN_SECRET}` }, retryAttempts: 0 });
        const results: GraphQLResponse[] = [];
        const stop = client.subscribe({ query, variables }, { next: (value) => results.push(value as GraphQLResponse), error: () => {}, complete: () => {} });
        return { results, stop: () => (stop(), client.dispose()) };
      },
    },
  ];

  it.each(TRANSPORTS)(`over $transport: a subscription event over ${MAX_EVENT_BYTES} bytes arrives as RESPONSE_TOO_LARGE; the stream goes on`, async ({ open }) => {
    const streams = server.engine.openStreams();
    const sub = open(`subscription($r: ID!) { runEvents(runId: $r) { kind payload } }`, { r: runId });
    try {
      await until(() => server.engine.openStreams() === streams + 1, 'the subscription to be live');
      const run = Buffer.from(runId, 'base64url').toString().split(':')[1]!;
      await server.engine.runs.addRunNote({ runId: run, message: 'x'.repeat(MAX_EVENT_BYTES * 2) });
      await server.engine.runs.addRunNote({ runId: run, message: 'after' });
      await until(() => sub.results.length >= 2, 'two events');
      const [large, after] = sub.results as [GraphQLResponse, GraphQLResponse]; // two or more, awaited above
      expect(large.data ?? undefined).toBeUndefined();
      expect(codes(large)).toEqual(['RESPONSE_TOO_LARGE']);
      expect(large.errors?.[0]?.message).toContain('UET_MAX_EVENT_BYTES');
      expect(after.errors).toBeUndefined();
      expect(JSON.stringify(after.data.runEvents.payload)).toContain('after');
    } finally {
      await sub.stop();
    }
    await until(() => server.engine.openStreams() === streams, 'the subscription to end');
  });
});

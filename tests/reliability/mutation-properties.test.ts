/**
 * Property tests for every mutation of the schema (the list is read from the
 * schema itself, so a new mutation is covered without touching this file):
 * hostile inputs built by walking each mutation's input types, sent as
 * variables and written inline in the document, and random sequences of
 * plausible mutations on a few entities. Every answer must be HTTP 200 with
 * data or errors whose every code is documented (hostile.ts), never
 * INTERNAL_SERVER_ERROR, within 10 s; the server logs no error, no promise
 * goes unhandled, and the invariants of docs/domain.md#invariants hold in
 * the database afterwards (domain-invariants.ts). Two answers other than 200 are allowed and counted:
 * 413 over the body limit, and 400 for variables that fail coercion (what
 * graphql-tools' executor answers whatever the Accept header).
 */
import fc from 'fast-check';
import { getNamedType, type GraphQLArgument, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql.js';
import { ADMIN_SECRET, startTestServer, type TestServer } from '../helpers/server.js';
import { checkDomainInvariants } from './domain-invariants.js';
import { FIXTURE_DIFFS, IdPool, OMIT, Ref, VALID_CONTRACTS, fieldArb, literal, resolveRefs, selection, type ArbContext } from './graphql-arbitraries.js';
import { Tally, badCodes, documentedCodes, errorLogLines, jsonText, postGraphQL } from './hostile.js';
import { FULL, size } from './mode.js';

const MUTATIONS = Object.values(schema.getMutationType()!.getFields()) as GraphQLField<unknown, unknown>[];
const ALLOWED = documentedCodes();
/** A request that takes longer than this is a hang (or an event loop blocked by one input). */
const SLOW_MS = 10_000;
/** The test server's body limit: raised from 1 MiB so that 1 MB strings reach the resolvers (below Yoga's own 25 MB). */
const MAX_BODY = 20_000_000;

const RUNS_PER_MUTATION = size(3, 60);
const SEQUENCES = size(12, 250);
const SEQUENCE_LENGTH = size(12, 40);

let server: TestServer;
const pool = new IdPool();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

const stats = {
  requests: 0,
  variables: 0,
  inline: 0,
  withData: 0,
  status413: 0,
  oversizeNotSent: 0,
  coercion400: 0,
  slowestMs: 0,
  invariantChecks: 0,
  codes: new Tally(),
  /** mutation:code (or ok) of the plausible sequences. */
  sequenceOutcomes: new Tally(),
};

/** The document of one mutation, with its arguments as variables or written inline. */
function documentFor(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>, inline: boolean): { query: string; variables?: Record<string, unknown> } {
  const sel = selection(getNamedType(field.type), 2);
  if (inline) {
    const written = field.args.filter((a) => a.name in args).map((a) => `${a.name}: ${literal(args[a.name], a.type)}`);
    return { query: `mutation { ${field.name}${written.length ? `(${written.join(', ')})` : ''} { ${sel} } }` };
  }
  const declared = field.args.map((a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`);
  const passed = field.args.map((a) => `${a.name}: $${a.name}`);
  return {
    query: `mutation${declared.length ? `(${declared.join(', ')})` : ''} { ${field.name}${passed.length ? `(${passed.join(', ')})` : ''} { ${sel} } }`,
    variables: args,
  };
}

/** The arguments of a mutation: each argument's value, OMIT left out. */
function argsArb(field: GraphQLField<unknown, unknown>, ctx: ArbContext): fc.Arbitrary<Record<string, unknown>> {
  const entries = field.args.map((a) => fieldArb(a.type, a.name, ctx).map((v) => [a.name, v] as const));
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== OMIT)));
}

/** Sends one mutation and returns what is wrong with the answer (nothing, if all is well). */
async function send(field: GraphQLField<unknown, unknown>, rawArgs: Record<string, unknown>, inline: boolean): Promise<{ problems: string[]; json: any }> {
  const args = Object.fromEntries(Object.entries(rawArgs).map(([k, v]) => [k, resolveRefs(v, field.args.find((a) => a.name === k)!.type, pool)]));
  const body = jsonText(documentFor(field, args, inline));
  // Over the body limit the server answers 413 and closes while the client may still be writing (ECONNRESET):
  // not sent; the limit itself is fuzz-protocol's.
  if (Buffer.byteLength(body) > MAX_BODY) {
    stats.oversizeNotSent += 1;
    return { problems: [], json: undefined };
  }
  const logFrom = server.logs.length;
  const started = Date.now();
  stats.requests += 1;
  stats[inline ? 'inline' : 'variables'] += 1;
  const res = await postGraphQL(server, body, { token: ADMIN_SECRET });
  const ms = Date.now() - started;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  const problems: string[] = [];
  const errors: any[] = Array.isArray(res.json?.errors) ? res.json.errors : [];
  for (const e of errors) stats.codes.add(String(e?.extensions?.code));
  if (res.status === 413) {
    stats.status413 += 1;
    if (!['PAYLOAD_TOO_LARGE', 'REQUEST_ENTITY_TOO_LARGE'].includes(errors[0]?.extensions?.code)) problems.push(`413 without PAYLOAD_TOO_LARGE: ${res.text.slice(0, 200)}`);
  } else if (res.status === 400 && !inline && !('data' in (res.json ?? {})) && errors.length > 0 && errors.every((e) => e?.extensions?.code === 'BAD_USER_INPUT')) {
    // Variables that fail coercion (a required one missing or null): @graphql-tools/executor answers 400
    // whatever the Accept header (the GraphQL-over-HTTP spec says SHOULD be 200 for application/json).
    stats.coercion400 += 1;
  } else if (res.status !== 200) {
    problems.push(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  }
  if (res.json === undefined) problems.push(`not JSON: ${res.text.slice(0, 200)}`);
  else if (res.status !== 413 && !('data' in res.json) && errors.length === 0) problems.push(`neither data nor errors: ${res.text.slice(0, 200)}`);
  problems.push(...badCodes(res.json, ALLOWED));
  if (res.json?.data?.[field.name]) {
    stats.withData += 1;
    pool.collect(res.json.data);
  }
  if (ms > SLOW_MS) problems.push(`answered after ${ms} ms`);
  problems.push(...errorLogLines(server, logFrom).map((line) => `logged: ${line.slice(0, 300)}`));
  return { problems, json: res.json };
}

/** A short description of arguments for a failure message (huge strings cut). */
function show(args: unknown): string {
  const text = jsonText(args);
  return text.length > 1500 ? `${text.slice(0, 1500)}...(${text.length} characters)` : text;
}

async function assertInvariants(when: string): Promise<void> {
  stats.invariantChecks += 1;
  const report = await checkDomainInvariants(server.engine.orm);
  expect(report.violations, `domain invariants ${when}`).toEqual([]);
}

/** A plain request (no generated input) held to the same property; ids it returns join the pool. */
async function checked(query: string, variables?: Record<string, unknown>): Promise<any> {
  const logFrom = server.logs.length;
  stats.requests += 1;
  const res = await postGraphQL(server, { query, variables }, { token: ADMIN_SECRET });
  const problems = [...badCodes(res.json, ALLOWED), ...errorLogLines(server, logFrom).map((line) => `logged: ${line.slice(0, 300)}`)];
  if (res.status !== 200 || res.json === undefined) problems.push(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  if (problems.length > 0) throw new Error(`${query.slice(0, 80)}\n${problems.join('\n')}`);
  if (res.json.data) pool.collect(res.json.data);
  return res.json;
}

let scenes = 0;
/**
 * A fresh entity of every kind, in a project of its own (a budget the
 * sequences set cannot stop it): a RUNNING run with a step, a patch, a gate
 * and a task; a worker; a workstream. Refusals are allowed (a run budget may
 * halt the run), errors outside the documented codes are not.
 */
async function createScene(): Promise<void> {
  scenes += 1;
  const project = `scene-${scenes}`;
  await checked(`mutation($p: String!) { createRun(input: {projectId: $p, phaseId: "phase-1"}) { run { __typename id } } }`, { p: project });
  const running = pool.resolve(new Ref('Run', 0));
  await checked(`mutation($id: ID!) { startRun(input: {id: $id}) { run { __typename id } } }`, { id: running });
  await checked(`mutation($id: ID!) { startStep(input: {runId: $id, toolId: "codex"}) { step { __typename id } } }`, { id: running });
  await checked(
    `mutation($id: ID!, $p: String!, $d: String!) { createPatch(input: {runId: $id, projectId: $p, targetRepo: "r", diffText: $d}) { ledgerEntry { __typename id } patch { __typename id } } }`,
    {
      id: running,
      p: project,
      d: FIXTURE_DIFFS[scenes % FIXTURE_DIFFS.length],
    },
  );
  await checked(`mutation($id: ID!) { createTestGate(input: {runId: $id, name: "unit", type: UNIT_TESTS}) { gate { __typename id } } }`, { id: running });
  await checked(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 2}}) { worker { __typename id } } }`);
  await checked(`mutation($id: ID!) { createTask(input: {kind: "build", runId: $id}) { task { __typename id } } }`, { id: running });
  await checked(`mutation($spec: JSON!) { submitWorkstream(input: {spec: $spec}) { workstream { __typename id run { __typename id } tasks { __typename id } } } }`, {
    spec: { ...(VALID_CONTRACTS.workstream_spec as object), project_id: project, workstream_id: `ws-${project}` },
  });
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startTestServer({
    // Off: the properties are about the answers, not the budget (which would refuse most of them).
    // The body limit is raised so that 1 MB strings reach the resolvers.
    limits: { mutationsPerMinute: 0, heartbeatsPerMinute: 0, maxBodyBytes: MAX_BODY },
  });
  await createScene();
  await checked(`mutation { createApiToken(input: {name: "fuzz", scopes: [READ]}) { apiToken { __typename id } } }`);
  await assertInvariants('after seeding');
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  console.log(
    `[mutation-properties] mode=${FULL ? 'full' : 'short'} mutations=${MUTATIONS.length} hostile-runs=${MUTATIONS.length * RUNS_PER_MUTATION} ` +
      `sequences=${SEQUENCES}x${SEQUENCE_LENGTH} requests=${stats.requests} (variables=${stats.variables} inline=${stats.inline}) ` +
      `answered-with-data=${stats.withData} http413=${stats.status413} over-20MB-not-sent=${stats.oversizeNotSent} http400-variable-coercion=${stats.coercion400} slowest=${stats.slowestMs}ms invariant-checks=${stats.invariantChecks} ` +
      `ids-pooled=${pool.size()} codes: ${stats.codes}`,
  );
  console.log(`[mutation-properties] sequence outcomes: ${stats.sequenceOutcomes}`);
  await server?.stop();
});

describe('every mutation, whatever its input', () => {
  it('covers every mutation of the schema, with documents inside the limits', async () => {
    expect(MUTATIONS.length).toBeGreaterThan(30);
    console.log(`[mutation-properties] documented codes: ${[...ALLOWED].sort().join(' ')}`);
    // A document refused for its size would make every property below pass for nothing.
    for (const field of MUTATIONS) {
      const { query } = documentFor(field, {}, false);
      const res = await postGraphQL(server, { query, variables: {} }, { token: ADMIN_SECRET });
      const codes = (res.json?.errors ?? []).map((e: any) => e.extensions?.code);
      expect(codes, `${field.name}: ${res.text.slice(0, 300)}`).toEqual(codes.map(() => 'BAD_USER_INPUT'));
    }
  });

  it.each(MUTATIONS.map((f) => [f.name, f] as const))(
    '%s: hostile input gets data or a documented error',
    async (_name, field) => {
      const ctx: ArbContext = { mutation: field.name, hostile: true };
      await fc.assert(
        fc.asyncProperty(argsArb(field, ctx), fc.boolean(), async (args, inline) => {
          const { problems } = await send(field, args, inline);
          if (problems.length > 0) throw new Error(`${field.name} ${inline ? 'inline' : 'variables'} ${show(args)}\n${problems.join('\n')}`);
        }),
        { numRuns: RUNS_PER_MUTATION, interruptAfterTimeLimit: size(60_000, 600_000) },
      );
    },
    size(120_000, 1_200_000),
  );

  it('invariants hold after the hostile inputs, and no promise went unhandled', async () => {
    await assertInvariants('after the hostile inputs');
    expect(unhandled).toEqual([]);
  });
});

describe('inputs that once broke a mutation', () => {
  it('huge Decimals are refused at once; NUL characters are stored whole; huge seconds break no task or worker', async () => {
    const timed = async (query: string, variables: Record<string, unknown>) => {
      const started = Date.now();
      const json = await checked(query, variables);
      return { json, ms: Date.now() - started };
    };
    const created = await checked(`mutation { createRun(input: {projectId: "regressions", phaseId: "phase-1"}) { run { __typename id } } }`);
    const run = created.data.createRun.run.id as string;
    await checked(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: run });
    // parseDecimal computed 10n ** 999999999n (about 90 s, then a RangeError: INTERNAL_SERVER_ERROR), and stripped
    // trailing zeros one bigint division at a time (seconds for 100,000 of them).
    const cost = `mutation($input: RecordCostInput!) { recordCost(input: $input) { cost { id } } }`;
    for (const [amount, code] of [
      ['1e999999999', 'BAD_USER_INPUT'],
      ['1e99999999', 'BAD_USER_INPUT'],
      // 1, written with 100,000 trailing zeros: 7.6 s of bigint divisions before.
      [`1${'0'.repeat(100_000)}e-100000`, undefined],
    ] as const) {
      const { json, ms } = await timed(cost, { input: { runId: run, currency: 'USD', resourceType: 'API_CALL', amount } });
      expect(json.errors?.[0]?.extensions?.code, amount.slice(0, 20)).toBe(code);
      expect(ms, amount.slice(0, 20)).toBeLessThan(2_000);
    }
    const usage = await timed(cost, { input: { runId: run, currency: 'USD', resourceType: 'API_CALL', usage: { quantity: '1e999999999', rate: '0', unit: 'tokens' } } });
    expect(usage.json.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(usage.ms).toBeLessThan(2_000);
    // MikroORM writes parameters into the SQL text and SQLite stops reading it at a NUL: every string with U+0000
    // (a tool's error log included) was an INTERNAL_SERVER_ERROR, on writes and on filtered reads alike.
    const note = await checked(`mutation($id: ID!, $m: String!) { addRunNote(input: {runId: $id, message: $m}) { event { payload } } }`, { id: run, m: 'a\u0000b' });
    expect(note.data?.addRunNote?.event?.payload?.message).toBe('a\u0000b');
    const step = await checked(`mutation($id: ID!) { startStep(input: {runId: $id, toolId: "codex", inputPrompt: "\\u0000"}) { step { id inputPrompt } } }`, { id: run });
    expect(step.data?.startStep?.step?.inputPrompt).toBe('\u0000');
    const log = '\u0000'.repeat(100_000);
    const done = await checked(`mutation($id: ID!, $log: String) { completeStep(input: {id: $id, state: FAILED, errorLog: $log}) { step { errorLog } } }`, { id: step.data.startStep.step.id, log });
    expect(done.data?.completeStep?.step?.errorLog).toBe(log);
    const filtered = await checked(`{ runs(filter: {projectId: "a\\u0000b"}) { totalCount } }`);
    expect(filtered.data?.runs?.totalCount).toBe(0);
    // A task with timeoutSeconds 1e300 got an invalid deadline on every lease: each claim of it failed (internal error)
    // for good. A worker reporting executionTimeSeconds 1e308 twice made its total Infinity: a failed write.
    const task = await checked(`mutation { createTask(input: {kind: "poison", timeoutSeconds: 1e300}) { task { __typename id } } }`);
    expect(task.data?.createTask?.task?.id).toBeTruthy();
    const worker = (await checked(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { __typename id } } }`)).data.registerWorker.worker.id;
    const claim = await checked(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["poison"]}) { task { id state } } }`, { w: worker });
    expect(claim.data?.claimTask?.task).toEqual({ id: task.data.createTask.task.id, state: 'RUNNING' });
    const huge = await checked(`mutation($w: ID!) { completeTask(input: {workerId: $w, success: true, executionTimeSeconds: 1e308}) { task { state } } }`, { w: worker });
    expect(huge.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const completed = await checked(`mutation($w: ID!) { completeTask(input: {workerId: $w, success: true, executionTimeSeconds: 1e9}) { task { state } } }`, { w: worker });
    expect(completed.data?.completeTask?.task?.state).toBe('COMPLETED');
    await assertInvariants('after the regression inputs');
  });
});

describe('random sequences of plausible mutations on a few entities', () => {
  /** Runs, steps, patches, gates, workers and tasks: the state machines. */
  const STATEFUL = MUTATIONS.filter((f) => !['createApiToken', 'revokeApiToken', 'setRouterConfig', 'setPatchPolicy'].includes(f.name));
  const command = fc.oneof(...STATEFUL.map((field) => fc.tuple(fc.constant(field.name), argsArb(field, { mutation: field.name, hostile: false }), fc.boolean())));

  it(
    'every answer is data or a documented error, and the domain invariants hold after each sequence',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 3, maxLength: SEQUENCE_LENGTH }), async (commands) => {
          await createScene();
          for (const [name, args, inline] of commands) {
            const field = MUTATIONS.find((f) => f.name === name)!;
            const { problems, json } = await send(field, args, inline);
            const codes = (json?.errors ?? []).map((e: any) => e?.extensions?.code);
            stats.sequenceOutcomes.add(`${field.name}:${codes.length ? codes.join('+') : 'ok'}`);
            if (problems.length > 0) throw new Error(`${field.name} ${show(args)}\n${problems.join('\n')}`);
          }
          const report = await checkDomainInvariants(server.engine.orm);
          stats.invariantChecks += 1;
          if (report.violations.length > 0) {
            throw new Error(`after ${commands.map(([name]) => name).join(', ')}:\n${report.violations.join('\n')}`);
          }
        }),
        { numRuns: SEQUENCES, interruptAfterTimeLimit: size(90_000, 1_500_000) },
      );
      expect(unhandled).toEqual([]);
      // Not a vacuous pass: plenty of the plausible mutations were carried out.
      expect(stats.withData).toBeGreaterThan(SEQUENCES);
    },
    size(150_000, 1_800_000),
  );
});

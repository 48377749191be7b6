import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRun, startTestServer, type TestServer } from '../helpers/server.js';
import { onPostgres } from '../helpers/database.js';

let server: TestServer;
/** A RUNNING run with one RUNNING step (so a missing check would write), and ids that name nothing. */
const f = { runId: '', stepId: '', unknownRunId: '', unknownStepId: '' };
type Fixtures = typeof f;

const OTHER_ULID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
const decode = (id: string) => Buffer.from(id, 'base64url').toString('utf8');
const encode = (text: string) => Buffer.from(text).toString('base64url');

beforeAll(async () => {
  server = await startTestServer();
  f.runId = await createRun(server);
  await server.gql(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: f.runId });
  const step = await server.gql(`mutation($id: ID!) { startStep(input: {runId: $id, toolId: "codex"}) { step { id } } }`, { id: f.runId });
  f.stepId = step.data.startStep.step.id;
  f.unknownRunId = encode(`Run:${OTHER_ULID}`);
  f.unknownStepId = encode(`StepAttempt:${OTHER_ULID}`);
});
afterAll(() => server.stop());

const rows = (entity: 'Run' | 'StepAttempt' | 'RunEvent') => server.engine.orm.em.fork().count(entity, {});
const counts = async () => ({ runs: await rows('Run'), steps: await rows('StepAttempt'), events: await rows('RunEvent') });

interface Case {
  name: string;
  query: string;
  vars?: (f: Fixtures) => Record<string, unknown>;
  code: string;
  field?: string;
}

const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) { run { id } } }`;
const QUARANTINE = `mutation($input: QuarantineRunInput!) { quarantineRun(input: $input) { run { id } } }`;
const createWith = (input: Record<string, unknown>) => () => ({ input: { projectId: 'proj-1', phaseId: 'phase-1', ...input } });

/** Every operation that takes a Run id, as $id (errors name it `runId` where the input calls it that). */
const RUN_ID_OPS: Record<string, string> = {
  startRun: `mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`,
  cancelRun: `mutation($id: ID!) { cancelRun(input: {id: $id}) { run { id } } }`,
  completeRun: `mutation($id: ID!) { completeRun(input: {id: $id, state: SUCCEEDED}) { run { id } } }`,
  quarantineRun: `mutation($id: ID!) { quarantineRun(input: {id: $id, reason: "flaky"}) { run { id } } }`,
  startStep: `mutation($id: ID!) { startStep(input: {runId: $id, toolId: "codex"}) { step { id } } }`,
  addRunNote: `mutation($id: ID!) { addRunNote(input: {runId: $id, message: "hi"}) { event { id } } }`,
  runEvents: `query($id: ID!) { runEvents(runId: $id) { totalCount } }`,
};
const COMPLETE_STEP = `mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { id } } }`;
const RUN_BY_ID = `query($id: ID!) { run(id: $id) { id } }`;

const CASES: Case[] = [
  // Enum values
  { name: 'unknown enum value inline', query: `{ runs(filter: {states: [NOPE]}) { totalCount } }`, code: 'BAD_USER_INPUT' },
  {
    name: 'unknown enum value via variables',
    query: `query($states: [RunState!]) { runs(filter: {states: $states}) { totalCount } }`,
    vars: () => ({ states: ['NOPE'] }),
    code: 'BAD_USER_INPUT',
  },
  // Required fields
  { name: 'createRun without phaseId inline', query: `mutation { createRun(input: {projectId: "p"}) { run { id } } }`, code: 'BAD_USER_INPUT' },
  { name: 'createRun without phaseId via variables', query: CREATE_RUN, vars: () => ({ input: { projectId: 'p' } }), code: 'BAD_USER_INPUT' },
  { name: 'quarantineRun without reason inline', query: `mutation($id: ID!) { quarantineRun(input: {id: $id}) { run { id } } }`, vars: (f) => ({ id: f.runId }), code: 'BAD_USER_INPUT' },
  { name: 'quarantineRun without reason via variables', query: QUARANTINE, vars: (f) => ({ input: { id: f.runId } }), code: 'BAD_USER_INPUT' },
  { name: 'quarantineRun with reason ""', query: QUARANTINE, vars: (f) => ({ input: { id: f.runId, reason: '' } }), code: 'BAD_USER_INPUT', field: 'reason' },
  { name: 'quarantineRun with reason "   "', query: QUARANTINE, vars: (f) => ({ input: { id: f.runId, reason: '   ' } }), code: 'BAD_USER_INPUT', field: 'reason' },
  // Values the engine checks
  { name: 'createRun with projectId ""', query: CREATE_RUN, vars: createWith({ projectId: '' }), code: 'BAD_USER_INPUT', field: 'projectId' },
  {
    name: 'createRun with metadata [1,2] inline',
    query: `mutation { createRun(input: {projectId: "p", phaseId: "f", metadata: [1, 2]}) { run { id } } }`,
    code: 'BAD_USER_INPUT',
    field: 'metadata',
  },
  { name: 'createRun with metadata "x"', query: CREATE_RUN, vars: createWith({ metadata: 'x' }), code: 'BAD_USER_INPUT', field: 'metadata' },
  { name: 'createRun with origin trigger_type "bogus"', query: CREATE_RUN, vars: createWith({ origin: { trigger_type: 'bogus' } }), code: 'BAD_USER_INPUT', field: 'origin' },
  {
    name: 'createRun with an extra origin property',
    query: CREATE_RUN,
    vars: createWith({ origin: { trigger_type: 'manual', extra: 1 } }),
    code: 'BAD_USER_INPUT',
    field: 'origin',
  },
  // Ids: unknown, malformed, of the wrong type
  ...Object.entries(RUN_ID_OPS).flatMap(([op, query]): Case[] => {
    const field = query.includes('runId: $id') ? 'runId' : 'id';
    return [
      { name: `${op} with an unknown Run id`, query, vars: (f) => ({ id: f.unknownRunId }), code: 'NOT_FOUND' },
      { name: `${op} with a malformed id`, query, vars: () => ({ id: 'abc' }), code: 'BAD_USER_INPUT', field },
      { name: `${op} with a StepAttempt id`, query, vars: (f) => ({ id: f.stepId }), code: 'BAD_USER_INPUT', field },
    ];
  }),
  { name: 'completeStep with an unknown StepAttempt id', query: COMPLETE_STEP, vars: (f) => ({ id: f.unknownStepId }), code: 'NOT_FOUND' },
  { name: 'completeStep with a malformed id', query: COMPLETE_STEP, vars: () => ({ id: 'abc' }), code: 'BAD_USER_INPUT', field: 'id' },
  { name: 'completeStep with a Run id', query: COMPLETE_STEP, vars: (f) => ({ id: f.runId }), code: 'BAD_USER_INPUT', field: 'id' },
  { name: 'run(id:) with a malformed id', query: RUN_BY_ID, vars: () => ({ id: 'abc' }), code: 'BAD_USER_INPUT', field: 'id' },
  { name: 'run(id:) with a StepAttempt id', query: RUN_BY_ID, vars: (f) => ({ id: f.stepId }), code: 'BAD_USER_INPUT', field: 'id' },
  // Paging
  { name: 'runs(first: 101)', query: `{ runs(first: 101) { totalCount } }`, code: 'BAD_USER_INPUT', field: 'first' },
  { name: 'runs(last: 1000)', query: `{ runs(last: 1000) { totalCount } }`, code: 'BAD_USER_INPUT', field: 'last' },
  { name: 'runs(first: -1)', query: `{ runs(first: -1) { totalCount } }`, code: 'BAD_USER_INPUT', field: 'first' },
  { name: 'runs(first + last)', query: `{ runs(first: 1, last: 1) { totalCount } }`, code: 'BAD_USER_INPUT' },
  { name: 'runs(after: "zzz")', query: `{ runs(after: "zzz") { totalCount } }`, code: 'BAD_USER_INPUT', field: 'after' },
  { name: 'runEvents(first: 500)', query: `query($id: ID!) { runEvents(runId: $id, first: 500) { totalCount } }`, vars: (f) => ({ id: f.runId }), code: 'BAD_USER_INPUT', field: 'first' },
  { name: 'runEvents(first: -1)', query: `query($id: ID!) { runEvents(runId: $id, first: -1) { totalCount } }`, vars: (f) => ({ id: f.runId }), code: 'BAD_USER_INPUT', field: 'first' },
  { name: 'runEvents(after: "zzz")', query: `query($id: ID!) { runEvents(runId: $id, after: "zzz") { totalCount } }`, vars: (f) => ({ id: f.runId }), code: 'BAD_USER_INPUT', field: 'after' },
  { name: 'run.steps(first: 101)', query: `query($id: ID!) { run(id: $id) { steps(first: 101) { totalCount } } }`, vars: (f) => ({ id: f.runId }), code: 'BAD_USER_INPUT', field: 'first' },
  // Scalars
  { name: 'createdAfter "yesterday" inline', query: `{ runs(filter: {createdAfter: "yesterday"}) { totalCount } }`, code: 'BAD_USER_INPUT' },
  {
    name: 'createdAfter "yesterday" via variables',
    query: `query($filter: RunFilter) { runs(filter: $filter) { totalCount } }`,
    vars: () => ({ filter: { createdAfter: 'yesterday' } }),
    code: 'BAD_USER_INPUT',
  },
  // The document itself
  { name: 'a syntax error', query: `{ runs(first: 1) { totalCount }`, code: 'GRAPHQL_PARSE_FAILED' },
  { name: 'an unknown field', query: `{ runs(first: 1) { nope } }`, code: 'GRAPHQL_VALIDATION_FAILED' },
];

describe('bad input gets the right code and writes nothing', () => {
  it('ids are base64url of "Type:ULID", and the fixtures are in a state a missing check would change', async () => {
    expect(decode(f.runId)).toMatch(/^Run:[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decode(f.stepId)).toMatch(/^StepAttempt:[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(decode(f.unknownRunId)).not.toBe(decode(f.runId));
    const res = await server.gql(`query($id: ID!) { run(id: $id) { state steps { edges { node { id state } } } } }`, { id: f.runId });
    expect(res.data.run).toEqual({ state: 'RUNNING', steps: { edges: [{ node: { id: f.stepId, state: 'RUNNING' } }] } });
  });

  it.each(CASES)('$name -> $code', async ({ query, vars, code, field }) => {
    const before = await counts();
    const res = await server.gql(query, vars?.(f));
    expect(res.errors, JSON.stringify(res)).toBeDefined();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code, ...(field ? { field } : {}) });
    expect(await counts()).toEqual(before);
    const health = await server.gql(`{ runs(first: 1) { totalCount } }`);
    expect(health).toEqual({ data: { runs: { totalCount: before.runs } } });
  });

  it('run(id:) with a well-formed unknown Run id is null, without an error', async () => {
    expect(await server.gql(RUN_BY_ID, { id: f.unknownRunId })).toEqual({ data: { run: null } });
  });
});

describe('text holding a NUL character (U+0000)', () => {
  const create = `mutation($i: CreateRunInput!) { createRun(input: $i) { run { id projectId metadata } } }`;
  const input = { projectId: 'nul\u0000project', phaseId: 'p', metadata: { note: 'a\u0000b' } };

  // SQLite stores such text whole (db/nul-safe-sql.ts); PostgreSQL cannot store it at all (core/unstorable-text.ts).
  it(`is ${onPostgres ? 'refused with BAD_USER_INPUT on PostgreSQL, in a write or a filter, writing nothing' : 'stored whole on SQLite'}`, async () => {
    if (!onPostgres) {
      const res = await server.gql(create, { i: input });
      expect(res.errors).toBeUndefined();
      expect(res.data.createRun.run).toMatchObject({ projectId: input.projectId, metadata: input.metadata });
      return;
    }
    const before = await counts();
    const write = await server.gql(create, { i: input });
    expect(write.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const keyOnly = await server.gql(create, { i: { projectId: 'p', phaseId: 'p', metadata: { 'k\u0000': 1 } } });
    expect(keyOnly.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const read = await server.gql(`query($p: String!) { runs(filter: {projectId: $p}) { totalCount } }`, { p: 'nul\u0000' });
    expect(read.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(await counts()).toEqual(before);
    // The connection that saw the refusal still serves.
    expect((await server.gql(create, { i: { projectId: 'after-nul', phaseId: 'p' } })).errors).toBeUndefined();
  });
});

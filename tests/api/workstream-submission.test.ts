import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunSchema, RunEventSchema, TaskSchema } from '../../src/engine/runs/entities.js';
import { WorkstreamSchema } from '../../src/engine/workstreams/entities.js';
import { codes, startTestServer, type TestServer } from '../helpers/server.js';

// Hand-written contracts through the real API (issue 18): the examples/ minimal documents, defaults, named errors, and a workstream_id submitted twice.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0 } });
});
afterAll(() => server.stop());

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../examples/${name}.v1.json`, import.meta.url), 'utf8'));
const SUBMIT = `mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { id workstreamId maxParallel errorStrategy spec run { id }
  tasks { specTaskId maxAttempts } } } }`;
const SET_CONFIG = `mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version config } } }`;

const rowCounts = async () => {
  const em = server.engine.orm.em.fork();
  return { workstreams: await em.count(WorkstreamSchema, {}), runs: await em.count(RunSchema, {}), tasks: await em.count(TaskSchema, {}), events: await em.count(RunEventSchema, {}) };
};

describe('hand-written contracts over the API', () => {
  it('takes the minimal router_config example and puts the full form in force', async () => {
    const { routerConfig } = (await server.ok(SET_CONFIG, { c: example('router_config') })).setRouterConfig;
    expect(routerConfig.version).toBe('1');
    expect(routerConfig.config).toEqual({
      version: 1,
      apps: {
        aider: { command: 'aider --yes', capabilities: { task_kinds: ['code_edit'], domains: [] }, limits: { max_parallel: 4, timeout_seconds: 600 } },
        ruff: { command: 'ruff check', capabilities: { task_kinds: ['lint'], domains: [] }, limits: { max_parallel: 4, timeout_seconds: 600 } },
      },
      routing: { rules: [] },
      defaults: { max_attempts: 3, timeout_seconds: 600, strategy: 'auto' },
    });
    expect((await server.ok(`{ tools { id } }`)).tools.map((t: { id: string }) => t.id)).toEqual(['aider', 'ruff']);
  });

  it('takes the minimal workstream_spec example and stores the spec with its defaults filled in', async () => {
    const ws = (await server.ok(SUBMIT, { s: example('workstream_spec') })).submitWorkstream.workstream;
    expect(ws).toMatchObject({
      workstreamId: 'ws-first-hour',
      maxParallel: 4,
      errorStrategy: 'fail_fast',
      tasks: [
        { specTaskId: 'fix', maxAttempts: 3 },
        { specTaskId: 'lint', maxAttempts: 3 },
      ],
    });
    expect(ws.spec).toMatchObject({ tags: [], concurrency: { max_parallel: 4 }, resource_scope: { read: ['**'], write: ['**'], create: ['**'], forbidden: [] } });
    expect(ws.spec.tasks[1]).toEqual({
      task_id: 'lint',
      name: 'Lint the change',
      kind: 'lint',
      depends_on: ['fix'],
      allow_parallel: true,
      classification: { complexity: 'medium', risk_tier: 'medium' },
      execution: { max_attempts: 3, timeout_seconds: 600, retry_strategy: 'exponential', background: false },
      error_handling: { on_failure: 'skip_dependents' },
      acceptance: { checks: [] },
    });
    // The stored form is what strict validation (validateDocument) accepts.
    const check = await server.ok(`query($d: JSON!) { validateDocument(contract: "workstream_spec", document: $d) { valid errors { path message } } }`, { d: ws.spec });
    expect(check.validateDocument).toEqual({ valid: true, errors: [] });
  });

  it('names an unknown property (with the likely typo), an enum with its allowed values, and writes nothing', async () => {
    const spec = example('workstream_spec');
    spec.workstream_id = 'ws-typo';
    spec.tasks[0].alow_parallel = false;
    spec.error_handling = { strategy: 'stop' };
    const before = await rowCounts();
    const res = await server.gql(SUBMIT, { s: spec });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0]!.extensions).toMatchObject({
      field: 'spec',
      errors: [
        { path: '/error_handling/strategy', message: 'must be one of "fail_fast", "continue"' },
        { path: '/tasks/0', message: 'unknown property "alow_parallel" (did you mean "allow_parallel"?)' },
      ],
    });
    expect(await rowCounts()).toEqual(before);
  });

  describe('the same workstream_id twice', () => {
    const spec = () => ({ ...example('workstream_spec'), workstream_id: 'ws-twice', project_id: 'twice' });

    it('the same spec returns the existing workstream and run, with no new rows or events, whatever its key order or spelled-out defaults', async () => {
      const first = (await server.ok(SUBMIT, { s: spec() })).submitWorkstream.workstream;
      const before = await rowCounts();
      const again = (await server.ok(SUBMIT, { s: spec() })).submitWorkstream.workstream;
      const original = spec();
      const reordered = Object.fromEntries(Object.entries({ ...original, tags: [], tasks: original.tasks.map((t: object) => ({ allow_parallel: true, ...t })) }).reverse());
      expect(Object.keys(reordered)[0]).toBe('tags');
      const spelledOut = (await server.ok(SUBMIT, { s: reordered })).submitWorkstream.workstream;
      expect(again).toEqual(first);
      expect(spelledOut).toEqual(first);
      expect(await rowCounts()).toEqual(before);
    });

    it('a different spec is ALREADY_EXISTS, naming the existing workstream, and writes nothing', async () => {
      const existing = (await server.ok(SUBMIT, { s: spec() })).submitWorkstream.workstream;
      const before = await rowCounts();
      const res = await server.gql(SUBMIT, { s: { ...spec(), objective: 'Something else' } });
      expect(codes(res)).toEqual(['ALREADY_EXISTS']);
      expect(res.errors![0]!.message).toContain(`project "twice" already has workstream_id "ws-twice" (Workstream ${existing.id}`);
      expect(res.errors![0]!.message).toContain('choose a new workstream_id');
      expect(res.errors![0]!.extensions).toMatchObject({ field: 'spec', id: existing.id, workstreamId: 'ws-twice', projectId: 'twice' });
      expect(await rowCounts()).toEqual(before);
    });

    it('is per project: another project may use the same workstream_id', async () => {
      const mine = (await server.ok(SUBMIT, { s: spec() })).submitWorkstream.workstream;
      const theirs = (await server.ok(SUBMIT, { s: { ...spec(), project_id: 'twice-other' } })).submitWorkstream.workstream;
      expect(theirs.id).not.toBe(mine.id);
      expect(theirs.run.id).not.toBe(mine.run.id);
    });

    it('concurrent submissions of one spec make one workstream', async () => {
      const racing = { ...spec(), workstream_id: 'ws-race' };
      const results = await Promise.all(Array.from({ length: 6 }, () => server.ok(SUBMIT, { s: racing })));
      expect(new Set(results.map((r) => r.submitWorkstream.workstream.id)).size).toBe(1);
      expect(await server.engine.orm.em.fork().count(WorkstreamSchema, { specId: 'ws-race' })).toBe(1);
    });
  });
});

describe("a task's inputs (task_spec inputs, and createTask's payload.inputs)", () => {
  const CREATE = `mutation($p: JSON) { createTask(input: {kind: "inputs", payload: $p}) { task { id payload } } }`;
  const withInputs = (id: string, inputs: unknown) => {
    const spec = example('workstream_spec');
    spec.workstream_id = id;
    spec.tasks[0].inputs = inputs;
    return spec;
  };
  const env = (count: number, value = 'v') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`VAR_${i}`, value]));

  it('are handed to the worker in the task payload, at their bounds (256 args, 4,096 characters an arg, 64 names, 8,192 characters a value)', async () => {
    // Each bound on its own: all at once is more than a request body may hold (UET_MAX_BODY_BYTES), as it is more than a command line.
    const args = [...Array.from({ length: 255 }, (_, i) => `--flag-${i}`), 'x'.repeat(4096)];
    const inputs = { args, env: { ...env(62), BIG: 'y'.repeat(8192), _lower_ok: 'spaces and = are fine' } };
    const ws = (await server.ok(SUBMIT, { s: withInputs('ws-inputs', inputs) })).submitWorkstream.workstream;
    expect(ws.spec.tasks[0].inputs).toEqual(inputs);
    const { tasks } = await server.ok(`query($id: ID!) { workstream(id: $id) { tasks { specTaskId payload } } }`, { id: ws.id }).then((d) => d.workstream);
    expect(tasks.find((t: { specTaskId: string }) => t.specTaskId === 'fix').payload.inputs).toEqual(inputs);
    const created = (await server.ok(CREATE, { p: { inputs, note: 'free' } })).createTask.task;
    expect(created.payload).toEqual({ inputs, note: 'free' });
    // Without an inputs key the payload stays free JSON.
    expect((await server.ok(CREATE, { p: { args: 'anything', env: [1] } })).createTask.task.payload).toEqual({ args: 'anything', env: [1] });
  });

  const BAD: [string, unknown, { path: string; message: RegExp }][] = [
    ['a reserved UET_ name', { env: { UET_RUN_ID: 'x' } }, { path: '/env', message: /^property name "UET_RUN_ID" must match pattern .+ those are the worker's own variables\)$/ }],
    ['a reserved name in lower case', { env: { uet_token: 'x' } }, { path: '/env', message: /^property name "uet_token" must match pattern/ }],
    ['a name starting with a digit', { env: { '1PATH': 'x' } }, { path: '/env', message: /^property name "1PATH" must match pattern .+not starting with a digit/ }],
    ['a name with a dash', { env: { 'MY-VAR': 'x' } }, { path: '/env', message: /^property name "MY-VAR" must match pattern/ }],
    ['65 names', { env: env(65) }, { path: '/env', message: /^must NOT have more than 64 properties$/ }],
    ['a value that is not a string', { env: { PORT: 8080 } }, { path: '/env/PORT', message: /^must be string$/ }],
    ['a value of 8,193 characters', { env: { BIG: 'x'.repeat(8193) } }, { path: '/env/BIG', message: /^must NOT have more than 8192 characters$/ }],
    ['a NUL in a value', { env: { A: 'a\u0000b' } }, { path: '/env/A', message: /no NUL character/ }],
    ['257 args', { args: Array.from({ length: 257 }, () => 'a') }, { path: '/args', message: /^must NOT have more than 256 items$/ }],
    ['an arg of 4,097 characters', { args: ['x'.repeat(4097)] }, { path: '/args/0', message: /^must NOT have more than 4096 characters$/ }],
    ['a NUL in an arg', { args: ['ok', 'a\u0000'] }, { path: '/args/1', message: /no NUL character/ }],
    ['args that are not an array', { args: '--fix' }, { path: '/args', message: /^must be array$/ }],
    ['an unknown key', { argv: ['--fix'] }, { path: '/', message: /^unknown property "argv" \(did you mean "args"\?\)$/ }],
    ['inputs that are not an object', ['--fix'], { path: '/', message: /^must be object$/ }],
  ];

  it.each(BAD)('%s is BAD_USER_INPUT naming it, in a workstream spec and in a createTask payload, and writes nothing', async (_name, inputs, issue) => {
    const before = await rowCounts();
    const submitted = await server.gql(SUBMIT, { s: withInputs('ws-bad-inputs', inputs) });
    expect(codes(submitted)).toEqual(['BAD_USER_INPUT']);
    const specIssue = (submitted.errors![0]!.extensions!.errors as { path: string; message: string }[])[0]!;
    expect(specIssue.path).toBe(`/tasks/0/inputs${issue.path === '/' ? '' : issue.path}`);
    expect(specIssue.message).toMatch(issue.message);
    const created = await server.gql(CREATE, { p: { inputs } });
    expect(codes(created)).toEqual(['BAD_USER_INPUT']);
    expect(created.errors![0]!.extensions).toMatchObject({ field: 'payload.inputs' });
    expect(created.errors![0]!.message).toMatch(/^payload\.inputs: does not match the task_spec contract: /);
    const taskIssue = (created.errors![0]!.extensions!.errors as { path: string; message: string }[])[0]!;
    expect(taskIssue.path).toBe(issue.path);
    expect(taskIssue.message).toMatch(issue.message);
    expect(await rowCounts()).toEqual(before);
  });
});

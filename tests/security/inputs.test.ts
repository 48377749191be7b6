import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMIT_ENV } from '../../src/config.js';
import { PatchSchema } from '../../src/engine/patches/entities.js';
import { codes, createRun, startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';
import { expectBystanderServed, underAttack } from './bystander.js';

/** What one hostile request may take, with headroom for a loaded machine; the unbounded versions took 8 to 133 s. */
const ATTACK_BUDGET_MS = 2_000;
const MAX_FILES = LIMIT_ENV.maxPatchFiles[1];
const MAX_DIFF_BYTES = LIMIT_ENV.maxDiffBytes[1];

let server: TestServer;
let reader: string;
let operator: string;
beforeAll(async () => {
  // The body limit is raised past the diff limit so that the diff limit is what a too-large patch meets.
  server = await startTestServer({ limits: { mutationsPerMinute: 0, maxBodyBytes: 2 * MAX_DIFF_BYTES } });
  reader = await createToken('reader', ['READ']);
  operator = await createToken('operator', ['OPERATE', 'READ']);
});
afterAll(() => server.stop());

async function createToken(name: string, scopes: string[]): Promise<string> {
  const data = await server.ok(`mutation($name: String!, $scopes: [Scope!]!) { createApiToken(input: {name: $name, scopes: $scopes}) { token } }`, {
    name,
    scopes,
  });
  return data.createApiToken.token;
}

const modified = (path: string) => [`--- a/${path}`, `+++ b/${path}`, '@@ -1 +1 @@', '-a', '+b'].join('\n');
const added = (path: string) => [`diff --git a/${path} b/${path}`, 'new file mode 100644', '--- /dev/null', `+++ b/${path}`, '@@ -0,0 +1 @@', '+x'].join('\n');
const diffOf = (files: string[]) => `${files.join('\n')}\n`;
/** The shortest file a diff can name: a new, empty one (a header, no hunk). */
const empty = (path: string) => [`diff --git a/${path} b/${path}`, 'new file mode 100644'].join('\n');
const manyFiles = (n: number) => diffOf(Array.from({ length: n }, (_, i) => added(`src/gen/f${String(i).padStart(5, '0')}.ts`)));

const ENTRY = 'ledgerEntry { id state validation { formatOk scopeOk constraintsOk validationErrors } }';

function createPatch(input: Record<string, unknown>, token = operator): Promise<GraphQLResponse> {
  return server.gql(
    `mutation($input: CreatePatchInput!) { createPatch(input: $input) { ${ENTRY} } }`,
    { input: { targetRepo: 'git@example.test:app.git', ...input } },
    {
      token,
    },
  );
}

async function validatePatch(ledgerId: string, token = operator): Promise<any> {
  const res = await server.gql(`mutation($id: ID!) { validatePatch(input: {ledgerId: $id}) { ${ENTRY} } }`, { id: ledgerId }, { token });
  expect(res.errors).toBeUndefined();
  return res.data!.validatePatch.ledgerEntry;
}

const patchCount = () => server.engine.orm.em.fork().count(PatchSchema, {});

describe('contract checks stay linear and bounded (finding 2)', () => {
  const VALIDATE = `query($contract: String!, $document: JSON!) { validateDocument(contract: $contract, document: $document) { valid errors { path message } moreErrors countStopped } }`;

  it('lists the first 100 violations and counts the rest exactly', async () => {
    // 11 missing top-level properties, 9 per empty task: 146 violations.
    const res = await server.gql(VALIDATE, { contract: 'workstream_spec', document: { tasks: Array.from({ length: 15 }, () => ({})) } }, { token: reader });
    expect(res.errors).toBeUndefined();
    expect(res.data.validateDocument).toMatchObject({ valid: false, moreErrors: 46, countStopped: false });
    expect(res.data.validateDocument.errors).toHaveLength(100);
    expect(res.data.validateDocument.errors[0]).toEqual({ path: '/', message: 'must have required property "workstream_id": a non-empty string' });
  });

  it.each([
    ['20,000 empty tasks (froze the server for 14 s)', 20_000],
    ['60,000 tasks in 1 MB (took 133 s and answered 41 MB)', 60_000],
  ])('validateDocument with %s answers fast, with at most 100 errors and "more"', async (name, count) => {
    // Each task a small object that breaks task_spec in 9 ways: 60,000 of them make 1 MB.
    const document = { tasks: Array.from({ length: count }, (_, i) => ({ n: `${i}`.padStart(8, '0') })) };
    if (count === 60_000) expect(JSON.stringify(document).length).toBeGreaterThan(1_000_000);
    const report = await underAttack(server, () => server.gql(VALIDATE, { contract: 'workstream_spec', document }, { token: reader }));
    expectBystanderServed(`validateDocument, ${name}`, report);
    expect(report.attackMs).toBeLessThan(ATTACK_BUDGET_MS);
    const answer = report.result.data!.validateDocument;
    expect(answer.valid).toBe(false);
    expect(answer.errors.length).toBeGreaterThan(0);
    expect(answer.errors.length).toBeLessThanOrEqual(100);
    expect(answer).toMatchObject({ countStopped: true, moreErrors: 10_000 - answer.errors.length });
    expect(JSON.stringify(report.result).length).toBeLessThan(100_000);
  });

  it('the check itself takes milliseconds for 1 MB of empty tasks (333,000: 3 million violations unbounded)', () => {
    const document = { tasks: Array.from({ length: 333_000 }, () => ({})) };
    expect(JSON.stringify(document).length).toBeGreaterThan(990_000);
    // Both validators compiled before timing (the first-violation one serves a check that stopped counting).
    server.engine.contracts.validate('workstream_spec', { tasks: Array.from({ length: 2_000 }, () => ({})) });
    const started = performance.now();
    const result = server.engine.contracts.validate('workstream_spec', document);
    const elapsed = performance.now() - started;
    console.info(`[security] contracts.validate, 1 MB of empty tasks in process: ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(250);
    expect(result).toMatchObject({ valid: false, stoppedCounting: true });
    expect(result.errors.length).toBeLessThanOrEqual(100);
  });

  it('submitWorkstream refuses the same document fast, naming the first violations and how many more', async () => {
    const before = await server.ok(`{ runs(first: 1) { totalCount } }`);
    const spec = { tasks: Array.from({ length: 20_000 }, () => ({})) };
    const report = await underAttack(server, () => server.gql(`mutation($spec: JSON!) { submitWorkstream(input: {spec: $spec}) { workstream { id } } }`, { spec }, { token: operator }));
    expectBystanderServed('submitWorkstream, 20,000 empty tasks', report);
    expect(report.attackMs).toBeLessThan(ATTACK_BUDGET_MS);
    expect(codes(report.result)).toEqual(['BAD_USER_INPUT']);
    expect(report.result.errors?.[0]?.message).toMatch(/does not match the workstream_spec contract: .*; and more than \d+ more$/);
    expect(await server.ok(`{ runs(first: 1) { totalCount } }`)).toEqual(before);
  });
});

describe('globs match in linear time (finding 3)', () => {
  const HOSTILE = '*a*a*a*a*a*a*a*a*b';

  it.each([45, 4_000])(`a run scope forbidding ${HOSTILE}, against a path of %i "a"s, validates fast`, async (length) => {
    const runId = await createRun(server, {
      projectId: 'globs',
      metadata: { resource_scope: { read: ['**'], write: ['**'], create: ['**'], forbidden: [HOSTILE] } },
    });
    const created = await createPatch({ projectId: 'globs', runId, diffText: diffOf([modified('a'.repeat(length))]) });
    expect(created.errors).toBeUndefined();
    const report = await underAttack(server, () => validatePatch(created.data!.createPatch.ledgerEntry.id));
    expectBystanderServed(`validatePatch, forbidden ${HOSTILE} against ${length} "a"s`, report);
    expect(report.attackMs).toBeLessThan(ATTACK_BUDGET_MS);
    expect(report.result.state).toBe('VALIDATED');
  });

  it('the same glob still forbids what it names', async () => {
    const runId = await createRun(server, { projectId: 'globs', metadata: { resource_scope: { read: [], write: ['**'], create: [], forbidden: [HOSTILE] } } });
    const created = await createPatch({ projectId: 'globs', runId, diffText: diffOf([modified(`${'a'.repeat(44)}b`)]) });
    const entry = await validatePatch(created.data!.createPatch.ledgerEntry.id);
    expect(entry).toMatchObject({ state: 'APPLY_FAILED', validation: { scopeOk: false, validationErrors: [`scope: ${'a'.repeat(44)}b is forbidden`] } });
  });

  it('a policy with the hostile glob is accepted and judged fast', async () => {
    await server.ok(
      `mutation($g: [String!]) { setPatchPolicy(input: {level: PROJECT, projectId: "glob-policy", constraints: {forbidTouchingPaths: $g, requireTestsForPaths: $g}}) { policy { id } } }`,
      {
        g: [HOSTILE],
      },
    );
    const created = await createPatch({ projectId: 'glob-policy', diffText: diffOf([modified('a'.repeat(4_000))]) });
    const report = await underAttack(server, () => validatePatch(created.data!.createPatch.ledgerEntry.id));
    expectBystanderServed(`validatePatch, policy forbidTouchingPaths ${HOSTILE} against 4,000 "a"s`, report);
    expect(report.attackMs).toBeLessThan(ATTACK_BUDGET_MS);
    expect(report.result.state).toBe('VALIDATED');
  });

  it('the most complex glob lists allowed, against 1 MiB of long paths, keep other clients served', async () => {
    // 64 wildcards per list, the most allowed, all live at once on paths of "a"s.
    const globs = [`${'*a'.repeat(16)}b`, ...Array.from({ length: 48 }, (_, i) => `*a${i}b`)];
    await server.ok(
      `mutation($g: [String!]) { setPatchPolicy(input: {level: PROJECT, projectId: "glob-worst", constraints: {forbidTouchingPaths: $g, requireTestsForPaths: $g}}) { policy { id } } }`,
      {
        g: globs,
      },
    );
    const runId = await createRun(server, { projectId: 'glob-worst', metadata: { resource_scope: { read: globs, write: globs, create: globs, forbidden: globs } } });
    const files = Array.from({ length: 500 }, (_, i) => modified(`${'a'.repeat(1000)}${i}`));
    const diffText = diffOf(files);
    expect(Buffer.byteLength(diffText)).toBeLessThan(MAX_DIFF_BYTES);
    const created = await createPatch({ projectId: 'glob-worst', runId, diffText });
    expect(created.errors).toBeUndefined();
    const report = await underAttack(server, () => validatePatch(created.data!.createPatch.ledgerEntry.id));
    expectBystanderServed('validatePatch, 5 lists of 64 wildcards against 500 paths of 1,000 "a"s', report);
    expect(report.attackMs).toBeLessThan(ATTACK_BUDGET_MS);
    expect(report.result.validation.scopeOk).toBe(false);
  });

  it('a glob list past the bounds is refused at input', async () => {
    const tooMany = Array.from({ length: 65 }, (_, i) => `dir${i}/*.ts`);
    const res = await server.gql(`mutation($g: [String!]) { setPatchPolicy(input: {level: PROJECT, projectId: "glob-bounds", constraints: {forbidTouchingPaths: $g}}) { policy { id } } }`, {
      g: tooMany,
    });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain('the globs have 65 wildcards');
  });

  it.each(['!(x)', '!src/**', 'src/!(generated)/**'])('a glob RE2 cannot run (%s) is refused at input: policies and workstream specs', async (glob) => {
    const policy = await server.gql(`mutation($g: [String!]) { setPatchPolicy(input: {level: PROJECT, projectId: "negations", constraints: {forbidTouchingPaths: $g}}) { policy { id } } }`, {
      g: [glob],
    });
    expect(codes(policy)).toEqual(['BAD_USER_INPUT']);
    expect(policy.errors?.[0]?.message).toContain(`glob "${glob}" is not supported`);
    const spec = workstreamSpec([taskSpec('t1')], { id: `ws-negation-${glob.length}`, projectId: 'negations' });
    spec.resource_scope.forbidden = [glob];
    const submitted = await server.gql(`mutation($spec: JSON!) { submitWorkstream(input: {spec: $spec}) { workstream { id } } }`, { spec });
    expect(codes(submitted)).toEqual(['BAD_USER_INPUT']);
    expect(submitted.errors?.[0]?.message).toContain('spec.resource_scope.forbidden');
    const policies = await server.ok(`{ patchPolicies(projectId: "negations") { projectId } }`);
    expect(policies.patchPolicies.filter((p: { projectId: string | null }) => p.projectId === 'negations')).toEqual([]);
  });
});

describe('diff paths are canonical (finding 5)', () => {
  beforeAll(async () => {
    await server.ok(`mutation { setPatchPolicy(input: {level: PROJECT, projectId: "canon", constraints: {forbidTouchingPaths: [".github/**"]}}) { policy { id } } }`);
  });

  it.each([
    ['./.github/workflows/ci.yml', 'has a "." component'],
    ['x/../.github/workflows/ci.yml', 'has a ".." component'],
    ['.github/./workflows/ci.yml', 'has a "." component'],
    ['/.github/workflows/ci.yml', 'is absolute'],
    ['.github\\workflows\\ci.yml', 'contains a backslash'],
    ['.github/workflows/ci\0.yml', 'contains a NUL character'],
    ['.github//workflows/ci.yml', 'has an empty component'],
    ['.git/hooks/pre-commit', 'has a ".git" component'],
  ])('createPatch refuses %j (%s), naming it, and writes nothing', async (path, problem) => {
    const before = await patchCount();
    const res = await createPatch({ projectId: 'canon', diffText: diffOf([modified(path)]) });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain(`path ${JSON.stringify(path)} ${problem}`);
    expect(await patchCount()).toBe(before);
  });

  it('the canonical spelling is created and fails the policy', async () => {
    const created = await createPatch({ projectId: 'canon', diffText: diffOf([modified('.github/workflows/ci.yml')]) });
    expect(created.errors).toBeUndefined();
    const entry = await validatePatch(created.data!.createPatch.ledgerEntry.id);
    expect(entry).toMatchObject({ state: 'APPLY_FAILED', validation: { validationErrors: ['forbid_touching_paths: .github/workflows/ci.yml may not be touched'] } });
  });
});

describe('patches are bounded (finding 6)', () => {
  it(`a patch of 15,000 files is refused (at most ${MAX_FILES}) and writes nothing`, async () => {
    const before = await patchCount();
    const diffText = diffOf(Array.from({ length: 15_000 }, (_, i) => empty(`g/${i}`)));
    expect(Buffer.byteLength(diffText)).toBeLessThan(MAX_DIFF_BYTES);
    const report = await underAttack(server, () => createPatch({ projectId: 'big', diffText }));
    expectBystanderServed('createPatch, 15,000 files', report);
    expect(codes(report.result)).toEqual(['BAD_USER_INPUT']);
    expect(report.result.errors?.[0]?.message).toContain(`touches 15000 files, at most ${MAX_FILES} allowed`);
    expect(await patchCount()).toBe(before);
  });

  it(`a diff over ${MAX_DIFF_BYTES} bytes is refused and writes nothing`, async () => {
    const before = await patchCount();
    const line = `+${'x'.repeat(99)}\n`;
    const lines = Math.ceil(MAX_DIFF_BYTES / line.length);
    const diffText = `--- a/big.txt\n+++ b/big.txt\n@@ -0,0 +1,${lines} @@\n${line.repeat(lines)}`;
    const res = await createPatch({ projectId: 'big', diffText });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toContain(`is ${Buffer.byteLength(diffText)} bytes, at most ${MAX_DIFF_BYTES} allowed`);
    expect(await patchCount()).toBe(before);
  });

  it(`creating and validating the largest allowed patch (${MAX_FILES} files) leaves other clients served`, async () => {
    await server.ok(`mutation { setPatchPolicy(input: {level: PROJECT, projectId: "big", constraints: {forbidTouchingPaths: [".github/**"], requireTestsForPaths: ["src/**"]}}) { policy { id } } }`);
    const runId = await createRun(server, { projectId: 'big', metadata: { resource_scope: { read: ['**'], write: ['src/**'], create: ['src/**'], forbidden: ['secrets/**'] } } });
    const created = await underAttack(server, () => createPatch({ projectId: 'big', runId, diffText: manyFiles(MAX_FILES) }));
    expectBystanderServed(`createPatch, ${MAX_FILES} files`, created);
    expect(created.result.errors).toBeUndefined();
    const validated = await underAttack(server, () => validatePatch(created.result.data!.createPatch.ledgerEntry.id));
    expectBystanderServed(`validatePatch, ${MAX_FILES} files`, validated);
    // Judged in full: every file is in scope, none is a test.
    expect(validated.result).toMatchObject({ state: 'APPLY_FAILED', validation: { scopeOk: true, constraintsOk: false } });
    expect(validated.result.validation.validationErrors).toHaveLength(MAX_FILES);
    // The same files again: each now has a history (the oscillation check reads it).
    const again = await createPatch({ projectId: 'big', runId, diffText: manyFiles(MAX_FILES) });
    const revalidated = await underAttack(server, () => validatePatch(again.data!.createPatch.ledgerEntry.id));
    expectBystanderServed(`validatePatch, ${MAX_FILES} files each with an earlier change`, revalidated);
    expect(revalidated.result.validation.validationErrors).toHaveLength(MAX_FILES);
  });
});

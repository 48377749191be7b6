import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunSchema } from '../../src/engine/runs/entities.js';
import { LedgerEntrySchema } from '../../src/engine/patches/entities.js';
import { ledgerMachine } from '../../src/engine/patches/machines.js';
import { codes, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { taskSpec, workstreamSpec } from '../helpers/specs.js';
import { until } from '../helpers/wait.js';
import { APP_DIFF as DIFF } from '../helpers/diffs.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
  // Patches whose summary names no issue fail validation in this project.
  await ok(`mutation { setPatchPolicy(input: {level: PROJECT, projectId: "strict", constraints: {requireIssueRef: true}}) { policy { id } } }`);
});
afterAll(() => server.stop());

const ok = <T = any>(query: string, variables?: Record<string, unknown>) => server.ok<T>(query, variables);

const ENTRY_FIELDS = `id state stateHistory { state reason } validation { formatOk scopeOk constraintsOk testsRan testsPassed validationErrors }
  apply { attempts appliedFiles lastErrorCode lastErrorMessage } quarantine { isQuarantined quarantineReason quarantinePath }`;

async function createPatch(input: Record<string, unknown> = {}): Promise<any> {
  const data = await ok(
    `mutation($input: CreatePatchInput!) { createPatch(input: $input) { patch { id scope { filesTouched lineInsertions lineDeletions hunks } } ledgerEntry { ${ENTRY_FIELDS} } } }`,
    { input: { projectId: 'ledger', targetRepo: 'git@example.test:app.git', diffText: DIFF, summary: 'fix #1', ...input } },
  );
  return data.createPatch;
}

const call = (mutation: string, id: string, extra = '') => server.gql(`mutation($id: ID!) { ${mutation}(input: {ledgerId: $id${extra}}) { ledgerEntry { ${ENTRY_FIELDS} } } }`, { id });

type State = 'CREATED' | 'VALIDATED' | 'QUEUED' | 'APPLIED' | 'APPLY_FAILED' | 'VERIFIED' | 'QUARANTINED' | 'COMMITTED' | 'ROLLED_BACK' | 'DROPPED';
const STATES: State[] = ['CREATED', 'VALIDATED', 'QUEUED', 'APPLIED', 'APPLY_FAILED', 'VERIFIED', 'QUARANTINED', 'COMMITTED', 'ROLLED_BACK', 'DROPPED'];

/** How a fresh entry (of a run without gates) reaches each state. */
const PATH: Record<State, [string, string][]> = {
  CREATED: [],
  VALIDATED: [['validatePatch', '']],
  QUEUED: [
    ['validatePatch', ''],
    ['queuePatch', ''],
  ],
  APPLIED: [
    ['validatePatch', ''],
    ['queuePatch', ''],
    ['recordPatchApply', ', success: true, appliedFiles: ["src/app.ts"]'],
  ],
  APPLY_FAILED: [
    ['validatePatch', ''],
    ['queuePatch', ''],
    ['recordPatchApply', ', success: false, errorCode: "conflict", errorMessage: "hunk 1 failed"'],
  ],
  VERIFIED: [
    ['validatePatch', ''],
    ['queuePatch', ''],
    ['recordPatchApply', ', success: true'],
    ['verifyPatch', ', testsPassed: true'],
  ],
  QUARANTINED: [['quarantinePatch', ', reason: "suspicious"']],
  COMMITTED: [
    ['validatePatch', ''],
    ['queuePatch', ''],
    ['recordPatchApply', ', success: true'],
    ['verifyPatch', ', testsPassed: true'],
    ['commitPatch', ''],
  ],
  ROLLED_BACK: [
    ['validatePatch', ''],
    ['queuePatch', ''],
    ['recordPatchApply', ', success: true'],
    ['rollbackPatch', ', reason: "bad"'],
  ],
  DROPPED: [['dropPatch', ', reason: "obsolete"']],
};

async function entryIn(state: State, input: Record<string, unknown> = {}): Promise<string> {
  const { ledgerEntry } = await createPatch(input);
  for (const [mutation, extra] of PATH[state]) {
    const res = await call(mutation, ledgerEntry.id, extra);
    expect(res.errors, `${mutation} on the way to ${state}`).toBeUndefined();
  }
  return ledgerEntry.id;
}

/** Each mutation (and outcome) that moves an entry, where it moves it, and from where it may. */
const MOVES: { name: string; mutation: string; extra: string; to: State; from: State[]; input?: (from: State) => Record<string, unknown> }[] = [
  { name: 'validate (passes)', mutation: 'validatePatch', extra: '', to: 'VALIDATED', from: ['CREATED'] },
  {
    name: 'validate (fails)',
    mutation: 'validatePatch',
    extra: '',
    to: 'APPLY_FAILED',
    from: ['CREATED'],
    // Only an entry still CREATED needs the failing patch; the others must get where they are first.
    input: (from) => (from === 'CREATED' ? { projectId: 'strict', summary: 'no reference' } : {}),
  },
  { name: 'queue', mutation: 'queuePatch', extra: '', to: 'QUEUED', from: ['VALIDATED'] },
  { name: 'retry', mutation: 'retryPatch', extra: '', to: 'QUEUED', from: ['APPLY_FAILED'] },
  { name: 'apply succeeds', mutation: 'recordPatchApply', extra: ', success: true', to: 'APPLIED', from: ['QUEUED'] },
  { name: 'apply fails', mutation: 'recordPatchApply', extra: ', success: false, errorMessage: "x"', to: 'APPLY_FAILED', from: ['QUEUED'] },
  { name: 'verify (tests passed)', mutation: 'verifyPatch', extra: ', testsPassed: true', to: 'VERIFIED', from: ['APPLIED'] },
  { name: 'verify (tests failed)', mutation: 'verifyPatch', extra: ', testsPassed: false', to: 'APPLY_FAILED', from: ['APPLIED'] },
  { name: 'commit', mutation: 'commitPatch', extra: '', to: 'COMMITTED', from: ['VERIFIED'] },
  { name: 'rollback', mutation: 'rollbackPatch', extra: ', reason: "r"', to: 'ROLLED_BACK', from: ['APPLIED', 'VERIFIED'] },
  {
    name: 'drop',
    mutation: 'dropPatch',
    extra: ', reason: "r"',
    to: 'DROPPED',
    from: ['CREATED', 'VALIDATED', 'QUEUED', 'APPLIED', 'APPLY_FAILED', 'VERIFIED', 'QUARANTINED'],
  },
  {
    name: 'quarantine',
    mutation: 'quarantinePatch',
    extra: ', reason: "r", quarantinePath: "/q/1"',
    to: 'QUARANTINED',
    from: ['CREATED', 'VALIDATED', 'QUEUED', 'APPLIED', 'APPLY_FAILED', 'VERIFIED'],
  },
];

const stored = async (id: string) => {
  const entry = await server.engine.orm.em.fork().findOneOrFail(LedgerEntrySchema, { id: Buffer.from(id, 'base64url').toString().split(':')[1] });
  return JSON.stringify(entry);
};

describe('the ledger state machine (docs/domain.md#patch-ledger)', () => {
  it('the mutations together allow exactly the transitions of the table', () => {
    const allowed = new Set(MOVES.flatMap((m) => m.from.map((from) => `${from}->${m.to}`)));
    const table = STATES.flatMap((from) => STATES.filter((to) => ledgerMachine.allows(from.toLowerCase() as never, to.toLowerCase() as never)).map((to) => `${from}->${to}`));
    expect(allowed).toEqual(new Set(table));
  });

  // Every move from every state is tested on the engine (tests/engine/patches.test.ts); over GraphQL, one allowed and one refused per mutation.
  const cases = MOVES.flatMap((move) => [[move.name, move.from[0]!, true] as const, [move.name, STATES.find((s) => !move.from.includes(s))!, false] as const]);
  it.each(cases)('%s from %s (allowed: %s)', async (name, from, allowed) => {
    const move = MOVES.find((m) => m.name === name)!;
    const id = await entryIn(from, move.input?.(from));
    const before = await stored(id);
    const events = await server.engine.orm.em.fork().count('RunEvent', {});
    const res = await call(move.mutation, id, move.extra);
    if (allowed) {
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      const entry = (Object.values(res.data!)[0] as any).ledgerEntry;
      expect(entry.state).toBe(move.to);
      expect(entry.stateHistory.at(-1).state).toBe(move.to);
      expect(entry.stateHistory.length).toBe(PATH[from].length + 2);
    } else {
      expect(codes(res)).toEqual(['INVALID_TRANSITION']);
      expect(res.errors?.[0]?.extensions?.currentState).toBe(from);
      expect(await stored(id)).toBe(before);
      expect(await server.engine.orm.em.fork().count('RunEvent', {})).toBe(events);
    }
  });
});

describe('patches', () => {
  it('computes the scope from the diff and refuses text that is not a unified diff, writing nothing', async () => {
    const { patch } = await createPatch();
    expect(patch.scope).toEqual({ filesTouched: ['src/app.ts'], lineInsertions: 1, lineDeletions: 1, hunks: 1 });
    const count = () => server.engine.orm.em.fork().count(LedgerEntrySchema, {});
    const before = await count();
    const res = await server.gql(`mutation($d: String!) { createPatch(input: {projectId: "p", targetRepo: "r", diffText: $d}) { patch { id } } }`, {
      d: 'this is not a diff\nat all\n',
    });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.field).toBe('diffText');
    expect(res.errors?.[0]?.extensions?.line).toBe(1);
    expect(await count()).toBe(before);
  });

  it('records every transition on its run, with counters', async () => {
    const runId = await createRun(server, { projectId: 'ledger' });
    await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
    const { ledgerEntry } = await createPatch({ runId });
    for (const [mutation, extra] of PATH.VERIFIED) expect((await call(mutation, ledgerEntry.id, extra)).errors).toBeUndefined();
    const failed = await entryIn('APPLY_FAILED', { runId });
    expect(failed).toBeTruthy();
    const run = await ok(`query($id: ID!) { run(id: $id) { counters { patchesCreated patchesApplied errors } events(first: 50) { edges { node { kind payload } } } } }`, {
      id: runId,
    });
    expect(run.run.counters).toEqual({ patchesCreated: 2, patchesApplied: 1, errors: 1 });
    expect(run.run.events.edges.map((e: any) => e.node.kind)).toEqual([
      'RUN_CREATED',
      'RUN_STARTED',
      'PATCH_CREATED',
      'PATCH_VALIDATED',
      'PATCH_APPLY_STARTED',
      'PATCH_APPLY_SUCCEEDED',
      'PATCH_VERIFIED',
      'PATCH_CREATED',
      'PATCH_VALIDATED',
      'PATCH_APPLY_STARTED',
      'PATCH_APPLY_FAILED',
    ]);
    expect(run.run.events.edges[10].node.payload).toMatchObject({ from: 'queued', to: 'apply_failed', errorCode: 'conflict' });
  });

  it('validation names each failed rule; a failing one lands in APPLY_FAILED', async () => {
    const { ledgerEntry } = await createPatch({ projectId: 'strict', summary: 'tidy up' });
    const res = await call('validatePatch', ledgerEntry.id);
    expect(res.data!.validatePatch.ledgerEntry).toMatchObject({
      state: 'APPLY_FAILED',
      validation: { formatOk: true, scopeOk: true, constraintsOk: false, validationErrors: ['require_issue_ref: the summary names no issue (#123, ABC-123 or an issue link)'] },
    });
  });

  it("a run's resource scope bounds what its patches may change", async () => {
    const runId = await createRun(server, { projectId: 'ledger', metadata: { resource_scope: { read: ['**'], write: ['docs/**'], create: [], forbidden: [] } } });
    const { ledgerEntry } = await createPatch({ runId });
    const res = await call('validatePatch', ledgerEntry.id);
    expect(res.data!.validatePatch.ledgerEntry.validation).toMatchObject({ scopeOk: false, constraintsOk: true, validationErrors: ['scope: src/app.ts may not be changed (not in write)'] });
  });

  it('queuing and retrying hand the patch to the applier: PATCH_APPLY_STARTED', async () => {
    const runId = await createRun(server, { projectId: 'ledger' });
    const id = await entryIn('APPLY_FAILED', { runId });
    expect((await call('retryPatch', id)).errors).toBeUndefined();
    const run = await ok(`query($id: ID!) { run(id: $id) { events(first: 50) { edges { node { kind payload } } } } }`, { id: runId });
    const events = run.run.events.edges.map((e: any) => e.node);
    expect(events.map((e: any) => e.kind).filter((k: string) => k.startsWith('PATCH_APPLY'))).toEqual(['PATCH_APPLY_STARTED', 'PATCH_APPLY_FAILED', 'PATCH_APPLY_STARTED']);
    expect(events.at(-1).payload).toMatchObject({ from: 'apply_failed', to: 'queued', retry: true });
  });

  it('a subscriber of a project sees its entries as they are created and move', async () => {
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription { patchStateChanged(projectId: "watched") { id state patch { scope { hunks } } } }`);
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    await createPatch({ projectId: 'other' });
    const { ledgerEntry } = await createPatch({ projectId: 'watched' });
    await call('validatePatch', ledgerEntry.id);
    await sub.next(2);
    expect(sub.results.map((r) => r.data!.patchStateChanged)).toEqual([
      { id: ledgerEntry.id, state: expect.any(String), patch: { scope: { hunks: 1 } } },
      { id: ledgerEntry.id, state: 'VALIDATED', patch: { scope: { hunks: 1 } } },
    ]);
    sub.stop();
    await client.dispose();
  });
});

describe('patchLedgerCounts', () => {
  const counts = async (filter: Record<string, unknown>) => (await ok(`query($f: PatchLedgerFilter) { patchLedgerCounts(filter: $f) { state count } }`, { f: filter })).patchLedgerCounts;

  it('counts the entries of each state, every state in lifecycle order, as patchLedger totalCount does state by state', async () => {
    for (const state of ['COMMITTED', 'QUEUED', 'QUEUED', 'DROPPED'] as State[]) await entryIn(state, { projectId: 'counted' });
    const got = await counts({ projectId: 'counted' });
    expect(got.map((c: any) => c.state)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'APPLIED', 'APPLY_FAILED', 'VERIFIED', 'COMMITTED', 'ROLLED_BACK', 'QUARANTINED', 'DROPPED']);
    expect(Object.fromEntries(got.filter((c: any) => c.count > 0).map((c: any) => [c.state, c.count]))).toEqual({ QUEUED: 2, COMMITTED: 1, DROPPED: 1 });
    for (const { state, count } of await counts({})) {
      const { patchLedger } = await ok(`query($s: [PatchState!]) { patchLedger(first: 1, filter: { states: $s }) { totalCount } }`, { s: [state] });
      expect(count, state).toBe(patchLedger.totalCount);
    }
  });

  it('narrows by the filter (states too), and refuses a run id of another type', async () => {
    expect((await counts({ projectId: 'counted', states: ['QUEUED', 'APPLIED'] })).filter((c: any) => c.count > 0)).toEqual([{ state: 'QUEUED', count: 2 }]);
    expect((await counts({ projectId: 'no-such-project' })).every((c: any) => c.count === 0)).toBe(true);
    const refused = await server.gql(`{ patchLedgerCounts(filter: { runId: "bm90LWEtcnVu" }) { count } }`);
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('gates decide verification and commit', () => {
  async function gate(runId: string, name: string): Promise<string> {
    const data = await ok(`mutation($r: ID!, $n: String!) { createTestGate(input: {runId: $r, name: $n, type: UNIT_TESTS, criteria: {maxFailures: 0}}) { gate { id } } }`, {
      r: runId,
      n: name,
    });
    const id = data.createTestGate.gate.id;
    await ok(`mutation($id: ID!) { startTestGate(input: {id: $id, command: "npm test"}) { gate { id } } }`, { id });
    return id;
  }
  const finish = (id: string, failed: number) =>
    ok(
      `mutation($id: ID!, $f: Int!) { completeTestGate(input: {id: $id, exitCode: 0, results: {totalTests: 10, passedTests: ${10 - failed}, failedTests: $f, skippedTests: 0}}) { gate { state } } }`,
      {
        id,
        f: failed,
      },
    );

  async function appliedPatch(runId: string): Promise<string> {
    const { ledgerEntry } = await createPatch({ runId });
    for (const [mutation, extra] of PATH.APPLIED) expect((await call(mutation, ledgerEntry.id, extra)).errors).toBeUndefined();
    return ledgerEntry.id;
  }

  it('two gates: subscribers see both outcomes; commit waits for a pending gate, is refused after one fails, succeeds when both passed', async () => {
    const refusedRun = await createRun(server, { projectId: 'ledger' });
    const passingRun = await createRun(server, { projectId: 'ledger' });
    const streams = server.engine.openStreams();
    const client = server.wsClient();
    const sub = subscribe(client, `subscription($r: ID) { gateOutcomes(runId: $r) { name state decision { passed reason } } }`, { r: passingRun });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');

    // The refused run: its first gate passes, the patch is verified, then a second gate opens and fails.
    const first = await gate(refusedRun, 'unit');
    const refused = await appliedPatch(refusedRun);
    const waiting = await call('verifyPatch', refused, ', testsPassed: true');
    expect(codes(waiting)).toEqual(['GATES_PENDING']);
    await finish(first, 0);
    expect((await call('verifyPatch', refused)).data!.verifyPatch.ledgerEntry.state).toBe('VERIFIED');
    const second = await gate(refusedRun, 'integration');
    const pending = await call('commitPatch', refused);
    expect(codes(pending)).toEqual(['GATES_PENDING']);
    expect(pending.errors?.[0]?.message).toContain('integration (running)');
    await finish(second, 2);
    const failed = await call('commitPatch', refused);
    expect(codes(failed)).toEqual(['GATES_FAILED']);
    expect(failed.errors?.[0]?.message).toContain('integration (failed)');
    expect((await ok(`query($id: ID!) { ledgerEntry(id: $id) { state } }`, { id: refused })).ledgerEntry.state).toBe('VERIFIED');

    // The passing run: two gates pass, the patch is verified by them and commits.
    const [unit, integration] = [await gate(passingRun, 'unit'), await gate(passingRun, 'integration')];
    const landing = await appliedPatch(passingRun);
    await finish(unit, 0);
    await finish(integration, 0);
    await sub.next(2);
    expect(sub.results.map((r) => r.data!.gateOutcomes)).toEqual([
      { name: 'unit', state: 'PASSED', decision: { passed: true, reason: 'all 1 criteria met' } },
      { name: 'integration', state: 'PASSED', decision: { passed: true, reason: 'all 1 criteria met' } },
    ]);
    const verified = await call('verifyPatch', landing);
    expect(verified.data!.verifyPatch.ledgerEntry).toMatchObject({ state: 'VERIFIED', validation: { testsRan: true, testsPassed: true } });
    const committed = await call('commitPatch', landing);
    expect(committed.data!.commitPatch.ledgerEntry.state).toBe('COMMITTED');
    sub.stop();
    await client.dispose();
  });

  it('a failed gate fails verification: APPLY_FAILED, naming the gate', async () => {
    const runId = await createRun(server, { projectId: 'ledger' });
    const id = await gate(runId, 'lint');
    const entry = await appliedPatch(runId);
    await finish(id, 1);
    const res = await call('verifyPatch', entry, ', testsPassed: true');
    expect(res.data!.verifyPatch.ledgerEntry.state).toBe('APPLY_FAILED');
    expect(res.data!.verifyPatch.ledgerEntry.stateHistory.at(-1).reason).toBe('gates did not pass: lint (failed)');
  });
});

describe("an execution request's resource scope", () => {
  const rawId = (id: string) => Buffer.from(id, 'base64url').toString().split(':')[1];
  const diffOf = (path: string) => DIFF.replaceAll('src/app.ts', path);
  let request: { id: string; requestId: string; runId: string };

  beforeAll(async () => {
    const spec = workstreamSpec([taskSpec('edit', [], { kind: 'scoped_edit' })], { id: 'ws-scoped', projectId: 'ledger' });
    spec.resource_scope = { read: ['**'], write: ['src/**'], create: ['src/**'], forbidden: ['src/secrets/**'] };
    const ws = (await ok(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } } } }`, { s: spec })).submitWorkstream.workstream;
    const workerId = (await ok(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`)).registerWorker.worker.id;
    const task = (await ok(`mutation($w: ID!) { claimTask(input: {workerId: $w, kinds: ["scoped_edit"]}) { task { executionRequest { id document } } } }`, { w: workerId })).claimTask.task;
    request = { id: task.executionRequest.id, requestId: task.executionRequest.document.request_id, runId: ws.run.id };
    // The run's own scope would let everything through: only the request's scope can refuse the patches below.
    const em = server.engine.orm.em.fork();
    const run = await em.findOneOrFail(RunSchema, { id: rawId(ws.run.id) });
    run.metadata = { ...run.metadata, resource_scope: { read: ['**'], write: ['**'], create: ['**'], forbidden: [] } };
    await em.flush();
  });

  it("takes precedence over the run's: a forbidden path fails validation, naming the rule and the file", async () => {
    const { ledgerEntry } = await createPatch({ runId: request.runId, executionRequestId: request.requestId, diffText: diffOf('src/secrets/key.ts') });
    const res = await call('validatePatch', ledgerEntry.id);
    expect(res.data!.validatePatch.ledgerEntry).toMatchObject({
      state: 'APPLY_FAILED',
      validation: { scopeOk: false, constraintsOk: true, validationErrors: ['scope: src/secrets/key.ts is forbidden'] },
    });
    const stored = await ok(`query($id: ID!) { ledgerEntry(id: $id) { executionRequestId } }`, { id: ledgerEntry.id });
    expect(stored.ledgerEntry.executionRequestId).toBe(request.requestId);
  });

  it('a patch within it passes; the request may be named by its global id, with or without the run', async () => {
    for (const input of [{ runId: request.runId, executionRequestId: request.id }, { executionRequestId: request.requestId }]) {
      const { ledgerEntry } = await createPatch({ ...input, diffText: diffOf('src/feature.ts') });
      const res = await call('validatePatch', ledgerEntry.id);
      expect(res.data!.validatePatch.ledgerEntry).toMatchObject({ state: 'VALIDATED', validation: { scopeOk: true, validationErrors: [] } });
    }
    // Without the run, the request's scope still applies.
    const { ledgerEntry } = await createPatch({ executionRequestId: request.requestId, diffText: diffOf('docs/readme.md') });
    expect((await call('validatePatch', ledgerEntry.id)).data!.validatePatch.ledgerEntry.validation.validationErrors).toEqual(['scope: docs/readme.md may not be changed (not in write)']);
  });

  it('an unknown request is NOT_FOUND, a malformed one or one of another project or run BAD_USER_INPUT, and nothing is written', async () => {
    const count = () => server.engine.orm.em.fork().count(LedgerEntrySchema, {});
    const before = await count();
    const attempt = (input: Record<string, unknown>) =>
      server.gql(`mutation($input: CreatePatchInput!) { createPatch(input: $input) { patch { id } } }`, {
        input: { projectId: 'ledger', targetRepo: 'r', diffText: DIFF, ...input },
      });
    const unknown = await attempt({ executionRequestId: '01JZ4M3P0R8D0Q2TGFHQ89AJV7' });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(unknown.errors?.[0]?.message).toMatch(/^ExecutionRequest .* does not exist/);
    for (const input of [
      { executionRequestId: 'not-an-id' },
      { executionRequestId: request.requestId, projectId: 'elsewhere' },
      { executionRequestId: request.requestId, runId: await createRun(server, { projectId: 'ledger' }) },
    ]) {
      const res = await attempt(input);
      expect(codes(res), JSON.stringify(input)).toEqual(['BAD_USER_INPUT']);
      expect(res.errors?.[0]?.extensions?.field).toBe('executionRequestId');
    }
    expect(await count()).toBe(before);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { engineForFile, operator, refused, runLog, runningRun } from '../helpers/domain.js';
import { APP_DIFF as DIFF } from '../helpers/diffs.js';

// The patch ledger (docs/domain.md#patch-ledger) through the engine: the rules, without HTTP.
const engine = engineForFile();

beforeAll(async () => {
  // Patches whose summary names no issue fail validation in this project.
  await engine().policies.set({ level: 'project', projectId: 'strict', constraints: { requireIssueRef: true } });
});

type State = 'created' | 'validated' | 'queued' | 'applied' | 'apply_failed' | 'verified' | 'quarantined' | 'committed' | 'rolled_back' | 'dropped';
const STATES: State[] = ['created', 'validated', 'queued', 'applied', 'apply_failed', 'verified', 'quarantined', 'committed', 'rolled_back', 'dropped'];

const createPatch = (input: { projectId?: string; runId?: string; summary?: string; diffText?: string } = {}) =>
  engine().patches.create(operator, { projectId: 'ledger', targetRepo: 'git@example.test:app.git', diffText: DIFF, summary: 'fix #1', ...input });

const patches = () => engine().patches;
const validate = (id: string) => patches().validate(operator, id);
const queue = (id: string) => patches().queue(operator, id);
const applied = (id: string) => patches().recordApply(operator, { ledgerId: id, success: true, appliedFiles: ['src/app.ts'] });
const applyFailed = (id: string) => patches().recordApply(operator, { ledgerId: id, success: false, errorCode: 'conflict', errorMessage: 'hunk 1 failed' });
const verify = (id: string, testsPassed: boolean | null = true) => patches().verify({ ledgerId: id, testsPassed });

/** How a fresh entry (of a run without gates) reaches each state. */
const PATH: Record<State, ((id: string) => Promise<unknown>)[]> = {
  created: [],
  validated: [validate],
  queued: [validate, queue],
  applied: [validate, queue, applied],
  apply_failed: [validate, queue, applyFailed],
  verified: [validate, queue, applied, verify],
  quarantined: [(id) => patches().quarantine({ ledgerId: id, reason: 'suspicious' })],
  committed: [validate, queue, applied, verify, (id) => patches().commit(id)],
  rolled_back: [validate, queue, applied, (id) => patches().rollback(id, 'bad')],
  dropped: [(id) => patches().drop(id, 'obsolete')],
};

/** A new entry of a new running run, driven to `state`. */
async function entryIn(state: State, input: { projectId?: string; summary?: string } = {}): Promise<{ id: string; runId: string }> {
  const runId = await runningRun(engine(), input.projectId ?? 'ledger');
  const { entry } = await createPatch({ ...input, runId });
  for (const step of PATH[state]) await step(entry.id);
  return { id: entry.id, runId };
}

const stored = async (id: string) => JSON.stringify(await engine().patchQueries.entriesByIds([id]));
const entryOf = async (id: string) => (await engine().patchQueries.entriesByIds([id]))[0]!;

/** Each call (and outcome) that moves an entry, where it moves it, the run event it records, and from where it may. */
const MOVES: { name: string; to: State; event: string; from: State[]; call: (id: string) => Promise<unknown>; patch?: { projectId: string; summary: string } }[] = [
  { name: 'validate (passes)', to: 'validated', event: 'patch_validated', from: ['created'], call: validate },
  // Only an entry still CREATED is of the strict project (its summary names no issue); the others got where they are first.
  { name: 'validate (fails)', to: 'apply_failed', event: 'patch_apply_failed', from: ['created'], call: validate, patch: { projectId: 'strict', summary: 'no reference' } },
  { name: 'queue', to: 'queued', event: 'patch_apply_started', from: ['validated'], call: queue },
  { name: 'retry', to: 'queued', event: 'patch_apply_started', from: ['apply_failed'], call: (id) => patches().retry(id) },
  { name: 'apply succeeds', to: 'applied', event: 'patch_apply_succeeded', from: ['queued'], call: applied },
  { name: 'apply fails', to: 'apply_failed', event: 'patch_apply_failed', from: ['queued'], call: applyFailed },
  { name: 'verify (tests passed)', to: 'verified', event: 'patch_verified', from: ['applied'], call: (id) => verify(id, true) },
  { name: 'verify (tests failed)', to: 'apply_failed', event: 'patch_apply_failed', from: ['applied'], call: (id) => verify(id, false) },
  { name: 'commit', to: 'committed', event: 'patch_committed', from: ['verified'], call: (id) => patches().commit(id) },
  { name: 'rollback', to: 'rolled_back', event: 'patch_rolled_back', from: ['applied', 'verified'], call: (id) => patches().rollback(id, 'r') },
  { name: 'drop', to: 'dropped', event: 'patch_dropped', from: ['created', 'validated', 'queued', 'applied', 'apply_failed', 'verified', 'quarantined'], call: (id) => patches().drop(id, 'r') },
  {
    name: 'quarantine',
    to: 'quarantined',
    event: 'patch_quarantined',
    from: ['created', 'validated', 'queued', 'applied', 'apply_failed', 'verified'],
    call: (id) => patches().quarantine({ ledgerId: id, reason: 'r', quarantinePath: '/q/1' }),
  },
];

describe('the ledger state machine', () => {
  const cases = MOVES.flatMap((move) => STATES.map((from) => [move.name, from, move.from.includes(from)] as const));
  it.each(cases)('%s from %s (allowed: %s): the state, its history entry and its run event in one write, or nothing', async (name, from, allowed) => {
    const move = MOVES.find((m) => m.name === name)!;
    const { id, runId } = await entryIn(from, from === 'created' ? move.patch : undefined);
    const before = { entry: await stored(id), log: await runLog(engine(), runId) };
    if (allowed) {
      await move.call(id);
      const entry = await entryOf(id);
      expect(entry.state).toBe(move.to);
      expect(entry.stateHistory.map((h) => h.state)).toEqual([...JSON.parse(before.entry)[0].stateHistory.map((h: { state: string }) => h.state), move.to]);
      const log = await runLog(engine(), runId);
      expect(log.slice(before.log.length)).toEqual([{ kind: move.event, payload: expect.objectContaining({ ledgerId: id, from, to: move.to }) }]);
    } else {
      const error = await refused(() => move.call(id), 'INVALID_TRANSITION');
      expect(error.details).toMatchObject({ entity: 'LedgerEntry', currentState: from.toUpperCase() });
      expect({ entry: await stored(id), log: await runLog(engine(), runId) }).toEqual(before);
    }
  });
});

describe('creating patches', () => {
  it('computes the scope from the diff, starts CREATED with a patch_created event, and counts it on the run', async () => {
    const runId = await runningRun(engine(), 'ledger');
    const { patch, entry } = await createPatch({ runId });
    expect(patch.scope).toEqual({ files_touched: ['src/app.ts'], line_insertions: 1, line_deletions: 1, hunks: 1 });
    expect(entry).toMatchObject({ state: 'created', runId, projectId: 'ledger', phaseId: 'build', stateHistory: [{ state: 'created', reason: 'created' }] });
    expect((await runLog(engine(), runId)).at(-1)).toEqual({ kind: 'patch_created', payload: { ledgerId: entry.id, patchId: patch.id, files: 1 } });
    expect((await engine().queries.runsByIds([runId]))[0]!.patchesCreated).toBe(1);
  });

  it.each([
    ['text that is not a unified diff', { diffText: 'this is not a diff\nat all\n' }, 'diffText'],
    ['a path that is not canonical', { diffText: DIFF.replaceAll('src/app.ts', 'src/../app.ts') }, 'diffText'],
    ['a base commit that is not hex', { baseCommit: 'main' }, 'baseCommit'],
    ["a project that is not the run's", { projectId: 'elsewhere' }, 'projectId'],
  ] as [string, { diffText?: string; baseCommit?: string; projectId?: string }, string][])('refuses %s as BAD_USER_INPUT and writes nothing', async (_name, input, field) => {
    const runId = await runningRun(engine(), 'ledger-refused');
    const before = await runLog(engine(), runId);
    const error = await refused(() => engine().patches.create(operator, { projectId: 'ledger-refused', runId, targetRepo: 'r', diffText: DIFF, ...input }), 'BAD_USER_INPUT');
    expect(error.details.field).toBe(field);
    expect(await runLog(engine(), runId)).toEqual(before);
    expect((await engine().patchQueries.ledger({ projectId: input.projectId ?? 'ledger-refused' }, { first: 10 })).edges).toEqual([]);
    expect((await engine().queries.runsByIds([runId]))[0]!.patchesCreated).toBe(0);
  });
});

describe('validation', () => {
  it('names each failed rule; a failing patch lands in APPLY_FAILED with the checks that failed', async () => {
    const { entry } = await createPatch({ projectId: 'strict', summary: 'tidy up' });
    const judged = await validate(entry.id);
    expect(judged).toMatchObject({
      state: 'apply_failed',
      validation: {
        format_ok: true,
        scope_ok: true,
        constraints_ok: false,
        validation_errors: ['require_issue_ref: the summary names no issue (#123, ABC-123 or an issue link)'],
      },
    });
    expect(judged.stateHistory.at(-1)!.reason).toBe('validation failed: require_issue_ref: the summary names no issue (#123, ABC-123 or an issue link)');
  });

  it("a run's resource scope bounds what its patches may change", async () => {
    const run = await engine().runs.createRun({
      projectId: 'ledger',
      phaseId: 'build',
      metadata: { resource_scope: { read: ['**'], write: ['docs/**'], create: [], forbidden: [] } },
    });
    const { entry } = await createPatch({ runId: run.id });
    expect((await validate(entry.id)).validation).toMatchObject({ scope_ok: false, constraints_ok: true, validation_errors: ['scope: src/app.ts may not be changed (not in write)'] });
  });
});

describe('applying', () => {
  it('counts attempts, keeps the last error, and counts a success on the run; a failure says why', async () => {
    const { id, runId } = await entryIn('queued');
    await applyFailed(id);
    await patches().retry(id);
    const done = await patches().recordApply(operator, { ledgerId: id, success: true, appliedFiles: ['src/app.ts'], workspacePath: '/w/1' });
    expect(done.apply).toMatchObject({ attempts: 2, applied_files: ['src/app.ts'], workspace_path: '/w/1' });
    const run = (await engine().queries.runsByIds([runId]))[0]!;
    expect(run).toMatchObject({ patchesCreated: 1, patchesApplied: 1, errors: 1 });
    expect((await runLog(engine(), runId)).filter((e) => e.kind === 'patch_apply_failed')[0]!.payload).toMatchObject({ errorCode: 'conflict', attempt: 1 });

    const queued = await entryIn('queued');
    const before = await stored(queued.id);
    const error = await refused(() => patches().recordApply(operator, { ledgerId: queued.id, success: false }), 'BAD_USER_INPUT');
    expect(error.details.field).toBe('errorMessage');
    expect(await stored(queued.id)).toBe(before);
  });

  it('verifying a patch of a run without gates needs testsPassed', async () => {
    const { id } = await entryIn('applied');
    const before = await stored(id);
    await refused(() => verify(id, null), 'BAD_USER_INPUT');
    expect(await stored(id)).toBe(before);
  });
});

describe('gates decide verification and commit', () => {
  const green = { totalTests: 10, passedTests: 10, failedTests: 0, skippedTests: 0 };
  const red = { totalTests: 10, passedTests: 8, failedTests: 2, skippedTests: 0 };

  async function runningGate(runId: string, name: string): Promise<string> {
    const gate = await engine().gates.create({ runId, name, type: 'unit_tests', criteria: { maxFailures: 0 } });
    await engine().gates.start(operator, gate.id, 'npm test');
    return gate.id;
  }
  const finish = (id: string, results: typeof green) => engine().gates.complete(operator, { id, exitCode: 0, results });

  it('an open gate holds verification and commit (GATES_PENDING); a failed one refuses commit (GATES_FAILED); neither writes', async () => {
    const { id, runId } = await entryIn('applied');
    const first = await runningGate(runId, 'unit');
    // testsPassed is not taken when the run has gates: they decide.
    const waiting = await refused(() => verify(id, true), 'GATES_PENDING');
    expect(waiting.message).toContain('unit (running)');
    await finish(first, green);
    expect((await verify(id, null)).state).toBe('verified');
    const second = await runningGate(runId, 'integration');
    const before = { entry: await stored(id), log: await runLog(engine(), runId) };
    expect((await refused(() => patches().commit(id), 'GATES_PENDING')).message).toContain('integration (running)');
    await finish(second, red);
    const logAfterGate = await runLog(engine(), runId);
    const failed = await refused(() => patches().commit(id), 'GATES_FAILED');
    expect(failed.details).toMatchObject({ entity: 'LedgerEntry', id, gates: ['integration'] });
    expect(await stored(id)).toBe(before.entry);
    expect(await runLog(engine(), runId)).toEqual(logAfterGate);
  });

  it('when every gate passed the patch is verified by them and commits', async () => {
    const { id, runId } = await entryIn('applied');
    const [unit, integration] = [await runningGate(runId, 'unit'), await runningGate(runId, 'integration')];
    await finish(unit, green);
    await finish(integration, green);
    const verified = await verify(id, null);
    expect(verified).toMatchObject({ state: 'verified', validation: { tests_ran: true, tests_passed: true } });
    expect(verified.stateHistory.at(-1)!.reason).toBe('all 2 gates passed');
    expect((await patches().commit(id)).state).toBe('committed');
  });

  it('a failed, errored or skipped gate fails verification: APPLY_FAILED, naming the gates', async () => {
    const { id, runId } = await entryIn('applied');
    await finish(await runningGate(runId, 'lint'), red);
    await engine().gates.complete(operator, { id: await runningGate(runId, 'e2e'), exitCode: 1 });
    await engine().gates.skip(await runningGate(runId, 'scan'), 'no scanner');
    const judged = await verify(id, true);
    expect(judged).toMatchObject({ state: 'apply_failed', validation: { tests_ran: true, tests_passed: false } });
    expect(judged.stateHistory.at(-1)!.reason).toBe('gates did not pass: lint (failed), e2e (error), scan (skipped)');
  });
});

describe('state notices', () => {
  it('every creation and move is announced once, after its write; a refused move announces nothing', async () => {
    const heard: { ledgerId: string; state: string }[] = [];
    const stop = engine().bus.subscribe('patch.state', (notice) => heard.push(notice));
    try {
      const { entry } = await createPatch({ projectId: 'watched' });
      await validate(entry.id);
      await refused(() => patches().commit(entry.id), 'INVALID_TRANSITION');
      expect(heard.map((n) => [n.ledgerId, n.state])).toEqual([
        [entry.id, 'created'],
        [entry.id, 'validated'],
      ]);
    } finally {
      stop();
    }
  });
});

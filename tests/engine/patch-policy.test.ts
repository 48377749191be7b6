import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConstraintsInput } from '../../src/engine/patches/policy-store.js';
import type { WorkerActor } from '../../src/engine/auth/identity.js';
import { createTestEngine } from '../helpers/engine.js';

/** Reports as an operator would (on any run). */
const operator: WorkerActor = { tokenId: null, tokenName: 'test', anyWorker: true };

type TestEngine = Awaited<ReturnType<typeof createTestEngine>>;
let engine: TestEngine;
beforeEach(async () => {
  engine = await createTestEngine();
});
afterEach(() => engine.dispose());

/** A git-style diff of the given files: each `[path, added lines, removed lines]`, or a binary file. */
function diffOf(files: ([path: string, added: string[], removed: string[]] | [path: string, 'binary'])[]): string {
  return files
    .map(([path, added, removed]) => {
      const head = `diff --git a/${path} b/${path}\nindex 1111111..2222222 100644\n`;
      if (added === 'binary') return `${head}Binary files a/${path} and b/${path} differ\n`;
      const body = [...removed!.map((l) => `-${l}`), ...added.map((l) => `+${l}`)].join('\n');
      return `${head}--- a/${path}\n+++ b/${path}\n@@ -1,${removed!.length} +1,${added.length} @@\n${body}\n`;
    })
    .join('');
}

const SMALL = diffOf([['src/app.ts', ['const b = 3;'], ['const b = 2;']]]);

async function validate(diffText: string, options: { summary?: string; reviewers?: string[]; projectId?: string } = {}) {
  const { entry } = await engine.patches.create(operator, {
    projectId: options.projectId ?? 'matrix',
    targetRepo: 'repo',
    diffText,
    summary: options.summary ?? 'fix #12',
    reviewers: options.reviewers ?? ['ana', 'bo'],
  });
  return engine.patches.validate(operator, entry.id);
}

/** Each constraint with a policy that it alone breaks on the given patch, and the one error expected. */
const MATRIX: { rule: string; constraints: ConstraintsInput; diff?: string; summary?: string; reviewers?: string[]; error: string }[] = [
  { rule: 'max_lines_changed', constraints: { maxLinesChanged: 1 }, error: 'max_lines_changed: 2 lines changed, at most 1 allowed' },
  {
    rule: 'max_files_changed',
    constraints: { maxFilesChanged: 1 },
    diff: diffOf([
      ['src/a.ts', ['x'], []],
      ['src/b.ts', ['y'], []],
    ]),
    error: 'max_files_changed: 2 files changed, at most 1 allowed',
  },
  { rule: 'forbid_binary_patches', constraints: { forbidBinaryPatches: true }, diff: diffOf([['assets/logo.png', 'binary']]), error: 'forbid_binary_patches: assets/logo.png is binary' },
  { rule: 'forbid_touching_paths', constraints: { forbidTouchingPaths: ['src/**/app.*', '.github/**'] }, error: 'forbid_touching_paths: src/app.ts may not be touched' },
  { rule: 'require_tests_for_paths', constraints: { requireTestsForPaths: ['src/**'] }, error: 'require_tests_for_paths: src/app.ts changed without a change to a test' },
  { rule: 'require_issue_ref', constraints: { requireIssueRef: true }, summary: 'make it faster', error: 'require_issue_ref: the summary names no issue (#123, ABC-123 or an issue link)' },
  { rule: 'min_reviewers', constraints: { minReviewers: 3 }, error: 'min_reviewers: 2 reviewers, at least 3 required' },
];

describe('patch policy: each constraint broken alone yields exactly its error', () => {
  it.each(MATRIX)('$rule', async ({ constraints, diff, summary, reviewers, error }) => {
    await engine.policies.set({ level: 'project', projectId: 'matrix', constraints });
    const entry = await validate(diff ?? SMALL, { summary, reviewers });
    expect(entry.validation.validation_errors).toEqual([error]);
    expect(entry.validation).toMatchObject({ format_ok: true, scope_ok: true, constraints_ok: false });
    expect(entry.state).toBe('apply_failed');
    // The same patch under the default policy passes: the error is the constraint's alone.
    const free = await validate(diff ?? SMALL, { summary, reviewers, projectId: 'no-policy' });
    expect(free.validation.validation_errors).toEqual([]);
    expect(free.state).toBe('validated');
  });

  it('a change that also touches a test satisfies require_tests_for_paths', async () => {
    await engine.policies.set({ level: 'project', projectId: 'matrix', constraints: { requireTestsForPaths: ['src/**'] } });
    const entry = await validate(
      diffOf([
        ['src/app.ts', ['a'], ['b']],
        ['src/app.test.ts', ['it()'], []],
      ]),
    );
    expect(entry.validation.validation_errors).toEqual([]);
  });

  it('issue references: #123, ABC-123 and issue links count; a colour code does not', async () => {
    await engine.policies.set({ level: 'project', projectId: 'matrix', constraints: { requireIssueRef: true } });
    for (const summary of ['fixes #123', 'PROJ-42: tidy', 'see https://git.example.test/org/repo/issues/7']) {
      expect((await validate(SMALL, { summary })).state, summary).toBe('validated');
    }
    expect((await validate(SMALL, { summary: 'colour &#123; and abc-1' })).state).toBe('apply_failed');
  });

  it('oscillation: a file flipping back and forth too often in its last changes', async () => {
    await engine.policies.set({ level: 'project', projectId: 'matrix', constraints: { oscillationWindow: 4, oscillationThreshold: 3 } });
    const flip = (from: string, to: string) => diffOf([['src/flag.ts', [`on = ${to};`], [`on = ${from};`]]]);
    expect((await validate(flip('false', 'true'))).state).toBe('validated');
    expect((await validate(flip('true', 'false'))).state).toBe('validated');
    expect((await validate(flip('false', 'true'))).state).toBe('validated');
    const fourth = await validate(flip('true', 'false'));
    expect(fourth.validation.validation_errors).toEqual(['oscillation: src/flag.ts flipped back and forth 3 times in its last 4 changes (threshold 3)']);
    // Another file, or another project, has its own history.
    expect((await validate(diffOf([['src/other.ts', ['on = true;'], ['on = false;']]]))).state).toBe('validated');
    expect((await validate(flip('true', 'false'), { projectId: 'elsewhere' })).state).toBe('validated');
  });

  it('the most specific policy wins: phase over project over global', async () => {
    await engine.policies.set({ level: 'global', constraints: { maxLinesChanged: 1 } });
    await engine.policies.set({ level: 'project', projectId: 'p', constraints: { maxLinesChanged: 10 } });
    await engine.policies.set({ level: 'phase', projectId: 'p', phaseId: 'ph', constraints: { maxLinesChanged: 100 } });
    expect((await engine.policies.effective('p', 'ph'))?.constraints.max_lines_changed).toBe(100);
    expect((await engine.policies.effective('p', 'other'))?.constraints.max_lines_changed).toBe(10);
    expect((await engine.policies.effective('q', null))?.constraints.max_lines_changed).toBe(1);
    // Setting a level again replaces its policy.
    await engine.policies.set({ level: 'project', projectId: 'p', constraints: { maxLinesChanged: 20 } });
    expect((await engine.policies.effective('p', null))?.constraints.max_lines_changed).toBe(20);
    expect(await engine.policies.list({})).toHaveLength(3);
  });

  it('refuses a policy the contract does not allow, or placed at the wrong level', async () => {
    await expect(engine.policies.set({ level: 'project', projectId: 'p', constraints: { maxLinesChanged: 0 } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(engine.policies.set({ level: 'project', projectId: 'p', constraints: { allowedFormats: ['zip'] } })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(engine.policies.set({ level: 'phase', projectId: 'p', constraints: {} })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(engine.policies.set({ level: 'global', projectId: 'p', constraints: {} })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await engine.policies.list({})).toEqual([]);
  });
});

describe("a run's resource scope", () => {
  const scope = { read: ['**'], write: ['src/**'], create: ['src/new/**'], forbidden: ['src/secrets/**'] };
  async function validateInRun(diffText: string) {
    const run = await engine.runs.createRun({ projectId: 'scoped', phaseId: 'p', metadata: { resource_scope: scope } });
    const { entry } = await engine.patches.create(operator, { projectId: 'scoped', runId: run.id, targetRepo: 'repo', diffText });
    return engine.patches.validate(operator, entry.id);
  }
  const added = (path: string) => `diff --git a/${path} b/${path}\nnew file mode 100644\n--- /dev/null\n+++ b/${path}\n@@ -0,0 +1 @@\n+x\n`;

  it.each([
    ['a change inside write', diffOf([['src/app.ts', ['a'], ['b']]]), []],
    ['a change outside write', diffOf([['docs/readme.md', ['a'], ['b']]]), ['scope: docs/readme.md may not be changed (not in write)']],
    ['a forbidden path', diffOf([['src/secrets/key.ts', ['a'], ['b']]]), ['scope: src/secrets/key.ts is forbidden']],
    ['a new file inside create', added('src/new/thing.ts'), []],
    ['a new file inside write', added('src/other.ts'), []],
    ['a new file outside create and write', added('lib/x.ts'), ['scope: lib/x.ts may not be created (not in create or write)']],
  ])('%s', async (_name, diffText, errors) => {
    const entry = await validateInRun(diffText);
    expect(entry.validation.validation_errors).toEqual(errors);
    expect(entry.validation.scope_ok).toBe(errors.length === 0);
  });
});

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUnifiedDiff } from '../../src/engine/patches/unified-diff.js';
import { makeWorkdir, workdirChanges } from '../../src/worker/workdir.js';

const run = promisify(execFile);
/** A fixed identity: the test's commits must not depend on the machine's git config. */
const IDENTITY = ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false'];
const git = async (cwd: string, ...args: string[]) => (await run('git', [...IDENTITY, ...args], { cwd })).stdout.trim();
const MAX = 1_048_576;

let tmp: string;
let origin: string;
let root: string;
const binaryBefore = randomBytes(3000);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'uet-workdir-'));
  origin = join(tmp, 'origin');
  root = join(tmp, 'tasks');
  await mkdir(join(origin, 'src'), { recursive: true });
  await git(origin, 'init', '--quiet', '--initial-branch=main');
  await writeFile(join(origin, 'src/app.ts'), 'const a = 1;\nconst b = 2;\nexport { a, b };\n');
  await writeFile(join(origin, 'src/old-name.ts'), Array.from({ length: 20 }, (_, i) => `export const line${i} = ${i};`).join('\n') + '\n');
  await writeFile(join(origin, 'obsolete.md'), '# Obsolete\n\nRemove me.\n');
  await writeFile(join(origin, 'logo.bin'), binaryBefore);
  await git(origin, 'add', '-A');
  await git(origin, 'commit', '--quiet', '-m', 'initial');
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('makeWorkdir', () => {
  it('clones the repository into a fresh folder with .uet/ made and ignored by git, and removes it', async () => {
    const workdir = await makeWorkdir(root, '01JTASK/../x', origin);
    expect(dirname(workdir.path)).toBe(root);
    expect(basename(workdir.path)).toMatch(/^task-01JTASK____x-/);
    expect(workdir.junitFile).toBe(join(workdir.path, '.uet', 'junit.xml'));
    expect(await readFile(join(workdir.path, 'src/app.ts'), 'utf8')).toContain('const b = 2;');
    await writeFile(workdir.junitFile, '<testsuites/>');
    expect(await git(workdir.path, 'status', '--porcelain')).toBe('');
    const other = await makeWorkdir(root, '01JTASK/../x', origin);
    expect(other.path).not.toBe(workdir.path);
    await workdir.remove();
    await other.remove();
    expect(existsSync(workdir.path)).toBe(false);
  });

  it('makes an empty folder without a repository', async () => {
    const workdir = await makeWorkdir(join(root, 'fresh', 'nested'), 't1', null);
    expect(existsSync(join(workdir.path, '.uet'))).toBe(true);
    expect(existsSync(join(workdir.path, '.git'))).toBe(false);
    expect(await workdirChanges(workdir.path, MAX)).toBeNull();
    await workdir.remove();
  });

  it('says why a clone failed and leaves no folder behind', async () => {
    await expect(makeWorkdir(join(tmp, 'failing'), 't2', join(tmp, 'no-such-repo'))).rejects.toThrow(/git clone failed in .*: fatal: .*no-such-repo/);
    const { stdout } = await run('ls', ['-A', join(tmp, 'failing')]);
    expect(stdout).toBe('');
  });

  it('takes a repository path that starts with "-" as a path, not an option', async () => {
    await expect(makeWorkdir(root, 't3', '--upload-pack=touch /tmp/uet-pwned')).rejects.toThrow(/git clone failed/);
    expect(existsSync('/tmp/uet-pwned')).toBe(false);
  });
});

describe('workdirChanges', () => {
  it('is null when the tool changed nothing', async () => {
    const workdir = await makeWorkdir(root, 'same', origin);
    await writeFile(workdir.junitFile, '<testsuites/>');
    expect(await workdirChanges(workdir.path, MAX)).toBeNull();
    await workdir.remove();
  });

  it('gives a diff the gateway parses and git applies: edits, a new file, a deletion, a binary file, a rename', async () => {
    const workdir = await makeWorkdir(root, 'edits', origin);
    const base = await git(workdir.path, 'rev-parse', 'HEAD');
    await writeFile(join(workdir.path, 'src/app.ts'), 'const a = 1;\nconst b = 3;\nexport { a, b };\n');
    await writeFile(join(workdir.path, 'src/new file.ts'), 'export const fresh = true;\n');
    await unlink(join(workdir.path, 'obsolete.md'));
    const binaryAfter = Buffer.concat([binaryBefore.subarray(0, 1000), randomBytes(500), binaryBefore.subarray(1500)]);
    await writeFile(join(workdir.path, 'logo.bin'), binaryAfter);
    await writeFile(join(workdir.path, 'icon.bin'), Buffer.from([0, 1, 2, 0, 255, 254]));
    await rename(join(workdir.path, 'src/old-name.ts'), join(workdir.path, 'src/new-name.ts'));
    await writeFile(workdir.junitFile, '<testsuites/>');

    const changes = await workdirChanges(workdir.path, MAX);
    expect(changes).not.toBeNull();
    expect(changes!.baseCommit).toBe(base);
    expect([...changes!.files].sort()).toEqual(['icon.bin', 'logo.bin', 'obsolete.md', 'src/app.ts', 'src/new file.ts', 'src/new-name.ts']);

    const parsed = parseUnifiedDiff(changes!.diffText);
    const byPath = Object.fromEntries(parsed.files.map((file) => [file.path, file]));
    expect(byPath['src/app.ts']).toMatchObject({ status: 'modified', insertions: 1, deletions: 1, added: ['const b = 3;'], removed: ['const b = 2;'] });
    expect(byPath['src/new file.ts']).toMatchObject({ status: 'added', oldPath: null, insertions: 1 });
    expect(byPath['obsolete.md']).toMatchObject({ status: 'deleted', newPath: null, deletions: 3 });
    expect(byPath['src/new-name.ts']).toMatchObject({ status: 'renamed', oldPath: 'src/old-name.ts', newPath: 'src/new-name.ts', insertions: 0, deletions: 0 });
    expect(byPath['logo.bin']).toMatchObject({ status: 'modified', binary: true });
    expect(byPath['icon.bin']).toMatchObject({ status: 'added', binary: true });
    expect(parsed.filesTouched).not.toContain('.uet/junit.xml');

    // The diff is the whole change: applied to a fresh clone of the base, it gives the same files, binary ones byte for byte.
    const check = await makeWorkdir(root, 'apply', origin);
    const patchFile = join(tmp, 'edits.patch');
    await writeFile(patchFile, changes!.diffText);
    await git(check.path, 'apply', '--index', patchFile);
    expect(await readFile(join(check.path, 'logo.bin'))).toEqual(binaryAfter);
    expect(await readFile(join(check.path, 'src/new-name.ts'), 'utf8')).toContain('export const line19 = 19;');
    expect(existsSync(join(check.path, 'obsolete.md'))).toBe(false);
    expect(await git(check.path, 'write-tree')).toBe(await git(workdir.path, 'write-tree'));
    await check.remove();
    await workdir.remove();
  });

  it('diffs against the empty tree when the tool ran git init without a commit', async () => {
    const workdir = await makeWorkdir(root, 'init', null);
    await git(workdir.path, 'init', '--quiet');
    await writeFile(join(workdir.path, 'hello.txt'), 'hello\n');
    await writeFile(workdir.junitFile, '<testsuites/>');
    const changes = await workdirChanges(workdir.path, MAX);
    expect(changes).toMatchObject({ baseCommit: null, files: ['hello.txt'] });
    expect(parseUnifiedDiff(changes!.diffText).files).toMatchObject([{ path: 'hello.txt', status: 'added', added: ['hello'] }]);
    await workdir.remove();
  });

  it('diffs a repository the tool made and committed in, against its commit', async () => {
    const workdir = await makeWorkdir(root, 'committed', null);
    await git(workdir.path, 'init', '--quiet');
    await writeFile(join(workdir.path, 'a.txt'), 'one\n');
    await git(workdir.path, 'add', 'a.txt');
    await git(workdir.path, 'commit', '--quiet', '-m', 'start');
    await writeFile(join(workdir.path, 'a.txt'), 'two\n');
    const changes = await workdirChanges(workdir.path, MAX);
    expect(changes!.baseCommit).toBe(await git(workdir.path, 'rev-parse', 'HEAD'));
    expect(parseUnifiedDiff(changes!.diffText).files).toMatchObject([{ path: 'a.txt', status: 'modified', added: ['two'], removed: ['one'] }]);
    await workdir.remove();
  });

  it('refuses a diff over the bound, saying so', async () => {
    const workdir = await makeWorkdir(root, 'big', origin);
    await writeFile(join(workdir.path, 'big.txt'), 'x'.repeat(80) + '\n'.repeat(1) + 'line\n'.repeat(50_000));
    await expect(workdirChanges(workdir.path, 100_000)).rejects.toThrow('make a diff of more than 100000 bytes, the most a patch may hold');
    expect((await workdirChanges(workdir.path, MAX))!.files).toEqual(['big.txt']);
    await workdir.remove();
  });

  it('refuses text that is not UTF-8 rather than send a changed patch', async () => {
    const workdir = await makeWorkdir(root, 'latin1', origin);
    await writeFile(join(workdir.path, 'latin1.txt'), Buffer.from('caf\xe9\n', 'latin1'));
    await expect(workdirChanges(workdir.path, MAX)).rejects.toThrow('not UTF-8');
    await workdir.remove();
  });

  it('never touches a repository around the folder', async () => {
    const outer = join(tmp, 'outer');
    await mkdir(outer);
    await git(outer, 'init', '--quiet');
    const workdir = await makeWorkdir(join(outer, 'tasks'), 'inside', null);
    await writeFile(join(workdir.path, 'stray.txt'), 'x\n');
    expect(await workdirChanges(workdir.path, MAX)).toBeNull();
    expect(await git(outer, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(await git(outer, 'ls-files')).toBe('');
    await workdir.remove();
  });

  it('runs no hook or fsmonitor command a tool configured in its folder', async () => {
    const workdir = await makeWorkdir(root, 'hostile', origin);
    const marker = join(tmp, 'fsmonitor-ran');
    await writeFile(join(tmp, 'monitor.sh'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    await git(workdir.path, 'config', 'core.fsmonitor', join(tmp, 'monitor.sh'));
    await writeFile(join(workdir.path, 'src/app.ts'), 'changed\n');
    const changes = await workdirChanges(workdir.path, MAX);
    expect(changes!.files).toEqual(['src/app.ts']);
    expect(existsSync(marker)).toBe(false);
    await workdir.remove();
  });
});

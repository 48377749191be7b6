import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { FileDiff, ParsedDiff } from '../../src/engine/patches/diff-types.js';
import { DiffParseError, parseUnifiedDiff } from '../../src/engine/patches/unified-diff.js';

/** Real `git diff` / `diff -u` output, byte for byte. */
const fixture = (name: string) => readFileSync(new URL(`../fixtures/diffs/${name}`, import.meta.url), 'utf8');

type FileSummary = Omit<FileDiff, 'added' | 'removed'>;

/**
 * One file's expected summary. `numstat` is the line `git diff --numstat` printed for the same change
 * (insertions, a tab, deletions; `-` for a binary file): the expected line counts come from it.
 */
function file(
  numstat: string,
  oldPath: string | null,
  newPath: string | null,
  status: FileDiff['status'],
  hunks: number,
  more: { binary?: boolean; oldMode?: string; newMode?: string } = {},
): FileSummary {
  const [insertions, deletions] = numstat.split('\t').map((n) => (n === '-' ? 0 : Number(n)));
  if (insertions === undefined || deletions === undefined) throw new Error(`not a numstat line: ${numstat}`);
  return {
    oldPath,
    newPath,
    path: (newPath ?? oldPath)!,
    status,
    binary: more.binary ?? false,
    oldMode: more.oldMode ?? null,
    newMode: more.newMode ?? null,
    hunks,
    insertions,
    deletions,
  };
}

function summary(diff: ParsedDiff) {
  return { ...diff, files: diff.files.map(({ added: _added, removed: _removed, ...rest }) => rest) };
}

const TAB_NAME = 'tab\tand "quote" back\\slash.txt';

const FIXTURES: { name: string; files: FileSummary[]; filesTouched: string[]; totals: [insertions: number, deletions: number, hunks: number] }[] = [
  {
    name: 'multi-hunk.diff',
    files: [file('2\t1', 'README.md', 'README.md', 'modified', 1), file('4\t3', 'src/server.ts', 'src/server.ts', 'modified', 3)],
    filesTouched: ['README.md', 'src/server.ts'],
    totals: [6, 4, 4],
  },
  {
    name: 'no-newline.diff',
    files: [file('1\t1', 'after-only.txt', 'after-only.txt', 'modified', 1), file('1\t1', 'before-only.txt', 'before-only.txt', 'modified', 1), file('1\t1', 'both.txt', 'both.txt', 'modified', 1)],
    filesTouched: ['after-only.txt', 'before-only.txt', 'both.txt'],
    totals: [3, 3, 3],
  },
  {
    name: 'add-delete.diff',
    files: [
      file('3\t0', null, 'docs/new.md', 'added', 1, { newMode: '100644' }),
      file('0\t0', null, 'empty.txt', 'added', 0, { newMode: '100644' }),
      file('0\t4', 'old/legacy.txt', null, 'deleted', 1, { oldMode: '100644' }),
    ],
    filesTouched: ['docs/new.md', 'empty.txt', 'old/legacy.txt'],
    totals: [3, 4, 2],
  },
  {
    name: 'rename-edit.diff',
    files: [file('1\t1', 'lib/util.js', 'lib/helpers.js', 'renamed', 1)],
    filesTouched: ['lib/util.js', 'lib/helpers.js'],
    totals: [1, 1, 1],
  },
  {
    name: 'pure-rename.diff',
    files: [file('0\t0', 'notes.txt', 'docs/notes.txt', 'renamed', 0)],
    filesTouched: ['notes.txt', 'docs/notes.txt'],
    totals: [0, 0, 0],
  },
  {
    name: 'copy.diff',
    files: [file('0\t0', 'config/base.json', 'config/mirror.json', 'copied', 0), file('1\t1', 'config/base.json', 'config/prod.json', 'copied', 1)],
    filesTouched: ['config/base.json', 'config/mirror.json', 'config/prod.json'],
    totals: [1, 1, 1],
  },
  {
    name: 'mode-change.diff',
    files: [file('0\t0', 'bin/run.sh', 'bin/run.sh', 'modified', 0, { oldMode: '100644', newMode: '100755' })],
    filesTouched: ['bin/run.sh'],
    totals: [0, 0, 0],
  },
  {
    name: 'binary.diff',
    files: [file('-\t-', 'assets/icon.bin', 'assets/icon.bin', 'modified', 0, { binary: true }), file('-\t-', null, 'assets/logo.png', 'added', 0, { binary: true, newMode: '100644' })],
    filesTouched: ['assets/icon.bin', 'assets/logo.png'],
    totals: [0, 0, 0],
  },
  {
    name: 'binary-literal.diff',
    files: [file('-\t-', 'assets/icon.bin', 'assets/icon.bin', 'modified', 0, { binary: true }), file('-\t-', null, 'assets/logo.png', 'added', 0, { binary: true, newMode: '100644' })],
    filesTouched: ['assets/icon.bin', 'assets/logo.png'],
    totals: [0, 0, 0],
  },
  {
    name: 'quoted-paths.diff',
    files: [
      file('1\t0', null, 'café.txt', 'added', 1, { newMode: '100644' }),
      file('1\t1', 'sp ace.txt', 'sp ace.txt', 'modified', 1),
      file('1\t1', TAB_NAME, TAB_NAME, 'modified', 1),
      file('0\t0', 'old name.txt', 'ñew name.txt', 'renamed', 0),
    ],
    filesTouched: ['café.txt', 'sp ace.txt', TAB_NAME, 'old name.txt', 'ñew name.txt'],
    totals: [3, 2, 3],
  },
  {
    name: 'format-patch.diff',
    files: [file('1\t1', 'src/app.ts', 'src/app.ts', 'modified', 1), file('1\t0', 'test/app.test.ts', 'test/app.test.ts', 'modified', 1)],
    filesTouched: ['src/app.ts', 'test/app.test.ts'],
    totals: [2, 1, 2],
  },
  {
    name: 'no-prefix.diff',
    files: [file('1\t1', 'a/config.ts', 'a/config.ts', 'modified', 1), file('1\t0', 'src/main.ts', 'src/main.ts', 'modified', 1)],
    filesTouched: ['a/config.ts', 'src/main.ts'],
    totals: [2, 1, 2],
  },
  {
    name: 'crlf.diff',
    files: [file('2\t1', 'win.txt', 'win.txt', 'modified', 1)],
    filesTouched: ['win.txt'],
    totals: [2, 1, 1],
  },
  {
    name: 'diff-u.diff',
    files: [file('1\t2', 'greeting.txt.orig', 'greeting.txt', 'modified', 2)],
    filesTouched: ['greeting.txt'],
    totals: [1, 2, 2],
  },
  {
    // `diff -ruN old new`: paths keep their directories; diff -N marks a missing side with the epoch (here in UTC-5).
    name: 'diff-ruN.diff',
    // The trees' roots (old/, new/) are dropped, as patch -p1 does.
    files: [
      file('3\t0', null, 'added.txt', 'added', 1),
      file('-\t-', 'data.bin', 'data.bin', 'modified', 0, { binary: true }),
      file('0\t2', 'gone.txt', null, 'deleted', 1),
      file('2\t1', 'src/main.c', 'src/main.c', 'modified', 1),
    ],
    filesTouched: ['added.txt', 'data.bin', 'gone.txt', 'src/main.c'],
    totals: [5, 3, 3],
  },
];

describe('parseUnifiedDiff on real git and diff output', () => {
  it.each(FIXTURES)('$name', ({ name, files, filesTouched, totals: [insertions, deletions, hunks] }) => {
    const parsed = parseUnifiedDiff(fixture(name));
    expect(summary(parsed)).toEqual({ files, filesTouched, insertions, deletions, hunks });
    for (const f of parsed.files) {
      expect(f.added).toHaveLength(f.insertions);
      expect(f.removed).toHaveLength(f.deletions);
    }
  });

  it('keeps the text of added and removed lines, without marker, \\r or the no-newline note', () => {
    const lines = (name: string) => parseUnifiedDiff(fixture(name)).files.map((f) => [f.path, f.added, f.removed]);
    expect(lines('multi-hunk.diff')).toEqual([
      ['README.md', ['Some better words.', 'And more.'], ['Some words.']],
      ['src/server.ts', ['export const v5 = 500;', '// added one', '// added two', '// added three'], ['export const v5 = 5;', 'export const v30 = 30;', 'export const v31 = 31;']],
    ]);
    expect(lines('no-newline.diff')).toEqual([
      ['after-only.txt', ['green'], ['green']],
      ['before-only.txt', ['beta'], ['beta']],
      ['both.txt', ['THREE'], ['three']],
    ]);
    expect(lines('crlf.diff')).toEqual([['win.txt', ['SECOND', 'sixth'], ['second']]]);
    expect(lines('quoted-paths.diff')[0]).toEqual(['café.txt', ['crème'], []]);
    expect(lines('diff-ruN.diff')[3]).toEqual(['src/main.c', ['  puts("hi");', '  return 0;'], ['  return 1;']]);
  });

  it('reads a diff whose every line ends in CRLF as the same diff', () => {
    for (const name of ['multi-hunk.diff', 'quoted-paths.diff', 'binary-literal.diff', 'format-patch.diff', 'diff-ruN.diff']) {
      const text = fixture(name);
      expect(parseUnifiedDiff(text.replace(/\n/g, '\r\n'))).toEqual(parseUnifiedDiff(text));
    }
  });

  it('takes a truly empty line inside a hunk as an empty context line', () => {
    const text = fixture('multi-hunk.diff');
    expect(text).toContain('\n \n');
    expect(parseUnifiedDiff(text.replace('\n \n', '\n\n'))).toEqual(parseUnifiedDiff(text));
  });

  it('reads a text without its final newline', () => {
    const text = fixture('no-newline.diff');
    expect(parseUnifiedDiff(text.slice(0, -1))).toEqual(parseUnifiedDiff(text));
  });

  it('reads the patches of a format-patch series, skipping each mail header and signature', () => {
    const one = fixture('format-patch.diff');
    const two = one.replace(/src\/app\.ts/g, 'src/other.ts').replace(/test\/app\.test\.ts/g, 'test/other.test.ts');
    const parsed = parseUnifiedDiff(one + two);
    expect(parsed.filesTouched).toEqual(['src/app.ts', 'test/app.test.ts', 'src/other.ts', 'test/other.test.ts']);
    expect([parsed.insertions, parsed.deletions, parsed.hunks]).toEqual([4, 2, 4]);
  });

  it('takes `-- ` inside a hunk as a removed line, not as a signature', () => {
    const parsed = parseUnifiedDiff('--- a/list.md\n+++ b/list.md\n@@ -1,2 +1,2 @@\n-- \n- x\n+* x\n+* y\n');
    expect(parsed.files[0]?.removed).toEqual(['- ', ' x']);
    expect(parsed.files[0]?.added).toEqual(['* x', '* y']);
  });

  it('unquotes and splits the diff --git paths when no other line names the file', () => {
    const modeOnly = (header: string) => parseUnifiedDiff(`diff --git ${header}\nold mode 100644\nnew mode 100755\n`).files[0];
    expect(modeOnly('a/sp ace b/sp ace')).toMatchObject({ oldPath: 'sp ace', newPath: 'sp ace', oldMode: '100644', newMode: '100755' });
    expect(modeOnly('"a/x\\ty\\"\\\\\\303\\251" "b/x\\ty\\"\\\\\\303\\251"')?.path).toBe('x\ty"\\é');
    expect(modeOnly('a b/c a b/c')?.path).toBe('a b/c');
    expect(modeOnly('dir/a b/c dir/a b/c')?.path).toBe('dir/a b/c');
    const day = '\\346\\227\\245.bin';
    const binary = parseUnifiedDiff(`diff --git "a/${day}" "b/${day}"\nindex 1..2 100644\nBinary files "a/${day}" and "b/${day}" differ\n`);
    expect(binary.files[0]).toMatchObject({ path: '日.bin', binary: true, status: 'modified' });
  });

  it('skips `diff` command lines and blank lines between files', () => {
    const text = 'diff -u a.txt b.txt\n--- a.txt\n+++ b.txt\n@@ -1 +1 @@\n-x\n+y\n\n\ndiff -u c.txt d.txt\n--- c.txt\n+++ d.txt\n@@ -1 +1 @@\n-x\n+y\n\n';
    expect(parseUnifiedDiff(text).filesTouched).toEqual(['b.txt', 'd.txt']);
  });
});

/** The DiffParseError parsing `text` throws (any other outcome fails the test). */
function refusal(text: unknown): DiffParseError {
  try {
    parseUnifiedDiff(text as string);
  } catch (error) {
    expect(error).toBeInstanceOf(DiffParseError);
    return error as DiffParseError;
  }
  throw new Error('expected a DiffParseError');
}

const GIT_HEAD = 'diff --git a/x b/x\nindex 1111111..2222222 100644\n';
const PLAIN = '--- a/x\n+++ b/x\n';

/** `diff -ru old new` without -N, captured from GNU diff 3.8 on the directories of diff-ruN.diff. */
const DIFF_RU = [
  'Only in new: added.txt',
  'Binary files old/data.bin and new/data.bin differ',
  'Only in old: gone.txt',
  'diff -ru old/src/main.c new/src/main.c',
  '--- old/src/main.c\t2026-01-10 08:30:00.000000000 +0000',
  '+++ new/src/main.c\t2026-01-10 08:30:00.000000000 +0000',
  '@@ -1,3 +1,4 @@',
  ' int main(void) {',
  '-  return 1;',
  '+  puts("hi");',
  '+  return 0;',
  ' }',
  '',
].join('\n');

const REFUSALS: { what: string; text: unknown; line: number; message: string }[] = [
  { what: 'empty text', text: '', line: 1, message: 'no file in the diff' },
  { what: 'whitespace only', text: ' \n\t\r\n\n', line: 1, message: 'no file in the diff' },
  { what: 'not a string', text: null, line: 1, message: 'no file in the diff' },
  { what: 'prose', text: 'hello world\n', line: 1, message: 'expected a file header' },
  { what: 'a JSON document', text: JSON.stringify({ diff: '--- a', patch: ['+++ b'] }, null, 2), line: 1, message: 'expected a file header' },
  {
    what: 'a Python traceback',
    text: 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    main()\nValueError: bad value\n',
    line: 1,
    message: 'expected a file header',
  },
  { what: 'hunks without a file header', text: '@@ -1 +1 @@\n-a\n+b\n', line: 1, message: 'expected a file header' },
  { what: '--- without +++ in a git file', text: `${GIT_HEAD}--- a/x\n@@ -1 +1 @@\n-a\n+b\n`, line: 3, message: 'expected a +++ line' },
  {
    what: '--- without +++ after a file',
    text: `${PLAIN}@@ -1 +1 @@\n-a\n+b\n--- a/y\n@@ -1 +1 @@\n`,
    line: 6,
    message: 'expected a +++ line after this --- line, or fewer lines in the hunk at line 3',
  },
  { what: '--- without +++ after a git header', text: `${GIT_HEAD}--- a/x\n`, line: 3, message: 'expected a +++ line' },
  { what: 'a hunk header with a bad count', text: `${PLAIN}@@ -1,x +1 @@\n-a\n`, line: 3, message: 'expected a hunk header' },
  { what: 'a hunk header without its closing @@', text: `${PLAIN}@@ -1 +1\n-a\n+b\n`, line: 3, message: 'expected a hunk header' },
  { what: 'a combined diff hunk header', text: `${PLAIN}@@@ -1 -1 +1 @@@\n`, line: 3, message: 'expected a hunk header' },
  { what: 'a hunk header promising nothing', text: `${PLAIN}@@ -1,0 +1,0 @@\n`, line: 3, message: 'promises no lines' },
  {
    what: 'a hunk cut short by the end',
    text: `${PLAIN}@@ -1,3 +1,3 @@\n a\n-b\n+c\n`,
    line: 7,
    message: 'the diff ends inside the hunk at line 3: expected 1 more old and 1 more new lines',
  },
  {
    what: 'a hunk cut short by the next file',
    text: `${GIT_HEAD}--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n${GIT_HEAD}`,
    line: 8,
    message: 'the hunk at line 5 is cut short',
  },
  {
    what: 'a hunk with an added line too many',
    text: `${PLAIN}@@ -1 +1 @@\n-a\n+b\n+c\n`,
    line: 6,
    message: 'the hunk at line 3 has more lines than its header says',
  },
  { what: 'a hunk with a removed line too many', text: `${PLAIN}@@ -1 +1,2 @@\n-a\n-b\n+c\n`, line: 5, message: 'the hunk at line 3 has more removed lines' },
  { what: 'a hunk with a context line too many', text: `${PLAIN}@@ -1,2 +1,1 @@\n-a\n b\n c\n`, line: 6, message: 'the hunk at line 3 has more lines' },
  { what: 'a + line after a git header', text: `${GIT_HEAD}+a\n`, line: 3, message: 'a hunk line outside any hunk' },
  { what: 'a context line after ---/+++', text: `${PLAIN} a\n`, line: 3, message: 'a hunk line outside any hunk' },
  { what: 'a file with nothing but ---/+++', text: '--- a\n+++ b\n', line: 1, message: 'b: expected a hunk' },
  { what: 'a git file with nothing but index', text: `${GIT_HEAD}diff --git a/y b/y\nnew file mode 100644\n`, line: 1, message: 'x: expected a hunk' },
  {
    what: 'garbage between files',
    text: `${PLAIN}@@ -1 +1 @@\n-a\n+b\nsee above\n`,
    line: 6,
    message: 'expected a file header (diff --git, or --- and +++) or a hunk, not "see above"',
  },
  { what: 'garbage in a git header', text: `${GIT_HEAD}similarity 50%\n`, line: 3, message: 'expected a git extended header line' },
  { what: '"Only in" lines of diff -r', text: DIFF_RU, line: 1, message: '"Only in" line' },
  { what: 'an "Only in" line after a file', text: `${PLAIN}@@ -1 +1 @@\n-a\n+b\nOnly in b: y\n`, line: 6, message: '"Only in" line' },
  { what: 'a \\ line outside any hunk', text: `${PLAIN}\\ No newline at end of file\n`, line: 3, message: 'follows no hunk line' },
  { what: 'a \\ line first in a hunk', text: `${PLAIN}@@ -1 +1 @@\n\\ No newline at end of file\n-a\n+b\n`, line: 4, message: 'is cut short' },
  { what: 'a bad file mode', text: 'diff --git a/x b/x\nold mode 644\nnew mode 755\n', line: 2, message: 'octal file mode' },
  { what: 'an unterminated quoted path', text: 'diff --git "a/x b/x\nold mode 100644\n', line: 1, message: 'closing quote' },
  { what: 'a bad escape in a quoted path', text: `${PLAIN.slice(0, 8)}+++ "b/\\q"\n@@ -1 +1 @@\n-a\n+b\n`, line: 2, message: 'bad escape \\q' },
  {
    what: 'a git binary patch without its block',
    text: 'diff --git a/x b/x\nGIT binary patch\nhello\n',
    line: 3,
    message: 'expected "literal N" or "delta N"',
  },
  { what: 'a git binary patch with a bad line', text: 'diff --git a/x b/x\nGIT binary patch\nliteral 3\nnot base85 at all\n\n', line: 4, message: 'base85' },
  {
    what: 'a git binary patch cut short',
    text: 'diff --git a/x b/x\nGIT binary patch\nliteral 0\nHcmV?d00001\n',
    line: 5,
    message: 'ends inside the binary patch of x',
  },
  { what: 'a combined diff', text: 'diff --cc x\nindex 1,2..3\n', line: 1, message: 'expected a file header' },
  { what: 'a combined diff after a file', text: `${PLAIN}@@ -1 +1 @@\n-a\n+b\ndiff --cc x\n`, line: 6, message: 'combined (merge) diffs are not supported' },
  { what: 'both sides /dev/null', text: '--- /dev/null\n+++ /dev/null\n@@ -0,0 +1 @@\n+a\n', line: 1, message: 'both sides' },
];

describe('parseUnifiedDiff refusals', () => {
  it.each(REFUSALS)('$what: line $line', ({ text, line, message }) => {
    const error = refusal(text);
    expect(error.line).toBe(line);
    expect(error.message).toContain(message);
  });
});

/** Where each hunk's header and body lie in a well-formed diff (indexes into its lines), found without the parser. */
function hunkBodies(lines: string[]): { header: number; end: number }[] {
  const out: { header: number; end: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(lines[i]!);
    if (!m) continue;
    let owed = Number(m[1] ?? 1) + Number(m[2] ?? 1);
    const header = i;
    while (owed > 0) {
      i += 1;
      if (lines[i]!.startsWith('\\')) continue;
      owed -= lines[i]!.startsWith(' ') ? 2 : 1;
    }
    out.push({ header, end: i + 1 });
  }
  return out;
}

describe('parseUnifiedDiff on cut diffs', () => {
  it.each(FIXTURES.map((f) => f.name))('%s: a cut inside a hunk is refused; any other cut parses the files before it', (name) => {
    const text = fixture(name);
    const full = parseUnifiedDiff(text);
    const lines = text.split('\n').slice(0, -1);
    const bodies = hunkBodies(lines);
    // The lines that start a file: diff --git in git output; diff -ruN, or a Binary line of its own, in diff -r output.
    const git = lines.some((l) => l.startsWith('diff --git '));
    const starts = lines.flatMap((l, i) => ((git ? /^diff --git / : /^diff -ruN |^Binary files /).test(l) ? [i] : []));
    let insideHunk = 0;
    for (let kept = 0; kept < lines.length; kept++) {
      const cut = lines.slice(0, kept).join('\n') + (kept > 0 ? '\n' : '');
      const inside = bodies.some((b) => b.header < kept && kept < b.end);
      let parsed: ParsedDiff | null = null;
      try {
        parsed = parseUnifiedDiff(cut);
      } catch (error) {
        expect(error, `cut after ${kept} lines`).toBeInstanceOf(DiffParseError);
      }
      if (inside) {
        insideHunk += 1;
        expect(parsed, `cut after ${kept} lines, inside a hunk`).toBeNull();
      }
      const boundary = kept > starts[0]! && starts.includes(kept);
      if (boundary) expect(parsed, `cut after ${kept} lines, before a file`).not.toBeNull();
      if (!parsed) continue;
      expect(parsed.files.length).toBeLessThanOrEqual(full.files.length);
      const last = parsed.files.length - 1;
      expect(parsed.files.slice(0, last)).toEqual(full.files.slice(0, last));
      const { oldPath, newPath, status } = full.files[last]!;
      expect(parsed.files[last]).toMatchObject({ oldPath, newPath, status });
      // Cut right before a file header: exactly the files before it.
      if (boundary) expect(parsed.files).toHaveLength(starts.filter((s) => s < kept).length);
    }
    expect(insideHunk).toBe(bodies.reduce((n, b) => n + (b.end - b.header - 1), 0));
  });

  it('never throws anything but DiffParseError on mangled fixtures', () => {
    // A small deterministic generator (mulberry32), so a failure can be replayed.
    let seed = 42;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabet = ['\n', '\r', '+', '-', ' ', '@', '"', '\\', '\t', 'a', '0', ',', '/'];
    let refused = 0;
    for (const { name } of FIXTURES) {
      const text = fixture(name);
      for (let round = 0; round < 200; round++) {
        let mangled = text;
        for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
          const at = Math.floor(random() * mangled.length);
          const char = alphabet[Math.floor(random() * alphabet.length)];
          const kind = Math.floor(random() * 3);
          mangled = mangled.slice(0, at) + (kind === 2 ? '' : char) + mangled.slice(kind === 1 ? at : at + 1);
        }
        try {
          parseUnifiedDiff(mangled);
        } catch (error) {
          expect(error).toBeInstanceOf(DiffParseError);
          expect((error as DiffParseError).line).toBeGreaterThanOrEqual(1);
          refused += 1;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});

describe('parseUnifiedDiff speed', () => {
  it('parses a 5 MB diff of many files and hunks well under a second', () => {
    const parts: string[] = [];
    let size = 0;
    let files = 0;
    while (size < 5 * 1024 * 1024) {
      const path = `src/module-${files}/file-${files}.ts`;
      let body = `diff --git a/${path} b/${path}\nindex 1234567..89abcde 100644\n--- a/${path}\n+++ b/${path}\n`;
      for (let h = 0; h < 8; h++) {
        const at = 1 + h * 40;
        body += `@@ -${at},8 +${at},9 @@ export function f${h}() {\n`;
        body += `   const a${h} = compute(${h}, 'context line before the change');\n`.repeat(3);
        body += `-  return oldValue${h} + 1; // removed line of file ${files}\n`.repeat(2);
        body += `+  return newValue${h} + 2; // added line of file ${files}\n`.repeat(3);
        body += `   const z${h} = compute(${h}, 'context line after the change');\n`.repeat(3);
      }
      parts.push(body);
      size += body.length;
      files += 1;
    }
    const text = parts.join('');
    const started = performance.now();
    const parsed = parseUnifiedDiff(text);
    const elapsed = performance.now() - started;
    console.log(`parseUnifiedDiff: ${(text.length / 1024 / 1024).toFixed(1)} MB, ${files} files, ${files * 8} hunks in ${elapsed.toFixed(1)} ms`);
    expect(parsed.files).toHaveLength(files);
    expect([parsed.hunks, parsed.insertions, parsed.deletions]).toEqual([files * 8, files * 24, files * 16]);
    expect(elapsed).toBeLessThan(2000);
  });
});

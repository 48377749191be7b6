import type { FileDiff, ParsedDiff } from './diff-types.js';

/** Why a text is not a diff we accept. `line` is 1-based; one past the last line when the text ends too early. */
export class DiffParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'DiffParseError';
  }
}

/**
 * Parses what `git diff` (also with --binary, -M, -C, --no-prefix, or as
 * format-patch) and `diff -u` / `diff -ruN` print: the files, their status,
 * paths and modes, and the added and removed lines of each hunk, whose counts
 * must match the hunk header. Free text before the first file header (a
 * commit message) and after a format-patch signature is skipped; any other
 * text that is not part of a diff is refused. One pass over the lines.
 */
export function parseUnifiedDiff(text: string): ParsedDiff {
  if (typeof text !== 'string' || text.trim() === '') throw new DiffParseError(1, 'no file in the diff');
  return new Parser(text).parse();
}

/** Linear: no quantifier can match what its neighbour matches, so no backtracking; 9 digits keep counts finite. */
const HUNK_HEADER = /^@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@/;
const MODE = /^[0-7]{6}$/;
const BINARY_BLOCK = /^(?:literal|delta) \d{1,12}$/;
const BASE85 = /^[0-9A-Za-z!#$%&()*+\-;<=>?@^_`{|}~]+$/;
/** The timestamp `diff -N` gives the side where a file is missing: the Unix epoch in local time. */
const EPOCH = /^(1970-01-01|1969-12-31) (\d\d):(\d\d):(\d\d)(?:\.0+)? ([+-])(\d\d)(\d\d)$/;
const ESCAPES = new Map([
  ['a', 7],
  ['b', 8],
  ['t', 9],
  ['n', 10],
  ['v', 11],
  ['f', 12],
  ['r', 13],
  ['"', 34],
  ['\\', 92],
]);

/** The file being read, and what the parser needs to know of it beyond its FileDiff. */
interface OpenFile {
  diff: FileDiff;
  /** Its first line, for errors about the file as a whole. */
  line: number;
  /** The `diff --git` line shows `a/` and `b/` prefixes, to strip from the `---` and `+++` paths. */
  strip: boolean;
  /** Still in the git extended header: before `---`, a hunk or binary data. */
  header: boolean;
  /** Binary, mode, rename, copy, new or deleted: may have no hunks. */
  marked: boolean;
  /** From diff -u / diff -r, without git's header. */
  plain: boolean;
}

class Parser {
  private readonly lines: string[];
  private readonly files: FileDiff[] = [];
  private file: OpenFile | null = null;
  /** Before the first file header, and after a format-patch signature: free text, skipped. */
  private preamble = true;
  /** Lines the current hunk still owes on each side, and the line of its header. */
  private oldOwed = 0;
  private newOwed = 0;
  private hunkLine = 0;
  /** The previous line was a hunk body line, which a `\ No newline at end of file` may follow. */
  private afterBody = false;

  constructor(text: string) {
    this.lines = text.split('\n');
    // A final newline ends the last line; it does not start another.
    if (this.lines[this.lines.length - 1] === '') this.lines.pop();
  }

  parse(): ParsedDiff {
    const count = this.lines.length;
    for (let i = 0; i < count; i++) {
      const line = this.at(i);
      if (this.oldOwed > 0 || this.newOwed > 0) {
        this.body(line, i + 1);
        continue;
      }
      const afterBody = this.afterBody;
      this.afterBody = false;
      if (this.preamble) {
        if (isOnlyIn(line)) throw onlyIn(i + 1);
        if (!this.startsFile(line, i)) continue;
        this.preamble = false;
      }
      i = this.outside(line, i, afterBody);
    }
    if (this.oldOwed > 0 || this.newOwed > 0) {
      throw new DiffParseError(count + 1, `the diff ends inside the hunk at line ${this.hunkLine}: ${this.owed()}`);
    }
    this.finish();
    if (this.files.length === 0) throw new DiffParseError(1, 'expected a file header (diff --git, or --- followed by +++), found none');
    return summarize(this.files);
  }

  /** Line i without the \r of a CRLF terminator ('' past the end). */
  private at(i: number): string {
    const line = this.lines[i] ?? '';
    return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
  }

  private next(i: number): string {
    return i + 1 < this.lines.length ? this.at(i + 1) : '';
  }

  /** In free text: whether this line starts a file. */
  private startsFile(line: string, i: number): boolean {
    return line.startsWith('diff --git ') || (line.startsWith('--- ') && this.next(i).startsWith('+++ ')) || (line.startsWith('Binary files ') && line.endsWith(' differ'));
  }

  /** A line the current hunk still owes. */
  private body(line: string, n: number): void {
    const diff = this.file!.diff;
    const c = line.charCodeAt(0);
    if (c === 43 /* + */) {
      if (this.newOwed === 0) throw this.overrun(n, 'added');
      this.newOwed -= 1;
      diff.insertions += 1;
      diff.added.push(line.slice(1));
    } else if (c === 45 /* - */) {
      if (this.oldOwed === 0) throw this.overrun(n, 'removed');
      this.oldOwed -= 1;
      diff.deletions += 1;
      diff.removed.push(line.slice(1));
    } else if (c === 32 /* space */ || line === '') {
      // Some tools and editors drop the space of an empty context line.
      if (this.oldOwed === 0 || this.newOwed === 0) throw this.overrun(n, 'context');
      this.oldOwed -= 1;
      this.newOwed -= 1;
    } else if (c === 92 /* \ */ && this.afterBody) {
      // `\ No newline at end of file`: about the line before, not a line itself.
      this.afterBody = false;
      return;
    } else {
      throw new DiffParseError(n, `the hunk at line ${this.hunkLine} is cut short: ${this.owed()}`);
    }
    this.afterBody = true;
  }

  /** A line outside any hunk body; returns the index of the last line it used. */
  private outside(line: string, i: number, afterBody: boolean): number {
    const n = i + 1;
    if (line.startsWith('diff --git ')) {
      this.finish();
      this.openGit(line.slice(11), n);
    } else if (line.startsWith('--- ') && this.next(i).startsWith('+++ ')) {
      this.paths(i);
      return i + 1;
    } else if (line.startsWith('@@')) {
      this.hunk(line, n);
    } else if (this.file?.header && this.extended(line, n)) {
      // An extended header line, recorded.
    } else if (this.file?.header && line === 'GIT binary patch') {
      return this.binaryPatch(i);
    } else if (line.startsWith('Binary files ') && line.endsWith(' differ')) {
      this.binaryFiles(line, n);
    } else if (line === '-- ') {
      // format-patch's signature (`-- ` then git's version): free text up to the next patch of a series, if any.
      this.finish();
      this.preamble = true;
    } else if (line.startsWith('diff --cc ') || line.startsWith('diff --combined ')) {
      throw new DiffParseError(n, 'combined (merge) diffs are not supported');
    } else if (line.startsWith('diff ')) {
      // The command line `diff -r` prints before each file.
      this.finish();
    } else if (line !== '' && !(afterBody && line.charCodeAt(0) === 92 /* \ No newline after a hunk's last line */)) {
      throw this.unexpected(line, n);
    }
    return i;
  }

  private unexpected(line: string, n: number): DiffParseError {
    if (isOnlyIn(line)) return onlyIn(n);
    const file = this.file;
    const c = line[0];
    if (c === '+' || c === '-' || c === ' ') {
      const afterHunk = file !== null && !file.header && file.diff.hunks > 0;
      // After a hunk, `--- x` is a file header missing its `+++`, or the removed line `-- x` of an overrunning hunk.
      if (line.startsWith('--- ')) {
        const or = afterHunk ? `, or fewer lines in the hunk at line ${this.hunkLine}` : '';
        return new DiffParseError(n, `expected a +++ line after this --- line${or}`);
      }
      if (afterHunk) return this.overrun(n);
      return new DiffParseError(n, 'a hunk line outside any hunk (expected a @@ -a,b +c,d @@ header before it)');
    }
    if (c === '\\') return new DiffParseError(n, 'a "\\ No newline at end of file" line that follows no hunk line');
    const expected = file?.header ? 'a git extended header line, --- and +++, or a hunk' : 'a file header (diff --git, or --- and +++) or a hunk';
    return new DiffParseError(n, `expected ${expected}, not ${JSON.stringify(line.slice(0, 80))}`);
  }

  private overrun(n: number, kind?: string): DiffParseError {
    return new DiffParseError(n, `the hunk at line ${this.hunkLine} has more ${kind ? `${kind} ` : ''}lines than its header says`);
  }

  private owed(): string {
    return `expected ${this.oldOwed} more old and ${this.newOwed} more new lines`;
  }

  private open(n: number, git: boolean, strip: boolean): OpenFile {
    const diff: FileDiff = {
      oldPath: null,
      newPath: null,
      path: '',
      status: 'modified',
      binary: false,
      oldMode: null,
      newMode: null,
      hunks: 0,
      insertions: 0,
      deletions: 0,
      added: [],
      removed: [],
    };
    this.file = { diff, line: n, strip, header: git, marked: false, plain: !git };
    return this.file;
  }

  /** `diff --git A B`: the paths until rename, copy, `---` or `+++` lines say better. */
  private openGit(rest: string, n: number): void {
    const [a, b] = gitNames(rest, n);
    // --no-prefix (or custom prefixes): keep the paths as they are.
    const strip = a.startsWith('a/') && b.startsWith('b/');
    const { diff } = this.open(n, true, strip);
    diff.oldPath = strip ? a.slice(2) : a;
    diff.newPath = strip ? b.slice(2) : b;
  }

  /** `--- old` then `+++ new` (line i and the next): a git file's paths, or a plain diff's next file. */
  private paths(i: number): void {
    let file = this.file;
    if (!file?.header) {
      this.finish();
      file = this.open(i + 1, false, false);
    }
    const { diff } = file;
    const older = headerPath(this.at(i).slice(4), i + 1, file.strip ? 'a/' : '');
    const newer = headerPath(this.at(i + 1).slice(4), i + 2, file.strip ? 'b/' : '');
    const [oldName, newName] = file.plain ? dropRoots(older.name, newer.name) : [older.name, newer.name];
    const oldPath = older.path === null ? null : oldName;
    const newPath = newer.path === null ? null : newName;
    // Rename and copy lines name the paths exactly (no prefix to guess); here only whether a side exists counts.
    const exact = diff.status === 'renamed' || diff.status === 'copied';
    if (oldPath === null || !exact) diff.oldPath = oldPath;
    if (newPath === null || !exact) diff.newPath = newPath;
    file.header = false;
  }

  /** A git extended header line (index, modes, similarity, rename, copy); false for any other line. */
  private extended(line: string, n: number): boolean {
    const file = this.file!;
    const { diff } = file;
    if (line.startsWith('index ') || line.startsWith('similarity index ') || line.startsWith('dissimilarity index ')) return true;
    if (line.startsWith('new file mode ')) {
      diff.newMode = mode(line.slice(14), n);
      diff.oldPath = null;
    } else if (line.startsWith('deleted file mode ')) {
      diff.oldMode = mode(line.slice(18), n);
      diff.newPath = null;
    } else if (line.startsWith('old mode ')) {
      diff.oldMode = mode(line.slice(9), n);
    } else if (line.startsWith('new mode ')) {
      diff.newMode = mode(line.slice(9), n);
    } else if (line.startsWith('rename from ') || line.startsWith('copy from ')) {
      diff.status = line[0] === 'r' ? 'renamed' : 'copied';
      diff.oldPath = plainOrQuoted(line.slice(line.indexOf(' from ') + 6), n);
    } else if (line.startsWith('rename to ') || line.startsWith('copy to ')) {
      diff.status = line[0] === 'r' ? 'renamed' : 'copied';
      diff.newPath = plainOrQuoted(line.slice(line.indexOf(' to ') + 4), n);
    } else {
      return false;
    }
    file.marked = true;
    return true;
  }

  private hunk(line: string, n: number): void {
    const file = this.file;
    if (!file || file.diff.binary) throw new DiffParseError(n, 'a hunk with no file header (diff --git, or --- and +++) before it');
    const m = HUNK_HEADER.exec(line);
    if (!m) throw new DiffParseError(n, `expected a hunk header like @@ -a,b +c,d @@, not ${JSON.stringify(line.slice(0, 80))}`);
    // An omitted count means one line.
    this.oldOwed = m[2] === undefined ? 1 : Number(m[2]);
    this.newOwed = m[4] === undefined ? 1 : Number(m[4]);
    if (this.oldOwed + this.newOwed === 0) throw new DiffParseError(n, 'a hunk header that promises no lines');
    // A side that does not exist (/dev/null, or diff -N's epoch timestamp) has no lines to take or leave
    // (both sides missing is refused as such when the file closes).
    if (file.diff.oldPath === null && file.diff.newPath !== null && this.oldOwed > 0) {
      throw new DiffParseError(n, `${name(file.diff)} is a new file (its old side is /dev/null), but the hunk takes ${this.oldOwed} old lines`);
    }
    if (file.diff.newPath === null && file.diff.oldPath !== null && this.newOwed > 0) {
      throw new DiffParseError(n, `${name(file.diff)} is deleted (its new side is /dev/null), but the hunk leaves ${this.newOwed} new lines`);
    }
    this.hunkLine = n;
    file.header = false;
    file.diff.hunks += 1;
  }

  /** `Binary files X and Y differ`: in a git header, about its file; elsewhere (diff -r), a file of its own. */
  private binaryFiles(line: string, n: number): void {
    let file = this.file;
    if (!file?.header) {
      this.finish();
      file = this.open(n, false, false);
      const [a, b] = dropRoots(...binaryNames(line.slice(13, -7), n));
      file.diff.oldPath = a === '/dev/null' ? null : a;
      file.diff.newPath = b === '/dev/null' ? null : b;
    }
    file.diff.binary = true;
    file.marked = true;
    file.header = false;
  }

  /**
   * `GIT binary patch` at line i: a `literal N` or `delta N` block of base85
   * lines ended by a blank line, then optionally the reverse block. Returns
   * the index of the last line used.
   */
  private binaryPatch(i: number): number {
    const file = this.file!;
    file.diff.binary = true;
    file.marked = true;
    file.header = false;
    const count = this.lines.length;
    for (let block = 0; block < 2; block++) {
      const head = this.next(i);
      if (!BINARY_BLOCK.test(head)) {
        if (block === 1) return i;
        throw new DiffParseError(i + 2, 'expected "literal N" or "delta N" after GIT binary patch');
      }
      const start = (i += 2);
      for (; ; i++) {
        if (i >= count) throw new DiffParseError(count + 1, `the diff ends inside the binary patch of ${name(file.diff)}`);
        const line = this.at(i);
        if (line === '') break;
        if (!isBase85Line(line)) throw new DiffParseError(i + 1, 'expected a base85 line of the binary patch, or a blank line ending it');
      }
      if (i === start) throw new DiffParseError(i + 1, `expected base85 data after "${head}"`);
    }
    return i;
  }

  /** Closes the open file: checks it says something, settles its status and path. */
  private finish(): void {
    const file = this.file;
    if (!file) return;
    this.file = null;
    const { diff } = file;
    if (diff.hunks === 0 && !file.marked) {
      const expected = 'a hunk (@@ -a,b +c,d @@), or a binary, mode, rename, copy, new or deleted file header';
      throw new DiffParseError(file.line, `${name(diff)}: expected ${expected}`);
    }
    if (diff.oldPath === null && diff.newPath === null) throw new DiffParseError(file.line, 'both sides of the file are /dev/null');
    if (diff.oldPath === null) diff.status = 'added';
    else if (diff.newPath === null) diff.status = 'deleted';
    diff.path = (diff.newPath ?? diff.oldPath)!;
    this.files.push(diff);
  }
}

/**
 * diff -r of two trees names each side under its own root (old/src/x,
 * new/src/x): drop the roots, as `patch -p1` does, so that paths read as the
 * repository's. Two different files (diff -u a.orig a) keep their names.
 */
function dropRoots(oldPath: string, newPath: string): [string, string] {
  const oldSlash = oldPath.indexOf('/');
  const newSlash = newPath.indexOf('/');
  if (oldSlash <= 0 || newSlash <= 0) return [oldPath, newPath];
  const rest = newPath.slice(newSlash + 1);
  return rest !== '' && oldPath.slice(oldSlash + 1) === rest && oldPath.slice(0, oldSlash) !== newPath.slice(0, newSlash) ? [rest, rest] : [oldPath, newPath];
}

function name(diff: FileDiff): string {
  return diff.newPath ?? diff.oldPath ?? '/dev/null';
}

function summarize(files: FileDiff[]): ParsedDiff {
  const touched = new Set<string>();
  let insertions = 0;
  let deletions = 0;
  let hunks = 0;
  for (const file of files) {
    if (file.status === 'renamed' || file.status === 'copied') touched.add(file.oldPath!);
    touched.add(file.path);
    insertions += file.insertions;
    deletions += file.deletions;
    hunks += file.hunks;
  }
  return { files, filesTouched: [...touched], insertions, deletions, hunks };
}

/** `diff -r` without -N: a file on one side only, which the diff leaves out. */
function isOnlyIn(line: string): boolean {
  return line.startsWith('Only in ') && line.includes(': ', 8);
}

function onlyIn(n: number): DiffParseError {
  return new DiffParseError(n, 'an "Only in" line: the diff leaves out files that exist on one side only (diff -N includes them)');
}

function mode(text: string, n: number): string {
  if (!MODE.test(text)) throw new DiffParseError(n, `expected a six-digit octal file mode, not ${JSON.stringify(text.slice(0, 20))}`);
  return text;
}

/** The path of a `---` or `+++` line, without its `diff -u` timestamp and git prefix; null for a missing side. */
/** A `---`/`+++` path: `name` as written (prefix stripped), `path` null when that side does not exist. */
function headerPath(text: string, n: number, prefix: string): { path: string | null; name: string } {
  let name: string;
  let absent = false;
  if (text.startsWith('"')) {
    name = unquote(text, 0, n).value;
  } else {
    // diff -u puts a tab and a timestamp after the path; git a tab alone after a path with a space.
    const tab = text.indexOf('\t');
    name = tab < 0 ? text : text.slice(0, tab);
    absent = tab >= 0 && isEpoch(text.slice(tab + 1));
  }
  if (name === '') throw new DiffParseError(n, 'expected a path after --- or +++');
  if (prefix && name.startsWith(prefix)) name = name.slice(prefix.length);
  return { path: absent || name === '/dev/null' ? null : name, name };
}

function isEpoch(stamp: string): boolean {
  const m = EPOCH.exec(stamp);
  if (!m) return false;
  const local = (m[1] === '1970-01-01' ? 0 : -86_400) + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
  const offset = (m[5] === '+' ? 1 : -1) * (Number(m[6]) * 3600 + Number(m[7]) * 60);
  return local === offset;
}

/**
 * The two paths of `diff --git A B`. Unquoted paths may hold spaces; git
 * writes no rename or copy lines only when both name the same file, so such
 * a line splits in the middle.
 */
function gitNames(rest: string, n: number): [string, string] {
  if (rest.startsWith('"')) {
    const first = unquote(rest, 0, n);
    if (rest[first.end] !== ' ') throw new DiffParseError(n, 'expected a space between the paths of diff --git');
    return [first.value, plainOrQuoted(rest.slice(first.end + 1), n)];
  }
  const quoted = rest.indexOf(' "');
  if (quoted > 0 && rest.endsWith('"')) return [rest.slice(0, quoted), unquote(rest, quoted + 1, n).value];
  const mid = (rest.length - 1) / 2;
  if (rest[mid] === ' ' && rest.slice(2, mid) === rest.slice(mid + 3)) return [rest.slice(0, mid), rest.slice(mid + 1)];
  const prefixed = rest.indexOf(' b/');
  const cut = prefixed > 0 ? prefixed : rest.indexOf(' ');
  if (cut <= 0 || cut === rest.length - 1) throw new DiffParseError(n, 'expected two paths after diff --git');
  return [rest.slice(0, cut), rest.slice(cut + 1)];
}

/** `X and Y` of `Binary files X and Y differ`: split in the middle when both are as long (a/f b/f), else at the first ` and `. */
function binaryNames(text: string, n: number): [string, string] {
  const mid = (text.length - 5) / 2;
  const cut = Number.isInteger(mid) && text.startsWith(' and ', mid) ? mid : text.indexOf(' and ');
  if (cut <= 0 || cut + 5 >= text.length) throw new DiffParseError(n, 'expected "Binary files X and Y differ"');
  return [text.slice(0, cut), text.slice(cut + 5)];
}

function plainOrQuoted(text: string, n: number): string {
  const path = text.startsWith('"') ? unquote(text, 0, n).value : text;
  if (path === '') throw new DiffParseError(n, 'expected a path');
  return path;
}

/** The C-quoted string at text[start] as git writes paths: \t, \", \\ and the like, octal bytes of UTF-8. */
function unquote(text: string, start: number, n: number): { value: string; end: number } {
  const parts: Buffer[] = [];
  let run = start + 1;
  for (let i = run; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      parts.push(Buffer.from(text.slice(run, i)));
      return { value: Buffer.concat(parts).toString('utf8'), end: i + 1 };
    }
    if (c !== '\\') continue;
    parts.push(Buffer.from(text.slice(run, i)));
    const e = text[i + 1] ?? '';
    const escape = ESCAPES.get(e);
    if (escape !== undefined) {
      parts.push(Buffer.from([escape]));
      i += 1;
    } else if (e >= '0' && e <= '3' && isOctal(text[i + 2]) && isOctal(text[i + 3])) {
      parts.push(Buffer.from([parseInt(text.slice(i + 1, i + 4), 8)]));
      i += 3;
    } else {
      throw new DiffParseError(n, `a bad escape \\${e} in a quoted path`);
    }
    run = i + 1;
  }
  throw new DiffParseError(n, 'a quoted path without its closing quote');
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7';
}

/** A base85 line: its first letter gives the bytes it holds (A-Z 1 to 26, a-z 27 to 52), five characters per four bytes. */
function isBase85Line(line: string): boolean {
  const c = line.charCodeAt(0);
  const bytes = c >= 65 && c <= 90 ? c - 64 : c >= 97 && c <= 122 ? c - 70 : 0;
  return bytes > 0 && line.length === 1 + Math.ceil(bytes / 4) * 5 && BASE85.test(line);
}

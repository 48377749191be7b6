import type { FileDiff, ParsedDiff } from './diff-types.js';

/** Refusal of text that is not a unified diff; `line` is 1-based. */
export class DiffParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'DiffParseError';
  }
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const DEV_NULL = '/dev/null';
const C_ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/**
 * Parses a unified diff: git's (extended headers, renames, copies, mode
 * changes, binary files, quoted paths, format-patch mail around it) or
 * plain `diff -u` / `diff -ruN` output. One pass over the lines; anything
 * that is not a diff is refused with the line where parsing stopped.
 */
export function parseUnifiedDiff(text: string): ParsedDiff {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.at(-1) === '') lines.pop();
  if (text.trim() === '') throw new DiffParseError(1, 'no file in the diff');
  const reader = new Reader(lines);
  // A commit message or mail header may come first (git show, git format-patch).
  while (!reader.done && !reader.atFileStart()) reader.next();
  if (reader.done) throw new DiffParseError(1, 'no file header found (expected "diff --git" or "---" followed by "+++")');
  const files: FileDiff[] = [];
  while (!reader.done) {
    const line = reader.peek();
    if (line.startsWith('diff --git ')) files.push(parseGitFile(reader));
    else if (reader.atFileStart()) files.push(parsePlainFile(reader));
    else if (line.startsWith('Binary files ') && line.endsWith(' differ')) files.push(parsePlainBinary(reader));
    else if (line === '-- ' && files.length > 0) break; // format-patch signature: the rest is not diff
    else if (line === '' || (line.startsWith('diff ') && files.length > 0)) reader.next(); // blank, or diff -r's command line
    else if (/^[-+ ]/.test(line)) throw reader.error('a changed line outside any hunk (the hunk before it has more lines than its header says?)');
    else throw reader.error(`expected a file header or a hunk, got "${clip(line)}"`);
  }
  const filesTouched = [...new Set(files.flatMap((f) => [f.oldPath, f.newPath].filter((p): p is string => p !== null)))];
  return {
    files,
    filesTouched,
    insertions: files.reduce((sum, f) => sum + f.insertions, 0),
    deletions: files.reduce((sum, f) => sum + f.deletions, 0),
    hunks: files.reduce((sum, f) => sum + f.hunks, 0),
  };
}

class Reader {
  index = 0;
  constructor(readonly lines: string[]) {}

  get done(): boolean {
    return this.index >= this.lines.length;
  }

  peek(offset = 0): string {
    return this.lines[this.index + offset];
  }

  next(): string {
    return this.lines[this.index++];
  }

  atFileStart(): boolean {
    const line = this.peek();
    return line.startsWith('diff --git ') || (line.startsWith('--- ') && (this.peek(1)?.startsWith('+++ ') ?? false));
  }

  error(message: string, line = this.index + 1): DiffParseError {
    return new DiffParseError(line, message);
  }
}

function emptyFile(): FileDiff {
  return {
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
}

/** `diff --git a/X b/Y` and its extended headers, then `---`/`+++` and hunks, or a binary patch. */
function parseGitFile(reader: Reader): FileDiff {
  const headerLine = reader.index + 1;
  const names = splitGitNames(reader.next().slice('diff --git '.length), reader);
  const prefixed = names.old.startsWith('a/') && names.new.startsWith('b/');
  const strip = (path: string, side: 'a/' | 'b/') => (prefixed && path.startsWith(side) ? path.slice(2) : path);
  const file = emptyFile();
  file.oldPath = strip(names.old, 'a/');
  file.newPath = strip(names.new, 'b/');
  for (;;) {
    if (reader.done) break;
    const line = reader.peek();
    const value = (prefix: string) => line.slice(prefix.length);
    if (line.startsWith('old mode ')) file.oldMode = value('old mode ');
    else if (line.startsWith('new mode ')) file.newMode = value('new mode ');
    else if (line.startsWith('new file mode ')) {
      file.status = 'added';
      file.newMode = value('new file mode ');
    } else if (line.startsWith('deleted file mode ')) {
      file.status = 'deleted';
      file.oldMode = value('deleted file mode ');
    } else if (line.startsWith('rename from ') || line.startsWith('copy from ')) {
      file.status = line.startsWith('rename') ? 'renamed' : 'copied';
      file.oldPath = unquote(line.slice(line.indexOf(' from ') + 6), reader);
    } else if (line.startsWith('rename to ') || line.startsWith('copy to ')) {
      file.newPath = unquote(line.slice(line.indexOf(' to ') + 4), reader);
    } else if (line.startsWith('similarity index ') || line.startsWith('dissimilarity index ') || line.startsWith('index ')) {
      // Informational.
    } else if (line.startsWith('Binary files ') && line.endsWith(' differ')) {
      file.binary = true;
    } else if (line === 'GIT binary patch') {
      file.binary = true;
      reader.next();
      skipBinaryPatch(reader);
      continue;
    } else if (line.startsWith('--- ')) {
      if (!reader.peek(1)?.startsWith('+++ ')) throw reader.error('"---" is not followed by "+++"', reader.index + 2);
      file.oldPath = sidePath(value('--- '), prefixed ? 'a/' : null, reader);
      reader.next();
      file.newPath = sidePath(reader.peek().slice(4), prefixed ? 'b/' : null, reader);
      reader.next();
      parseHunks(reader, file);
      break;
    } else break;
    reader.next();
  }
  if (file.status === 'added') file.oldPath = null;
  if (file.status === 'deleted') file.newPath = null;
  if (file.oldPath === null && file.newPath !== null && file.status === 'modified') file.status = 'added';
  if (file.newPath === null && file.oldPath !== null && file.status === 'modified') file.status = 'deleted';
  const changeMarked = file.binary || file.status !== 'modified' || (file.oldMode !== null && file.newMode !== null);
  if (file.hunks === 0 && !changeMarked) throw new DiffParseError(headerLine, `the file ${file.newPath ?? file.oldPath} has no hunks and no other change`);
  file.path = (file.newPath ?? file.oldPath)!;
  return file;
}

/** `--- X` / `+++ Y` and hunks, without git's header. */
function parsePlainFile(reader: Reader): FileDiff {
  const headerLine = reader.index + 1;
  const file = emptyFile();
  const [oldRaw, newRaw] = [reader.next().slice(4), reader.next().slice(4)];
  let oldPath = sidePath(oldRaw, null, reader);
  let newPath = sidePath(newRaw, null, reader);
  if (oldPath && newPath) [oldPath, newPath] = dropRoots(oldPath, newPath);
  // diff -N stands in an empty file, dated the epoch, for one that does not exist.
  if (isEpoch(oldRaw)) oldPath = null;
  else if (isEpoch(newRaw)) newPath = null;
  file.oldPath = oldPath;
  file.newPath = newPath;
  file.status = oldPath === null ? 'added' : newPath === null ? 'deleted' : 'modified';
  parseHunks(reader, file);
  if (file.hunks === 0) throw new DiffParseError(headerLine, `the file ${newPath ?? oldPath} has no hunks`);
  file.path = (newPath ?? oldPath)!;
  return file;
}

/** A `---`/`+++` timestamp (`2026-01-10 03:30:00.000000000 -0500`) that is the Unix epoch. */
function isEpoch(raw: string): boolean {
  const stamp = /\t(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)? ([+-]\d\d)(\d\d)$/.exec(raw);
  return stamp !== null && Date.parse(`${stamp[1]}T${stamp[2]}${stamp[3]}:${stamp[4]}`) === 0;
}

/** diff -r's one-line note about a binary file: `Binary files old/x and new/x differ`. */
function parsePlainBinary(reader: Reader): FileDiff {
  const names = reader.peek().slice('Binary files '.length, -' differ'.length);
  const split = names.indexOf(' and ');
  if (split <= 0) throw reader.error('a "Binary files" line that names no two files');
  const file = emptyFile();
  [file.oldPath, file.newPath] = dropRoots(names.slice(0, split), names.slice(split + ' and '.length));
  file.status = file.oldPath === DEV_NULL ? 'added' : file.newPath === DEV_NULL ? 'deleted' : 'modified';
  if (file.oldPath === DEV_NULL) file.oldPath = null;
  if (file.newPath === DEV_NULL) file.newPath = null;
  file.binary = true;
  file.path = (file.newPath ?? file.oldPath)!;
  reader.next();
  return file;
}

/** diff -r of two trees names each side under its own root (old/x, new/x): drop the roots, as patch -p1 does. */
function dropRoots(oldPath: string, newPath: string): [string, string] {
  const [oldRoot, oldRest] = splitRoot(oldPath);
  const [newRoot, newRest] = splitRoot(newPath);
  return oldRest && oldRest === newRest && oldRoot !== newRoot ? [oldRest, newRest] : [oldPath, newPath];
}

function splitRoot(path: string): [string, string] {
  const slash = path.indexOf('/');
  return slash > 0 ? [path.slice(0, slash), path.slice(slash + 1)] : [path, ''];
}

function parseHunks(reader: Reader, file: FileDiff): void {
  while (!reader.done && reader.peek().startsWith('@@')) {
    const header = HUNK_HEADER.exec(reader.peek());
    if (!header) throw reader.error(`a hunk header that does not parse: "${clip(reader.peek())}"`);
    reader.next();
    let oldLeft = header[2] === undefined ? 1 : Number(header[2]);
    let newLeft = header[4] === undefined ? 1 : Number(header[4]);
    file.hunks += 1;
    while (oldLeft > 0 || newLeft > 0) {
      if (reader.done) throw reader.error(`the hunk ends early: ${oldLeft} old and ${newLeft} new lines missing`);
      const line = reader.peek();
      const marker = line[0];
      if (marker === ' ' || line === '') {
        oldLeft -= 1;
        newLeft -= 1;
      } else if (marker === '-') {
        oldLeft -= 1;
        file.deletions += 1;
        file.removed.push(line.slice(1));
      } else if (marker === '+') {
        newLeft -= 1;
        file.insertions += 1;
        file.added.push(line.slice(1));
      } else if (marker !== '\\') {
        throw reader.error(`the hunk ends early (${oldLeft} old and ${newLeft} new lines missing) at "${clip(line)}"`);
      }
      if (oldLeft < 0 || newLeft < 0) throw reader.error('the hunk has more lines than its header says');
      reader.next();
    }
    // "\ No newline at end of file" after the hunk's last line.
    while (!reader.done && reader.peek().startsWith('\\')) reader.next();
  }
}

/** Skips the `literal N` / `delta N` blocks of base85 data that follow `GIT binary patch`. */
function skipBinaryPatch(reader: Reader): void {
  while (!reader.done && /^(literal|delta) \d+$/.test(reader.peek())) {
    reader.next();
    while (!reader.done && reader.peek() !== '') reader.next();
    if (!reader.done) reader.next();
  }
}

/** A `---`/`+++` path: unquoted, without a trailing timestamp, /dev/null as null. */
function sidePath(raw: string, prefix: 'a/' | 'b/' | null, reader: Reader): string | null {
  const path = raw.startsWith('"') ? unquote(raw, reader) : raw.split('\t')[0].trimEnd();
  if (path === DEV_NULL) return null;
  if (path === '') throw reader.error('a file header without a path');
  return prefix && path.startsWith(prefix) ? path.slice(2) : path;
}

/** The two names of `diff --git`, which may be quoted and, unquoted, may contain spaces. */
function splitGitNames(rest: string, reader: Reader): { old: string; new: string } {
  if (rest.startsWith('"')) {
    const end = quotedEnd(rest, reader);
    return { old: unquote(rest.slice(0, end), reader), new: unquoteMaybe(rest.slice(end + 1), reader) };
  }
  if (rest.endsWith('"')) {
    const start = rest.lastIndexOf(' "');
    if (start > 0) return { old: rest.slice(0, start), new: unquote(rest.slice(start + 1), reader) };
  }
  // Unquoted names with spaces are ambiguous: the same name on both sides (a/X b/X, or X X) is the usual case.
  for (const [a, b] of [
    ['a/', ' b/'],
    ['', ' '],
  ]) {
    const size = (rest.length - a.length - b.length) / 2;
    if (Number.isInteger(size) && size > 0 && rest.startsWith(a) && rest.slice(a.length + size, a.length + size + b.length) === b) {
      const name = rest.slice(a.length, a.length + size);
      if (rest.slice(a.length + size + b.length) === name) return { old: a + name, new: b.trim() + name };
    }
  }
  // Different names (a rename): the ---/+++ or rename lines that follow say which; split at the last " b/".
  const split = rest.lastIndexOf(' b/');
  if (split > 0) return { old: rest.slice(0, split), new: rest.slice(split + 1) };
  const space = rest.indexOf(' ');
  if (space <= 0) throw reader.error(`"diff --git" names no two files: "${clip(rest)}"`);
  return { old: rest.slice(0, space), new: rest.slice(space + 1) };
}

function unquoteMaybe(text: string, reader: Reader): string {
  return text.startsWith('"') ? unquote(text, reader) : text;
}

function quotedEnd(text: string, reader: Reader): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i + 1;
  }
  throw reader.error('a quoted path without its closing quote');
}

/** Git's C-style quoting: \t, \n, \", \\ and octal bytes (\303\251) of UTF-8. */
function unquote(text: string, reader: Reader): string {
  if (!text.startsWith('"')) return text;
  const end = quotedEnd(text, reader);
  const bytes: number[] = [];
  const body = text.slice(1, end - 1);
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = body[++i];
    if (next !== undefined && next >= '0' && next <= '7') {
      bytes.push(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else if (next !== undefined && next in C_ESCAPES) {
      bytes.push(C_ESCAPES[next]);
    } else {
      throw reader.error(`an unknown escape "\\${next ?? ''}" in a quoted path`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

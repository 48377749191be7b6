// A unified diff (Patch.diffText, as submitted) split into files, hunks and lines for the diff view. The gateway has
// already parsed and accepted it (its scope counts the same files and hunks); this only shapes it for display.

export type LineKind = 'added' | 'removed' | 'context' | 'note';

export interface DiffLine {
  kind: LineKind;
  /** The line without its first character: the +, - or space, or the backslash of a note ("\ No newline at end of file"). */
  text: string;
  /** Its number in the old and the new file; null on the side it is not on. */
  oldNumber: number | null;
  newNumber: number | null;
}

export interface DiffHunk {
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  /** The old and new path; equal unless renamed, and null for the side of a file created or deleted. */
  oldPath: string | null;
  newPath: string | null;
  binary: boolean;
  hunks: DiffHunk[];
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** A ---/+++ path without its a/ or b/ prefix and any tab-separated timestamp; null for /dev/null. */
function pathOf(line: string): string | null {
  const path = line.slice(4).split('\t')[0]!.trim();
  if (path === '/dev/null') return null;
  return /^[ab]\//.test(path) ? path.slice(2) : path;
}

/** The paths a "diff --git a/x b/y" line names (used when no ---/+++ lines follow: a rename, a mode change, a binary file). */
function gitPaths(line: string): [string, string] | null {
  const match = /^diff --git a\/(.+) b\/(.+)$/.exec(line);
  return match ? [match[1]!, match[2]!] : null;
}

export function parseDiff(diffText: string): DiffFile[] {
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  // Lines still to come in the current hunk, on each side: a hunk ends when both reach 0 (so a removed "-- x" line is not read as a header).
  let oldLeft = 0;
  let newLeft = 0;
  let oldNumber = 0;
  let newNumber = 0;
  const startFile = (oldPath: string | null, newPath: string | null) => {
    file = { oldPath, newPath, binary: false, hunks: [] };
    files.push(file);
    hunk = undefined;
  };
  for (const line of diffText.split(/\r?\n/)) {
    if (hunk && (oldLeft > 0 || newLeft > 0)) {
      const sign = line[0];
      if (sign === '+') {
        hunk.lines.push({ kind: 'added', text: line.slice(1), oldNumber: null, newNumber: newNumber++ });
        newLeft--;
        continue;
      }
      if (sign === '-') {
        hunk.lines.push({ kind: 'removed', text: line.slice(1), oldNumber: oldNumber++, newNumber: null });
        oldLeft--;
        continue;
      }
      if (sign === ' ' || line === '') {
        hunk.lines.push({ kind: 'context', text: line.slice(1), oldNumber: oldNumber++, newNumber: newNumber++ });
        oldLeft--;
        newLeft--;
        continue;
      }
    }
    if (line.startsWith('\\')) {
      hunk?.lines.push({ kind: 'note', text: line.slice(1), oldNumber: null, newNumber: null });
      continue;
    }
    if (line.startsWith('diff --git ')) {
      const paths = gitPaths(line);
      startFile(paths?.[0] ?? null, paths?.[1] ?? null);
      continue;
    }
    if (line.startsWith('--- ')) {
      // A plain diff -u has no "diff --git" line: its --- line starts the file; after one, it names the old side.
      if (!file || file.hunks.length > 0) startFile(null, null);
      file!.oldPath = pathOf(line);
      continue;
    }
    if (line.startsWith('+++ ') && file) {
      file.newPath = pathOf(line);
      continue;
    }
    if (file && (line.startsWith('Binary files ') || line === 'GIT binary patch')) {
      file.binary = true;
      continue;
    }
    const header = HUNK_HEADER.exec(line);
    if (header && file) {
      hunk = { header: line, lines: [] };
      file.hunks.push(hunk);
      oldNumber = Number(header[1]);
      newNumber = Number(header[3]);
      oldLeft = header[2] === undefined ? 1 : Number(header[2]);
      newLeft = header[4] === undefined ? 1 : Number(header[4]);
    }
  }
  return files;
}

/** How a file is named in the view: its path, or "old → new" for a rename. */
export function fileName(file: DiffFile): string {
  if (file.oldPath && file.newPath && file.oldPath !== file.newPath) return `${file.oldPath} → ${file.newPath}`;
  return file.newPath ?? file.oldPath ?? '(unnamed file)';
}

// A unified diff (Patch.diffText, as submitted) as files, hunks and numbered lines for the diff view, read by
// jsdiff's parsePatch. The gateway has already parsed and accepted it (its scope counts the same files and hunks).
import { parsePatch, type StructuredPatchHunk } from 'diff';

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

const KIND: Record<string, LineKind> = { '+': 'added', '-': 'removed', ' ': 'context', '\\': 'note' };

/** A path without git's a/ or b/ prefix; null for /dev/null (the side of a file created or deleted). */
const pathOf = (name: string | undefined): string | null => (!name || name === '/dev/null' ? null : name.replace(/^[ab]\//, ''));

/** jsdiff counts an empty side from 1; the header shows it as git wrote it (-0,0 or +0,0). */
const headerOf = (hunk: StructuredPatchHunk) =>
  `@@ -${hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart},${hunk.oldLines} +${hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart},${hunk.newLines} @@`;

function linesOf(hunk: StructuredPatchHunk): DiffLine[] {
  let oldNumber = hunk.oldStart;
  let newNumber = hunk.newStart;
  return hunk.lines.map((line) => {
    const kind = KIND[line[0] ?? ' '] ?? 'context';
    // Only the sides the line is on advance.
    const onOld = kind === 'removed' || kind === 'context';
    const onNew = kind === 'added' || kind === 'context';
    return { kind, text: line.slice(1), oldNumber: onOld ? oldNumber++ : null, newNumber: onNew ? newNumber++ : null };
  });
}

export function parseDiff(diffText: string): DiffFile[] {
  return parsePatch(diffText).map((file) => ({
    oldPath: pathOf(file.oldFileName),
    newPath: pathOf(file.newFileName),
    binary: Boolean(file.isBinary),
    hunks: file.hunks.map((hunk) => ({ header: headerOf(hunk), lines: linesOf(hunk) })),
  }));
}

/** How a file is named in the view: its path, or "old → new" for a rename. */
export function fileName(file: DiffFile): string {
  if (file.oldPath && file.newPath && file.oldPath !== file.newPath) return `${file.oldPath} → ${file.newPath}`;
  return file.newPath ?? file.oldPath ?? '(unnamed file)';
}

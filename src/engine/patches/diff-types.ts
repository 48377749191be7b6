/** What a unified diff says about one file, as parsed by unified-diff.ts. */
export interface FileDiff {
  /** Null for an added file (`--- /dev/null`). */
  oldPath: string | null;
  /** Null for a deleted file (`+++ /dev/null`). */
  newPath: string | null;
  /** The path it has after the change (the old one for a deletion). */
  path: string;
  status: 'added' | 'deleted' | 'modified' | 'renamed' | 'copied';
  /** `Binary files ... differ` or a `GIT binary patch`. */
  binary: boolean;
  /** From `old mode` / `new mode` (or `new file mode` / `deleted file mode`), when given. */
  oldMode: string | null;
  newMode: string | null;
  hunks: number;
  insertions: number;
  deletions: number;
  /** The text of each added and removed line, without its +/- marker (for oscillation checks). */
  added: string[];
  removed: string[];
}

export interface ParsedDiff {
  files: FileDiff[];
  /** Every path the diff touches, once each, in order: both sides of a rename or copy. */
  filesTouched: string[];
  insertions: number;
  deletions: number;
  hunks: number;
}

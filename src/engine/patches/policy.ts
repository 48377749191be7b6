import type { PolicyConstraints } from './entities.js';
import type { FileDiff, ParsedDiff } from './diff-types.js';
import { globMatcher } from '../core/globs.js';

/**
 * What a policy says when it does not say otherwise: nothing is limited
 * beyond what a sane repository would accept, so that a policy which names
 * only max_lines_changed limits only that.
 */
export const DEFAULT_CONSTRAINTS: PolicyConstraints = {
  allowed_formats: ['unified_diff'],
  max_lines_changed: 1_000_000,
  max_files_changed: 100_000,
  forbid_binary_patches: false,
  forbid_touching_paths: [],
  require_tests_for_paths: [],
  require_issue_ref: false,
  min_reviewers: 0,
  oscillation_window: 10,
  oscillation_threshold: 5,
};

/** Paths that count as tests for require_tests_for_paths. */
export const TEST_PATH_GLOBS = [
  '**/test/**',
  '**/tests/**',
  '**/__tests__/**',
  '**/spec/**',
  '**/*.test.*',
  '**/*.spec.*',
  '**/test_*.py',
  '**/*_test.py',
  '**/*_test.go',
  '**/*Test.java',
  '**/*Tests.cs',
];

/** `#123`, `ABC-123`, or a link to an issue or pull request. */
const ISSUE_REF = /(^|[^\w&])#\d+\b|\b[A-Z][A-Z0-9]+-\d+\b|\/(issues|pull)\/\d+\b/;

const isTestPath = globMatcher(TEST_PATH_GLOBS);

/** A file's earlier changes, oldest first: the lines each added and removed. */
export type FileHistory = Map<string, { added: string[]; removed: string[] }[]>;

export interface PolicyContext {
  format: string;
  summary: string | null;
  reviewers: readonly string[];
  /** Per path touched by this patch, its latest changes before it (at most oscillation_window), oldest first. */
  history: FileHistory;
}

/**
 * Every constraint the patch breaks, one message each, prefixed with the
 * constraint's name (and the file, where one file is at fault).
 */
export function checkConstraints(policy: PolicyConstraints, diff: ParsedDiff, context: PolicyContext): string[] {
  const errors: string[] = [];
  if (!policy.allowed_formats.includes(context.format)) {
    errors.push(`allowed_formats: ${context.format} is not one of ${policy.allowed_formats.join(', ')}`);
  }
  const lines = diff.insertions + diff.deletions;
  if (lines > policy.max_lines_changed) {
    errors.push(`max_lines_changed: ${lines} lines changed, at most ${policy.max_lines_changed} allowed`);
  }
  if (diff.files.length > policy.max_files_changed) {
    errors.push(`max_files_changed: ${diff.files.length} files changed, at most ${policy.max_files_changed} allowed`);
  }
  if (policy.forbid_binary_patches) {
    for (const file of diff.files.filter((f) => f.binary)) errors.push(`forbid_binary_patches: ${file.path} is binary`);
  }
  const forbidden = globMatcher(policy.forbid_touching_paths, 'forbid_touching_paths');
  for (const path of diff.filesTouched.filter((p) => forbidden(p))) errors.push(`forbid_touching_paths: ${path} may not be touched`);
  const needsTests = globMatcher(policy.require_tests_for_paths, 'require_tests_for_paths');
  const touchesTest = diff.filesTouched.some((p) => isTestPath(p));
  if (!touchesTest) {
    for (const path of diff.filesTouched.filter((p) => needsTests(p))) {
      errors.push(`require_tests_for_paths: ${path} changed without a change to a test`);
    }
  }
  if (policy.require_issue_ref && !ISSUE_REF.test(context.summary ?? '')) {
    errors.push('require_issue_ref: the summary names no issue (#123, ABC-123 or an issue link)');
  }
  if (context.reviewers.length < policy.min_reviewers) {
    errors.push(`min_reviewers: ${context.reviewers.length} reviewers, at least ${policy.min_reviewers} required`);
  }
  for (const file of diff.files) {
    // The window counts this change too.
    const earlier = context.history.get(file.path) ?? [];
    const flips = countFlips([...earlier.slice(Math.max(0, earlier.length - (policy.oscillation_window - 1))), file]);
    if (flips >= policy.oscillation_threshold) {
      errors.push(`oscillation: ${file.path} flipped back and forth ${flips} times in its last ${policy.oscillation_window} changes ` + `(threshold ${policy.oscillation_threshold})`);
    }
  }
  return errors;
}

/** A flip: a change that removes a line the change before it added, or adds back one it removed. */
function countFlips(changes: Pick<FileDiff, 'added' | 'removed'>[]): number {
  let flips = 0;
  for (const [i, change] of changes.entries()) {
    const before = changes[i - 1];
    if (!before) continue;
    const added = new Set(before.added);
    const removed = new Set(before.removed);
    if (change.removed.some((line) => added.has(line)) || change.added.some((line) => removed.has(line))) flips += 1;
  }
  return flips;
}

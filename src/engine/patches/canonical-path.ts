/** git's (and Linux's) PATH_MAX, and what patch_file.path holds. */
export const MAX_PATH_LENGTH = 4096;

/**
 * Why git would refuse `path` as a path inside a repository (its
 * verify_path), or null when it is canonical: relative, `/`-separated, with
 * no empty, `.`, `..` or `.git` component, no backslash and no NUL, at most
 * MAX_PATH_LENGTH characters. A path
 * that is not canonical names a file under another spelling (`./.github/x`
 * is `.github/x`), which globs would not see: it must never reach them.
 */
export function canonicalPathProblem(path: string): string | null {
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.includes('\0')) return 'contains a NUL character';
  if (path.includes('\\')) return 'contains a backslash (use / between directories)';
  if (path.startsWith('/')) return 'is absolute (starts with /)';
  for (const part of path.split('/')) {
    if (part === '') return 'has an empty component (// or a trailing /)';
    if (part === '.' || part === '..') return `has a "${part}" component`;
    if (part.toLowerCase() === '.git') return 'has a ".git" component';
  }
  return null;
}

/** One message per path of `paths` that is not canonical, naming it. */
export function nonCanonicalPaths(paths: readonly string[]): string[] {
  const problems: string[] = [];
  for (const path of paths) {
    const problem = canonicalPathProblem(path);
    if (problem) problems.push(`path ${JSON.stringify(path)} ${problem}`);
  }
  return problems;
}

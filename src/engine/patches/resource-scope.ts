import type { ParsedDiff } from './diff-types.js';
import { globMatcher } from '../core/globs.js';

/** execution_request's resource_scope: which paths a change may write, create, and must never touch. */
export interface ResourceScope {
  read?: string[];
  write?: string[];
  create?: string[];
  forbidden?: string[];
}

/**
 * Every way the diff leaves its resource scope, one message each: a
 * forbidden path, a changed or deleted file outside `write`, a new file
 * (added, or the target of a rename or copy) outside `create` and `write`.
 */
export function checkResourceScope(scope: ResourceScope, diff: ParsedDiff): string[] {
  const errors: string[] = [];
  const forbidden = globMatcher(scope.forbidden, 'resource_scope.forbidden');
  const writable = globMatcher(scope.write, 'resource_scope.write');
  const creatable = globMatcher(scope.create, 'resource_scope.create');
  for (const path of diff.filesTouched.filter((p) => forbidden(p))) errors.push(`scope: ${path} is forbidden`);
  for (const file of diff.files) {
    const created = file.status === 'added' || file.status === 'renamed' || file.status === 'copied';
    if (created && !forbidden(file.path) && !creatable(file.path) && !writable(file.path)) {
      errors.push(`scope: ${file.path} may not be created (not in create or write)`);
    }
    // A rename or deletion changes the old path; a modification changes the file itself.
    const changed = file.status === 'copied' ? null : file.status === 'added' ? null : (file.oldPath ?? file.path);
    if (changed && !forbidden(changed) && !writable(changed)) errors.push(`scope: ${changed} may not be changed (not in write)`);
  }
  return errors;
}

import picomatch from 'picomatch';
import { RE2JS, RE2JSException } from 're2js';
import { badInput } from '../core/errors.js';

/** A compiled glob list: true when a path matches any of them. */
export type PathMatcher = (path: string) => boolean;

/**
 * How big a glob list may be. RE2 runs in time linear in the path, times
 * the number of wildcards that can be live at once: 50 globs of 120 stars
 * took 0.4 s per 1,000-character path. Real lists (a scope's directories,
 * a policy's forbidden paths) are a few dozen short globs, a wildcard or
 * two each; at these bounds a path costs microseconds.
 */
export const MAX_GLOBS = 100;
export const MAX_GLOB_LENGTH = 256;
export const MAX_WILDCARDS = 64;
/** `**` counts once: it is one loop, like `*`. */
const WILDCARD = /\*\*|[*?[{(]/g;

/**
 * picomatch's guards that keep `*` and `**` off `.` and `..` segments (and
 * off an empty one). They are lookaheads, which RE2 has no way to run, and
 * they cannot change a verdict here: a diff path with a `.`, `..` or empty
 * segment is refused before any glob sees it (see canonicalPathProblem).
 */
const chars = picomatch.constants.globChars(false);
const DOT_GUARDS = [chars.NO_DOTS, chars.NO_DOTS_SLASH, chars.NO_DOT_SLASH, chars.NO_DOT, chars.ONE_CHAR];

/**
 * picomatch's translation of one glob (dot files included), minus the dot
 * guards, compiled by RE2: matching is linear in the path's length whatever
 * the glob, where picomatch's own backtracking regex took 14 s for
 * `*a*a*a*a*a*a*a*a*b` against 45 `a`s. A glob that needs more than RE2 can
 * do (a negation such as `!x` or `!(x)`) is refused.
 */
function toRe2(glob: string, field: string): string {
  if (glob.length > MAX_GLOB_LENGTH) throw badInput(field, `glob "${glob.slice(0, 40)}..." is longer than ${MAX_GLOB_LENGTH} characters`);
  let source = picomatch.makeRe(glob, { dot: true }).source;
  for (const guard of DOT_GUARDS) source = source.split(guard).join('');
  try {
    RE2JS.compile(source);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    throw badInput(field, `glob "${glob}" is not supported: negations (!x, !(x)) and lookarounds cannot be matched in linear time; list the paths to match instead`);
  }
  return source;
}

/** The list as one RE2 program, so that a path is read once however many globs there are; BAD_USER_INPUT past the bounds. */
function compileList(globs: readonly string[], field: string): RE2JS {
  if (globs.length > MAX_GLOBS) throw badInput(field, `${globs.length} globs, at most ${MAX_GLOBS}: use ** for whole directories`);
  const wildcards = globs.reduce((sum, glob) => sum + (glob.match(WILDCARD)?.length ?? 0), 0);
  if (wildcards > MAX_WILDCARDS) throw badInput(field, `the globs have ${wildcards} wildcards (* ? [ { ( together), at most ${MAX_WILDCARDS}: use fewer, broader globs`);
  return RE2JS.compile(globs.map((glob) => `(?:${toRe2(glob, field)})`).join('|'));
}

/** Refuses, as BAD_USER_INPUT on `field`, a glob list that globMatcher would refuse. */
export function checkGlobs(field: string, globs: readonly string[] | undefined): void {
  if (globs?.length) compileList(globs, field);
}

/** A matcher for a glob list (none: matches nothing); BAD_USER_INPUT on `field` for a list checkGlobs refuses. */
export function globMatcher(globs: readonly string[] | undefined, field = 'glob'): PathMatcher {
  if (!globs?.length) return () => false;
  const re = compileList(globs, field);
  return (path) => re.test(path);
}

import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { canonicalPathProblem } from '../../src/engine/patches/canonical-path.js';
import { checkGlobs, globMatcher } from '../../src/engine/core/globs.js';

const segment = fc.stringMatching(/^[ab._-]{1,4}$/).filter((s) => s !== '.' && s !== '..' && s.toLowerCase() !== '.git');
const canonicalPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('/'));
const globToken = fc.constantFrom('*', '**', '?', 'a', 'b', '.', '/', '{a,b}', '[ab]', '[!a]', '@(a|b)', '+(a)', '*(b)', '.a', '_');
const glob = fc.array(globToken, { minLength: 1, maxLength: 7 }).map((tokens) => tokens.join(''));

describe('globMatcher', () => {
  it('agrees with picomatch (dot files included) on every canonical path', () => {
    fc.assert(
      fc.property(glob, canonicalPath, (g, path) => {
        expect(canonicalPathProblem(path)).toBeNull();
        expect(globMatcher([g])(path), `${g} on ${path}`).toBe(picomatch(g, { dot: true })(path));
      }),
      { numRuns: 3000 },
    );
  });

  it('matches any of a list', () => {
    const matches = globMatcher(['docs/**', '*.md']);
    expect(['docs/a/b.txt', 'README.md', 'src/x.ts'].map(matches)).toEqual([true, true, false]);
    expect(globMatcher([])('anything')).toBe(false);
  });

  it('matches a backtracking-prone glob in time linear in the path', () => {
    const matches = globMatcher(['*a*a*a*a*a*a*a*a*b']);
    const started = performance.now();
    expect(matches('a'.repeat(100_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(matches(`${'a'.repeat(8)}b`)).toBe(true);
  });

  it.each(['!x', '!(x)', 'src/!(gen)/**'])('refuses %s (a negation needs lookarounds) as BAD_USER_INPUT', (g) => {
    expect(() => checkGlobs('forbidTouchingPaths', [g])).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining(`glob "${g}" is not supported`) }));
  });
});

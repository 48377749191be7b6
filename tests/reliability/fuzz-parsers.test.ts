/**
 * The unified diff parser and the JSON Schema validation of the contracts,
 * fuzzed with random text, real inputs (tests/fixtures) mutated, and
 * generated valid inputs whose result is known:
 *
 * - parseUnifiedDiff returns a ParsedDiff or throws its DiffParseError (with
 *   a line inside the text or one past it), never anything else; what it
 *   returns obeys the invariants (counts are the sums of the files', each
 *   file's counts are its lines, the paths and statuses agree); a generated
 *   diff parses to exactly the counts it was built with; and no input takes
 *   more than a moment (the parser is meant to be one linear pass).
 * - ContractRegistry.validate answers { valid, errors } for any document
 *   (errors empty exactly when valid), check throws only its DomainError
 *   BAD_USER_INPUT and only for an invalid document, and an unknown
 *   contract name is a DomainError too.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ContractRegistry } from '../../src/engine/contracts/registry.js';
import { DomainError } from '../../src/engine/core/errors.js';
import { DiffParseError, parseUnifiedDiff } from '../../src/engine/patches/unified-diff.js';
import type { ParsedDiff } from '../../src/engine/patches/diff-types.js';
import { FIXTURE_DIFFS, VALID_CONTRACTS, deepJson, hostileNumber, hostileString, hugeString, mutateJson } from './graphql-arbitraries.js';
import { Tally, jsonText } from './hostile.js';
import { FULL, size } from './mode.js';

/** One parse or validation slower than this is a hang in waiting (inputs are at most ~1 MB). */
const SLOW_MS = 5_000;

// ---------------------------------------------------------------- diffs

/** What is wrong with a parse result (nothing, if it keeps every invariant). */
function diffViolations(parsed: ParsedDiff): string[] {
  const v: string[] = [];
  const sum = (f: (file: ParsedDiff['files'][number]) => number) => parsed.files.reduce((n, file) => n + f(file), 0);
  if (parsed.files.length === 0) v.push('no files');
  if (parsed.insertions !== sum((f) => f.insertions)) v.push(`insertions ${parsed.insertions} != sum of files`);
  if (parsed.deletions !== sum((f) => f.deletions)) v.push(`deletions ${parsed.deletions} != sum of files`);
  if (parsed.hunks !== sum((f) => f.hunks)) v.push(`hunks ${parsed.hunks} != sum of files`);
  if (new Set(parsed.filesTouched).size !== parsed.filesTouched.length) v.push('filesTouched repeats a path');
  for (const file of parsed.files) {
    const name = JSON.stringify(file.path);
    if (file.insertions !== file.added.length) v.push(`${name}: insertions ${file.insertions}, added lines ${file.added.length}`);
    if (file.deletions !== file.removed.length) v.push(`${name}: deletions ${file.deletions}, removed lines ${file.removed.length}`);
    if (file.oldPath === null && file.newPath === null) v.push(`${name}: both sides /dev/null`);
    if (file.path !== (file.newPath ?? file.oldPath)) v.push(`${name}: path is not newPath ?? oldPath`);
    if (file.path === '') v.push('a file with an empty path');
    if ((file.status === 'added') !== (file.oldPath === null)) v.push(`${name}: status ${file.status} with oldPath ${file.oldPath}`);
    if ((file.status === 'deleted') !== (file.newPath === null)) v.push(`${name}: status ${file.status} with newPath ${file.newPath}`);
    if (file.status === 'added' && file.deletions > 0) v.push(`${name}: an added file with removed lines`);
    if (file.status === 'deleted' && file.insertions > 0) v.push(`${name}: a deleted file with added lines`);
    if (file.hunks === 0 && (file.insertions > 0 || file.deletions > 0)) v.push(`${name}: lines without a hunk`);
    if (!parsed.filesTouched.includes(file.path)) v.push(`${name}: not in filesTouched`);
    if ((file.status === 'renamed' || file.status === 'copied') && !parsed.filesTouched.includes(file.oldPath!)) v.push(`${name}: old path not in filesTouched`);
  }
  return v;
}

interface DiffOutcome {
  kind: 'parsed' | 'refused';
  ms: number;
  problems: string[];
  parsed?: ParsedDiff;
}

function parseDiff(text: string): DiffOutcome {
  const started = performance.now();
  let outcome: DiffOutcome;
  try {
    const parsed = parseUnifiedDiff(text);
    outcome = { kind: 'parsed', ms: 0, problems: diffViolations(parsed), parsed };
    // Deterministic: the same text, the same result.
    if (JSON.stringify(parseUnifiedDiff(text)) !== JSON.stringify(parsed)) outcome.problems.push('a second parse differs');
  } catch (error) {
    const lines = text.split('\n').length;
    if (!(error instanceof DiffParseError)) {
      outcome = { kind: 'refused', ms: 0, problems: [`escaped: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`] };
    } else if (!Number.isInteger(error.line) || error.line < 1 || error.line > lines + 1) {
      outcome = { kind: 'refused', ms: 0, problems: [`DiffParseError at line ${error.line} of a ${lines}-line text`] };
    } else {
      outcome = { kind: 'refused', ms: 0, problems: error.message ? [] : ['DiffParseError without a message'] };
    }
  }
  outcome.ms = performance.now() - started;
  if (outcome.ms > SLOW_MS) outcome.problems.push(`took ${Math.round(outcome.ms)} ms`);
  return outcome;
}

/** Line-level and character-level damage to a real diff. */
type Damage =
  | { op: 'delete' | 'duplicate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'insert'; at: number; line: string }
  | { op: 'renumber'; at: number; delta: number }
  | { op: 'flip'; at: number; char: string }
  | { op: 'truncate'; at: number }
  | { op: 'crlf' | 'strip-newlines' | 'cr-only' };

const LINE_NOISE = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '+',
    '-',
    '\\',
    '@@',
    '@@ -1 +1 @@',
    '@@ -0,0 +0,0 @@',
    '@@ -1,999999999 +1,999999999 @@',
    '@@ -9999999999,1 +1 @@',
    '--- a/x',
    '+++ b/x',
    '--- /dev/null',
    '+++ /dev/null',
    'diff --git a/x b/x',
    'diff --git',
    'diff --git "a/\\777" b/x',
    'diff --git "a/unterminated b/x',
    'diff --cc x',
    'new file mode 100644',
    'deleted file mode 12345',
    'old mode 100644',
    'rename from ',
    'rename to x',
    'copy from "x\\',
    'GIT binary patch',
    'literal 5',
    'delta 999999999999',
    'zcmV?d00001',
    'Binary files a/x and b/x differ',
    'Binary files  and  differ',
    'Only in a: x',
    '-- ',
    '\\ No newline at end of file',
    'index 0000000..1111111',
    '\u0000',
    '\r',
    '\uFEFF+x',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.tuple(fc.constantFrom('+', '-', ' ', '@@ ', 'diff --git ', '--- ', '+++ '), fc.string({ maxLength: 20 })).map(([a, b]) => a + b),
);

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ op: fc.constantFrom<'delete' | 'duplicate'>('delete', 'duplicate'), at: fc.nat() }),
  fc.record({ op: fc.constant<'swap'>('swap'), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant<'insert'>('insert'), at: fc.nat(), line: LINE_NOISE }),
  fc.record({ op: fc.constant<'renumber'>('renumber'), at: fc.nat(), delta: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ op: fc.constant<'flip'>('flip'), at: fc.nat(), char: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
  fc.record({ op: fc.constant<'truncate'>('truncate'), at: fc.nat() }),
  fc.record({ op: fc.constantFrom<'crlf' | 'strip-newlines' | 'cr-only'>('crlf', 'strip-newlines', 'cr-only') }),
);

export function applyDamage(text: string, d: Damage): string {
  const lines = text.split('\n');
  const at = 'at' in d ? d.at % Math.max(1, lines.length) : 0;
  switch (d.op) {
    case 'delete':
      lines.splice(at, 1);
      return lines.join('\n');
    case 'duplicate':
      lines.splice(at, 0, lines[at] ?? '');
      return lines.join('\n');
    case 'swap': {
      const other = d.with % Math.max(1, lines.length);
      [lines[at], lines[other]] = [lines[other]!, lines[at]!];
      return lines.join('\n');
    }
    case 'insert':
      lines.splice(at, 0, d.line);
      return lines.join('\n');
    case 'renumber': {
      // Change one number of the nth hunk header (counts no longer match the body).
      const headers = lines.map((l, i) => (l.startsWith('@@') ? i : -1)).filter((i) => i >= 0);
      if (headers.length === 0) return text;
      const i = headers[d.at % headers.length]!;
      let k = 0;
      const which = d.at % 4;
      lines[i] = lines[i]!.replace(/\d+/g, (n) => (k++ === which ? String(Math.max(0, Number(n) + d.delta)) : n));
      return lines.join('\n');
    }
    case 'flip': {
      const pos = d.at % Math.max(1, text.length);
      return text.slice(0, pos) + d.char + text.slice(pos + 1);
    }
    case 'truncate':
      return text.slice(0, d.at % Math.max(1, text.length));
    case 'crlf':
      return text.replaceAll('\n', '\r\n');
    case 'strip-newlines':
      return text.replaceAll('\n', '');
    case 'cr-only':
      return text.replaceAll('\n', '\r');
  }
}

/** A valid diff built from parts, with the counts it must parse to. */
interface Generated {
  text: string;
  expected: { files: number; insertions: number; deletions: number; hunks: number; paths: string[] };
}

const PATH = fc
  .array(fc.stringMatching(/^[a-z0-9_][a-z0-9_.-]{0,8}$/), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join('/'))
  .filter((p) => p !== '/dev/null');
/** Line contents: anything but a newline, and not ending in \r (a CRLF terminator, which the parser strips). */
const CONTENT = fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/[\n\r]/g, '_'));
const HUNK_LINES = fc.array(fc.tuple(fc.constantFrom(' ', '+', '-'), CONTENT), { minLength: 1, maxLength: 8 });

const generatedDiff: fc.Arbitrary<Generated> = fc
  .uniqueArray(
    fc.record({
      path: PATH,
      kind: fc.constantFrom('modified', 'modified', 'added', 'deleted'),
      git: fc.boolean(),
      hunks: fc.array(fc.tuple(HUNK_LINES, fc.boolean()), { minLength: 1, maxLength: 4 }),
      noNewlineAtEnd: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4, selector: (f) => f.path },
  )
  .map((files) => {
    const out: string[] = [];
    const expected = { files: files.length, insertions: 0, deletions: 0, hunks: 0, paths: files.map((f) => f.path) };
    for (const file of files) {
      const oldName = file.kind === 'added' ? '/dev/null' : file.git ? `a/${file.path}` : file.path;
      const newName = file.kind === 'deleted' ? '/dev/null' : file.git ? `b/${file.path}` : file.path;
      if (file.git) {
        out.push(`diff --git a/${file.path} b/${file.path}`);
        if (file.kind === 'added') out.push('new file mode 100644');
        if (file.kind === 'deleted') out.push('deleted file mode 100644');
        out.push('index 0123456..789abcd');
      }
      out.push(`--- ${oldName}`, `+++ ${newName}`);
      let oldLine = 1;
      let newLine = 1;
      file.hunks.forEach(([rawLines, shortHeader], h) => {
        // An added file has only + lines, a deleted one only - lines.
        const body = rawLines.map(([mark, text]) => [file.kind === 'added' ? '+' : file.kind === 'deleted' ? '-' : mark, text] as const);
        const olds = body.filter(([m]) => m !== '+').length;
        const news = body.filter(([m]) => m !== '-').length;
        const range = (start: number, count: number) => (shortHeader && count === 1 ? `${start}` : `${count === 0 ? start - 1 : start},${count}`);
        out.push(`@@ -${range(oldLine, olds)} +${range(newLine, news)} @@${h % 2 ? ' function context' : ''}`);
        for (const [mark, text] of body) out.push(mark + text);
        oldLine += olds + 1;
        newLine += news + 1;
        expected.insertions += body.filter(([m]) => m === '+').length;
        expected.deletions += body.filter(([m]) => m === '-').length;
        expected.hunks += 1;
      });
      if (file.noNewlineAtEnd) out.push('\\ No newline at end of file');
    }
    return { text: out.join('\n') + '\n', expected };
  });

// ---------------------------------------------------------------- contracts

const registry = new ContractRegistry();
const CONTRACT_NAMES = registry.list().map((c) => c.name);
/** The parts of contracts the engine validates on their own (read from the sources, like `'#/$defs/origin'`). */
const FRAGMENTS: [string, string][] = (() => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  const found: [string, string][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(`${dir}${entry.name}/`);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(`${dir}${entry.name}`, 'utf8');
        for (const m of text.matchAll(/contracts\.(?:check|validate)\((?:'[^']*', )?'([a-z_-]+)', [^,]+, '(#[^']+)'\)/g)) found.push([m[1]!, m[2]!]);
      }
    }
  };
  walk(src);
  return found;
})();

const hostileJsonDoc: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 5 }), weight: 3 },
  { arbitrary: fc.tuple(fc.constantFrom(100, 1000, 10_000), fc.constantFrom<'object' | 'array'>('object', 'array')).map(([d, k]) => deepJson(d, k)), weight: 1 },
  { arbitrary: fc.dictionary(hostileString, fc.oneof(hostileString, hostileNumber, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 6 }), weight: 2 },
  {
    arbitrary: fc.constantFrom<unknown>(null, undefined, 0, '', [], {}, NaN, Infinity, -0, JSON.parse('{"__proto__": {"x": 1}}'), Object.create(null), new Date(0)),
    weight: 1,
  },
);

/** A valid fixture with one to four random changes (a key removed, a value replaced: by hostile text, numbers, deep JSON, huge arrays). */
const mutatedContractDoc = fc
  .tuple(
    fc.constantFrom(...Object.keys(VALID_CONTRACTS)),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.oneof(
          hostileString,
          hugeString,
          hostileNumber,
          fc.jsonValue({ maxDepth: 3 }),
          fc.constant(deepJson(10_000, 'object')),
          fc.tuple(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom(1000, 5000)).map(([v, n]) => Array.from({ length: n }, (_, i) => (typeof v === 'object' && v !== null ? { ...v, i } : i))),
        ),
      ),
      { minLength: 1, maxLength: 4 },
    ),
  )
  .map(([name, changes]) => ({ name, doc: changes.reduce((doc, [seed, value]) => mutateJson(doc, seed, value), VALID_CONTRACTS[name]) }));

interface ContractOutcome {
  valid?: boolean;
  problems: string[];
}

function validateDoc(name: string, doc: unknown, fragment = ''): ContractOutcome {
  const started = performance.now();
  const problems: string[] = [];
  let valid: boolean | undefined;
  try {
    const result = registry.validate(name, doc, fragment);
    valid = result.valid;
    if (typeof result.valid !== 'boolean' || !Array.isArray(result.errors)) problems.push(`not a validation result: ${JSON.stringify(result).slice(0, 200)}`);
    else if (result.valid !== (result.errors.length === 0)) problems.push(`valid ${result.valid} with ${result.errors.length} errors`);
    for (const e of result.errors ?? []) {
      if (typeof e.path !== 'string' || !e.path.startsWith('/') || typeof e.message !== 'string' || e.message === '') {
        problems.push(`a malformed issue: ${JSON.stringify(e).slice(0, 200)}`);
      }
    }
    // check() agrees: throws exactly when invalid, and only BAD_USER_INPUT.
    try {
      registry.check('document', name, doc, fragment);
      if (!result.valid) problems.push('check() accepted what validate() refused');
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'BAD_USER_INPUT') problems.push(`check() threw ${String(error).slice(0, 200)}`);
      else if (result.valid) problems.push('check() refused what validate() accepted');
    }
  } catch (error) {
    const known = CONTRACT_NAMES.includes(name);
    if (!(error instanceof DomainError) || known) problems.push(`escaped: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`.slice(0, 300));
  }
  const ms = performance.now() - started;
  if (ms > SLOW_MS) problems.push(`took ${Math.round(ms)} ms`);
  return { valid, problems };
}

// ---------------------------------------------------------------- tests

const stats = { diffs: new Tally(), contracts: new Tally(), slowestDiffMs: 0, slowestContractMs: 0, failures: 0 };
const RUNS = { random: size(400, 4000), mutated: size(600, 6000), generated: size(300, 3000), contracts: size(500, 5000) };

function diffProperty(arbitrary: fc.Arbitrary<string>, label: string, numRuns: number) {
  return fc.assert(
    fc.property(arbitrary, (text) => {
      const outcome = parseDiff(text);
      stats.diffs.add(`${label}:${outcome.kind}`);
      stats.slowestDiffMs = Math.max(stats.slowestDiffMs, outcome.ms);
      if (outcome.problems.length > 0) stats.failures += 1;
      if (outcome.problems.length > 0) throw new Error(`${label} ${JSON.stringify(text.slice(0, 500))}\n${outcome.problems.join('\n')}`);
    }),
    { numRuns },
  );
}

afterAll(() => {
  console.log(
    `[fuzz-parsers] mode=${FULL ? 'full' : 'short'} diffs: ${stats.diffs} slowest=${Math.round(stats.slowestDiffMs)}ms; ` +
      `contracts (${CONTRACT_NAMES.length}, ${FRAGMENTS.length} fragments): ${stats.contracts} slowest=${Math.round(stats.slowestContractMs)}ms; inputs that broke a property=${stats.failures}`,
  );
});

describe('unified diff parser', { timeout: size(60_000, 900_000) }, () => {
  it('the fixtures parse and keep the invariants', () => {
    for (const text of FIXTURE_DIFFS) expect(parseDiff(text).problems).toEqual([]);
    expect(FIXTURE_DIFFS.every((text) => parseDiff(text).kind === 'parsed')).toBe(true);
  });

  it('inputs that once broke it: a file whose missing side has lines is refused', () => {
    // Parsed as an added file with a removed line (or a deleted one with an added line): status and counts disagreed.
    const cases = [
      '--- /dev/null\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n',
      'diff --git a/x b/x\ndeleted file mode 100644\n--- a/x\n+++ /dev/null\n@@ -1 +1 @@\n-a\n+b\n',
      '--- old/x\t1969-12-31 19:00:00.000000000 -0500\n+++ new/x\t2026-01-10 03:30:00.000000000 -0500\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n',
    ];
    for (const text of cases) {
      const outcome = parseDiff(text);
      stats.diffs.add(`regression:${outcome.kind}`);
      expect(outcome, text).toEqual(expect.objectContaining({ kind: 'refused', problems: [] }));
    }
  });

  it('random text: a ParsedDiff or a DiffParseError, nothing else', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(LINE_NOISE, { maxLength: 40 }).map((lines) => lines.join('\n')),
      fc.array(LINE_NOISE, { maxLength: 40 }).map((lines) => `diff --git a/x b/x\n--- a/x\n+++ b/x\n${lines.join('\n')}`),
      hostileString,
    );
    diffProperty(text, 'random', RUNS.random);
  });

  it('real diffs damaged: a ParsedDiff that keeps the invariants, or a DiffParseError', () => {
    const mutated = fc.tuple(fc.constantFrom(...FIXTURE_DIFFS), fc.array(damage, { minLength: 1, maxLength: 4 })).map(([text, damages]) => damages.reduce(applyDamage, text));
    diffProperty(mutated, 'mutated', RUNS.mutated);
  });

  it('generated valid diffs parse to exactly the counts they were built with', () => {
    fc.assert(
      fc.property(generatedDiff, ({ text, expected }) => {
        const outcome = parseDiff(text);
        stats.diffs.add(`generated:${outcome.kind}`);
        expect(outcome.problems, text).toEqual([]);
        expect(outcome.kind, text).toBe('parsed');
        const parsed = outcome.parsed!;
        expect({
          files: parsed.files.length,
          insertions: parsed.insertions,
          deletions: parsed.deletions,
          hunks: parsed.hunks,
          paths: parsed.files.map((f) => f.path),
        }).toEqual(expected);
      }),
      { numRuns: RUNS.generated },
    );
  });

  it('large inputs parse in linear time: 1 MB of lines, one huge line, a million-line hunk', () => {
    const body = Array.from({ length: 100_000 }, (_, i) => `+line ${i}`).join('\n');
    const cases = [
      `--- a/x\n+++ b/x\n@@ -0,0 +1,100000 @@\n${body}\n`,
      `--- a/x\n+++ b/x\n@@ -1 +1 @@\n-${'x'.repeat(1_000_000)}\n+${'y'.repeat(1_000_000)}\n`,
      `--- a/x\n+++ b/x\n@@ -1,999999999 +1,999999999 @@\n${' same\n'.repeat(200_000)}`,
      `diff --git ${'a/'.repeat(300_000)} ${'b/'.repeat(300_000)}\n`,
      `diff --git "${'\\101'.repeat(200_000)}" b/x\n`,
      '\n'.repeat(1_000_000),
      `${'@'.repeat(1_000_000)}\n`,
      '\ud800'.repeat(1_000_000),
      `--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n${'\u0000'.repeat(500_000)}\n`,
    ];
    for (const text of cases) {
      const outcome = parseDiff(text);
      stats.diffs.add(`large:${outcome.kind}`);
      stats.slowestDiffMs = Math.max(stats.slowestDiffMs, outcome.ms);
      expect(outcome.problems, text.slice(0, 80)).toEqual([]);
    }
  });
});

describe('contract validation (JSON Schema)', { timeout: size(60_000, 900_000) }, () => {
  it('every valid fixture validates, and every contract has one', () => {
    expect(Object.keys(VALID_CONTRACTS).sort()).toEqual([...CONTRACT_NAMES].sort());
    for (const [name, doc] of Object.entries(VALID_CONTRACTS)) expect(validateDoc(name, doc), name).toEqual({ valid: true, problems: [] });
    expect(FRAGMENTS.length).toBeGreaterThan(3);
  });

  it('inputs that once broke it: uniqueItems over a $ref item schema is linear, not quadratic', () => {
    // Ajv compared every pair of step_attempt's patch_ids: 35,000 ULIDs (1 MB, one validateDocument query) took 12 s,
    // 20,000 small objects 9 s.
    const base = VALID_CONTRACTS.step_attempt as { outputs: Record<string, unknown> };
    const ulid = (i: number) => `01J1Z752W5647MZ06${String(i).padStart(9, '0')}`;
    const cases: [string, unknown[], boolean][] = [
      ['35,000 distinct ULIDs', Array.from({ length: 35_000 }, (_, i) => ulid(i)), true],
      ['20,000 small objects', Array.from({ length: 20_000 }, (_, i) => ({ i })), false],
      [
        'two equal objects, keys in another order',
        [
          { a: 1, b: 2 },
          { b: 2, a: 1 },
        ],
        false,
      ],
    ];
    for (const [what, items, valid] of cases) {
      const started = performance.now();
      const outcome = validateDoc('step_attempt', { ...base, outputs: { ...base.outputs, patch_ids: items } });
      const ms = performance.now() - started;
      stats.contracts.add(`regression:${outcome.valid ? 'valid' : 'invalid'}`);
      expect(outcome, what).toEqual({ valid, problems: [] });
      expect(ms, what).toBeLessThan(3_000);
    }
    const duplicate = registry.validate('step_attempt', { ...base, outputs: { ...base.outputs, patch_ids: [ulid(1), ulid(2), ulid(1)] } });
    expect(duplicate.errors).toEqual([{ path: '/outputs/patch_ids', message: 'must NOT have duplicate items (items ## 0 and 2 are identical)' }]);
  });

  it('random and mutated documents get a validation result, never an exception', () => {
    const cases = fc.oneof(
      { arbitrary: mutatedContractDoc.map(({ name, doc }) => ({ name, doc, fragment: '' })), weight: 5 },
      { arbitrary: fc.record({ name: fc.constantFrom(...CONTRACT_NAMES), doc: hostileJsonDoc, fragment: fc.constant('') }), weight: 3 },
      { arbitrary: fc.tuple(fc.constantFrom(...FRAGMENTS), hostileJsonDoc).map(([[name, fragment], doc]) => ({ name, doc, fragment })), weight: 2 },
      { arbitrary: fc.record({ name: fc.oneof(hostileString, fc.constantFrom('__proto__', 'constructor', 'toString', 'run_record.v1')), doc: fc.constant({}), fragment: fc.constant('') }), weight: 1 },
    );
    fc.assert(
      fc.property(cases, ({ name, doc, fragment }) => {
        const started = performance.now();
        const outcome = validateDoc(name, doc, fragment);
        stats.slowestContractMs = Math.max(stats.slowestContractMs, performance.now() - started);
        stats.contracts.add(outcome.valid === undefined ? 'unknown-contract' : outcome.valid ? 'valid' : 'invalid');
        if (outcome.problems.length > 0) {
          stats.failures += 1;
          throw new Error(`${name}${fragment} ${jsonText(doc).slice(0, 600)}\n${outcome.problems.join('\n')}`);
        }
      }),
      { numRuns: RUNS.contracts },
    );
  });
});

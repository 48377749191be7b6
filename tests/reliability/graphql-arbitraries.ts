/**
 * fast-check arbitraries for a GraphQL schema's inputs, built by walking the
 * input types (scalars, enums, lists, nested input objects), in two moods:
 * hostile (wrong types, huge and broken strings, non-finite and out-of-range
 * numbers, deep JSON, ids of the wrong kind) and benign (values a client
 * would send, ids of entities that exist). Ids are drawn as references into
 * a pool of the ids the server has returned, resolved when a request goes out.
 *
 * Also: a printer of any value as a GraphQL literal (for inline arguments,
 * where 1e999 and NaN can be written), and a selection set for a type.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isRequiredArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
} from 'graphql';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const FIXTURE_DIFFS: string[] = readdirSync(FIXTURES + 'diffs')
  .sort()
  .map((f) => readFileSync(`${FIXTURES}diffs/${f}`, 'utf8'));
export const VALID_CONTRACTS: Record<string, unknown> = Object.fromEntries(
  readdirSync(FIXTURES + 'contracts')
    .filter((f) => f.endsWith('.valid.json'))
    .sort()
    .map((f) => [f.replace('.valid.json', ''), JSON.parse(readFileSync(`${FIXTURES}contracts/${f}`, 'utf8'))]),
);

/** The types whose global ids the gateway hands out (base64url of "Type:ULID"). */
export const NODE_TYPES = ['Run', 'StepAttempt', 'RunEvent', 'Worker', 'Task', 'Patch', 'LedgerEntry', 'TestGate', 'CostRecord', 'Workstream', 'ExecutionRequest'];

/** Left out of an input object (or of the variables). */
export const OMIT: unique symbol = Symbol('omit');

/** An id to be taken from the pool when the request goes out: the `pick`-th newest of `type` (any type when null). */
export class Ref {
  constructor(
    readonly type: string | null,
    readonly pick: number,
  ) {}
  toString(): string {
    return `Ref(${this.type ?? '*'}#${this.pick})`;
  }
}

/** Ids the server returned, by __typename. */
export class IdPool {
  private readonly ids = new Map<string, string[]>();
  private readonly seen = new Set<string>();
  /** How far back a reference reaches: a few entities, so sequences meet the same ones again. */
  constructor(private readonly reach = 4) {}

  add(type: string, id: string): void {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    const list = this.ids.get(type) ?? [];
    list.push(id);
    this.ids.set(type, list);
  }

  /** Every `{__typename, id}` object in a response's data (walked without recursion). */
  collect(data: unknown): void {
    const stack = [data];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node === null || typeof node !== 'object') continue;
      if (Array.isArray(node)) {
        stack.push(...node);
        continue;
      }
      const record = node as Record<string, unknown>;
      if (typeof record.__typename === 'string' && typeof record.id === 'string') this.add(record.__typename, record.id);
      stack.push(...Object.values(record));
    }
  }

  resolve(ref: Ref): string {
    const types = ref.type ? [ref.type] : [...this.ids.keys()].sort();
    const type = types[ref.pick % Math.max(1, types.length)] ?? ref.type ?? 'Run';
    const list = this.ids.get(type) ?? [];
    if (list.length === 0) return fakeGlobalId(type, ref.pick);
    return list[list.length - 1 - (ref.pick % Math.min(list.length, this.reach))]!;
  }

  size(): number {
    return this.seen.size;
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function fakeUlid(seed: number): string {
  let s = '01';
  let x = seed >>> 0 || 1;
  for (let i = 0; i < 24; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += CROCKFORD[x % 32];
  }
  return s;
}
export const fakeGlobalId = (type: string, seed: number) => Buffer.from(`${type}:${fakeUlid(seed)}`).toString('base64url');

/** Replaces the Refs in a value by ids, following the input type (so deep JSON is never walked). */
export function resolveRefs(value: unknown, type: GraphQLInputType, pool: IdPool): unknown {
  if (value instanceof Ref) return pool.resolve(value);
  if (value === null || typeof value !== 'object') return value;
  if (isNonNullType(type)) return resolveRefs(value, type.ofType, pool);
  if (isListType(type)) return Array.isArray(value) ? value.map((v) => resolveRefs(v, type.ofType, pool)) : resolveRefs(value, type.ofType, pool);
  if (isInputObjectType(type) && !Array.isArray(value)) {
    const fields = type.getFields();
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fields[k] ? resolveRefs(v, fields[k].type, pool) : v]));
  }
  return value;
}

// ---------------------------------------------------------------- literals

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

function numberLiteral(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '1e999';
  if (n === -Infinity) return '-1e999';
  if (Object.is(n, -0)) return '-0';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n).replace('e+', 'e');
}

class Token {
  constructor(readonly text: string) {}
}

/** Any JSON-ish value as a GraphQL literal, without recursion (deep JSON stays deep); keys that are no names get one. */
export function genericLiteral(root: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Token) out.push(item.text);
    else if (item === null || item === undefined) out.push('null');
    else if (typeof item === 'string') out.push(JSON.stringify(item));
    else if (typeof item === 'number') out.push(numberLiteral(item));
    else if (typeof item === 'boolean') out.push(String(item));
    else if (Array.isArray(item)) {
      stack.push(new Token(']'));
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push(item[i]);
        if (i > 0) stack.push(new Token(', '));
      }
      stack.push(new Token('['));
    } else if (typeof item === 'object') {
      const entries = Object.entries(item as Record<string, unknown>);
      stack.push(new Token('}'));
      for (const [i, [key, value]] of [...entries.entries()].reverse()) {
        stack.push(value);
        stack.push(new Token(`${NAME.test(key) ? key : `k${i}`}: `));
        if (i > 0) stack.push(new Token(', '));
      }
      stack.push(new Token('{'));
    } else out.push(JSON.stringify(String(item)));
  }
  return out.join('');
}

/** A value as a GraphQL literal of `type`: enum values bare, input objects by their fields. */
export function literal(value: unknown, type: GraphQLInputType): string {
  if (value === null || value === undefined) return 'null';
  if (isNonNullType(type)) return literal(value, type.ofType);
  if (isListType(type)) return Array.isArray(value) ? `[${value.map((v) => literal(v, type.ofType)).join(', ')}]` : literal(value, type.ofType);
  if (isEnumType(type) && typeof value === 'string' && NAME.test(value)) return value;
  if (isInputObjectType(type) && typeof value === 'object' && !Array.isArray(value)) {
    const fields = type.getFields();
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v], i) => {
      const name = NAME.test(k) ? k : `k${i}`;
      return `${name}: ${fields[k] ? literal(v, fields[k].type) : genericLiteral(v)}`;
    });
    return `{${parts.join(', ')}}`;
  }
  return genericLiteral(value);
}

// ---------------------------------------------------------------- selections

/**
 * A selection set for an output type: every field without required
 * arguments, objects `depth` levels down (leaves only at the last), with
 * __typename and id wherever there is one (so the pool learns the ids).
 */
export function selection(type: GraphQLNamedType, depth: number): string {
  if (!isObjectType(type) && !isInterfaceType(type)) return '';
  const parts = ['__typename'];
  for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
    if (field.args.some(isRequiredArgument)) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(field.name);
    else if (depth > 0 && (isObjectType(named) || isInterfaceType(named))) {
      // Connections: their first page only, and only what identifies the items.
      if (named.name.endsWith('Connection')) parts.push(`${field.name}(first: 2) { totalCount edges { node { __typename ... on Node { id } } } }`);
      else parts.push(`${field.name} { ${selection(named, depth - 1)} }`);
    }
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------- values

const LONE_SURROGATE = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const SPECIAL_CHAR = fc.constantFrom('\u0000', '\uFEFF', '\u202E', '\u200B', '\n', '\r\n', '\t', '"', '\\', '\u2028', '\uFFFF', '😀', '\u{10FFFF}', 'é', '𝕏', '\u0301');
const HOSTILE_UNIT = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), LONE_SURROGATE, SPECIAL_CHAR);
/** Lengths just under and over the limits the gateway documents (200, 1000, 4096, 1,000,000 characters). */
const HUGE_LENGTH = fc.constantFrom(200, 201, 1000, 1001, 4096, 4097, 65_536, 1_000_000, 1_000_001);
export const hugeString = fc.tuple(HUGE_LENGTH, fc.constantFrom('x', 'é', '😀', '\u0000', '\ud800', ' ')).map(([n, c]) => c.repeat(Math.ceil(n / c.length)));
const NASTY_STRINGS = [
  '',
  ' ',
  '   ',
  '\n\t',
  '\u0000',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'prototype',
  "'; DROP TABLE run; --",
  '../../../etc/passwd',
  '%s%s%n',
  '${7*7}',
  '{{7*7}}',
  '<script>x</script>',
  'NaN',
  'Infinity',
  '-0',
  '1e999',
  '0x10',
  '*',
  '**',
  '[',
  '\\',
  '{',
  'a'.repeat(201),
  'USD ',
  'usd',
  'RUNNING',
  'Run:',
  'Run:x',
];
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.array(HOSTILE_UNIT, { maxLength: 40 }).map((a) => a.join('')), weight: 5 },
  { arbitrary: fc.constantFrom(...NASTY_STRINGS), weight: 4 },
  { arbitrary: fc.string(), weight: 2 },
  { arbitrary: hugeString, weight: 1 },
);

const NASTY_NUMBERS = [
  0,
  -1,
  1,
  2,
  100,
  101,
  2147483647,
  2147483648,
  -2147483648,
  -2147483649,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1e21,
  -1e21,
  1e308,
  -1e308,
  0.5,
  -0.5,
  1.0000001,
  5e-324,
  NaN,
  Infinity,
  -Infinity,
  -0,
  86400,
  86401,
];
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constantFrom(...NASTY_NUMBERS), weight: 4 },
  { arbitrary: fc.integer({ min: -5, max: 5 }), weight: 2 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.double(), weight: 2 },
);

const NASTY_DATES = [
  '',
  'yesterday',
  '2026-11-24',
  '2026-11-24T12:00:00',
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999+23:59',
  '275760-09-13T00:00:00.001Z',
  '+275760-09-13T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '2026-11-24T25:61:61Z',
  '2026-11-24T12:00:00-24:00',
  '2026-11-24T12:00Z',
  '1969-12-31T23:59:59.999Z',
];
const hostileDate = fc.oneof(
  fc.constantFrom(...NASTY_DATES),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const benignDate = fc.integer({ min: -86_400_000, max: 30 * 86_400_000 }).map((ms) => new Date(Date.UTC(2026, 10, 24) + ms).toISOString());

/** Decimals that are refused, huge, or ruinous to compute with naively (10^(10^9), millions of trailing zeros). */
const NASTY_DECIMALS = [
  '-1',
  '-0',
  '0',
  '0.0000000001',
  '1e-10',
  '1e400',
  '1e999999999',
  '1e-999999999',
  '1e99999999',
  '9'.repeat(1000),
  `1${'0'.repeat(20_000)}e-20000`,
  ' 12 ',
  '1,5',
  '0x10',
  'NaN',
  'Infinity',
  '0e999999999',
  '12.',
  '.5',
  '1e',
  '1E+5',
];
const hostileDecimal = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(...NASTY_DECIMALS), weight: 4 },
  { arbitrary: fc.tuple(fc.nat(1_000_000), fc.integer({ min: -2_000_000_000, max: 2_000_000_000 })).map(([d, e]) => `${d}e${e}`), weight: 2 },
  { arbitrary: hostileNumber, weight: 2 },
);
const benignDecimal = fc.constantFrom('0', '0.5', '1', '12.50', '0.000001', '3', '100');

/**
 * JSON nested `depth` levels: {"a":{"a":...}} or [[...]], built without
 * recursion. It names itself to fast-check (whose printer of a
 * counterexample would otherwise recurse 10,000 levels deep).
 */
export function deepJson(depth: number, kind: 'object' | 'array'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = kind === 'object' ? { a: value } : [value];
  return labelled(value as object, `deepJson(${depth}, '${kind}')`);
}

function labelled<T extends object>(value: T, label: string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => label, enumerable: false });
  return value;
}
const deepJsonArb = fc.tuple(fc.constantFrom(100, 1000, 10_000), fc.constantFrom<'object' | 'array'>('object', 'array')).map(([d, k]) => deepJson(d, k));

/** A deep copy of plain JSON-ish data, without recursion (values may be 10,000 levels deep). */
export function cloneJson(value: unknown): unknown {
  const copyOf = (v: unknown): unknown => {
    const copy = Array.isArray(v) ? [...v] : v !== null && typeof v === 'object' ? { ...v } : v;
    if (copy !== v && fc.hasToStringMethod(v)) labelled(copy as object, (v as { [fc.toStringMethod](): string })[fc.toStringMethod]());
    return copy;
  };
  const root = copyOf(value);
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown> | unknown[];
    if (node === null || typeof node !== 'object') continue;
    for (const [key, child] of Object.entries(node)) {
      if (child === null || typeof child !== 'object') continue;
      const copied = copyOf(child);
      (node as Record<string, unknown>)[key] = copied;
      stack.push(copied);
    }
  }
  return root;
}

/** A copy of a document with one random change: a key removed, a value replaced. */
export function mutateJson(doc: unknown, seed: number, replacement: unknown): unknown {
  const copy = cloneJson(doc);
  const containers: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    for (const [key, child] of Object.entries(node)) {
      containers.push({ parent: node as Record<string, unknown>, key: Array.isArray(node) ? Number(key) : key });
      stack.push(child);
    }
  }
  if (containers.length === 0) return replacement;
  const { parent, key } = containers[seed % containers.length]!;
  if (seed % 3 === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else (parent as Record<string | number, unknown>)[key] = replacement;
  return copy;
}
const mutatedFixture = fc
  .tuple(fc.constantFrom(...Object.values(VALID_CONTRACTS)), fc.nat(), fc.oneof(fc.jsonValue(), hostileString, hostileNumber))
  .map(([doc, seed, replacement]) => mutateJson(doc, seed, replacement));

const wrongType: fc.Arbitrary<unknown> = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.string(), fc.constant({}), fc.constant([]), fc.jsonValue({ maxDepth: 2 }));

const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 4 },
  { arbitrary: deepJsonArb, weight: 2 },
  { arbitrary: mutatedFixture, weight: 3 },
  { arbitrary: fc.dictionary(hostileString, fc.oneof(hostileString, hostileNumber), { maxKeys: 5 }), weight: 2 },
  {
    arbitrary: fc.constantFrom<unknown>({ __proto__: { polluted: true } }, JSON.parse('{"__proto__": {"polluted": true}}'), { constructor: { prototype: {} } }, { message: 1 }),
    weight: 1,
  },
);

// ---------------------------------------------------------------- per field

/** The kind of entity an ID field names, from its name (and the mutation, for a bare `id`). */
export function idTypeOf(field: string, mutation: string): string | null {
  const byField: Record<string, string> = {
    runId: 'Run',
    workerId: 'Worker',
    taskId: 'Task',
    ledgerId: 'LedgerEntry',
    executionRequestId: 'ExecutionRequest',
    replacesPatchId: 'Patch',
    rollbackOfPatchId: 'Patch',
  };
  if (byField[field]) return byField[field];
  if (field !== 'id') return null;
  if (/Run$/.test(mutation)) return 'Run';
  if (/Step$/.test(mutation)) return 'StepAttempt';
  if (/Worker$/.test(mutation)) return 'Worker';
  if (/TestGate$/.test(mutation)) return 'TestGate';
  if (/ApiToken$/.test(mutation)) return 'ApiToken';
  return null;
}

/** What a client would put in a String field of this name. */
function benignString(field: string): fc.Arbitrary<string> {
  switch (field) {
    case 'projectId':
      return fc.constantFrom('proj-1', 'proj-2');
    case 'phaseId':
      return fc.constantFrom('phase-1', 'phase-2');
    case 'workstreamId':
      return fc.constantFrom('ws-1', 'ws-2');
    case 'toolId':
      return fc.constantFrom('codex', 'claude', 'pytest');
    case 'diffText':
      return fc.constantFrom(...FIXTURE_DIFFS);
    case 'currency':
      return fc.constantFrom('USD', 'EUR');
    case 'kind':
    case 'kinds':
      return fc.constantFrom('build', 'test', 'lint');
    case 'targetRepo':
      return fc.constant('git@example.invalid:repo.git');
    case 'tools':
      return fc.constantFrom('codex', 'pytest');
    case 'baseCommit':
      return fc.constant('0123456789abcdef0123456789abcdef01234567');
    case 'appliedFiles':
    case 'forbidTouchingPaths':
    case 'requireTestsForPaths':
      return fc.constantFrom('src/a.ts', 'docs/**', 'tests/**');
    case 'allowedFormats':
      return fc.constant('unified_diff');
    case 'unit':
      return fc.constantFrom('tokens', 'seconds');
    default:
      return fc.constantFrom('a', 'because', 'x1', 'note', 'unit-tests', 'codex');
  }
}

function benignInt(field: string): fc.Arbitrary<number> {
  switch (field) {
    case 'maxParallelTasks':
    case 'maxAttempts':
      return fc.integer({ min: 1, max: 3 });
    case 'exitCode':
      return fc.constantFrom(0, 0, 1);
    case 'totalTests':
      return fc.integer({ min: 3, max: 6 });
    case 'passedTests':
    case 'failedTests':
    case 'skippedTests':
      return fc.integer({ min: 0, max: 1 });
    case 'timeoutSeconds':
      return fc.integer({ min: 30, max: 600 });
    default:
      return fc.integer({ min: 0, max: 10 });
  }
}

function benignFloat(field: string): fc.Arbitrary<number> {
  if (field === 'timeoutSeconds' || field === 'heartbeatInterval') return fc.constantFrom(30, 60, 600);
  if (field === 'progress' || field === 'coveragePercent' || field === 'minCoverage') return fc.integer({ min: 0, max: 100 });
  return fc.integer({ min: 0, max: 20 }).map((n) => n / 2);
}

function benignJson(field: string): fc.Arbitrary<unknown> {
  switch (field) {
    case 'origin':
      return fc.constantFrom({ trigger_type: 'manual' }, { trigger_type: 'ci', trigger_ref: 'pr-1' });
    case 'config':
      return fc.constant(VALID_CONTRACTS.router_config);
    case 'spec':
      return fc.nat(1_000_000).map((n) => ({ ...(VALID_CONTRACTS.workstream_spec as object), workstream_id: `ws-${n}` }));
    default:
      return fc.constantFrom({}, { a: 1 }, { note: 'x', n: [1, 2] });
  }
}

function idArb(field: string, mutation: string, hostile: boolean): fc.Arbitrary<unknown> {
  const expected = idTypeOf(field, mutation);
  const ref = fc.nat(64).map((n) => new Ref(expected, n));
  if (!hostile) return ref;
  return fc.oneof(
    { arbitrary: ref, weight: 4 },
    { arbitrary: fc.nat(64).map((n) => new Ref(null, n)), weight: 3 },
    { arbitrary: fc.tuple(fc.constantFrom(...NODE_TYPES, 'Nope', 'run', ''), fc.nat()).map(([t, s]) => fakeGlobalId(t, s)), weight: 2 },
    { arbitrary: hostileString, weight: 2 },
    { arbitrary: wrongType, weight: 1 },
  );
}

function scalarArb(name: string, field: string, mutation: string, hostile: boolean): fc.Arbitrary<unknown> {
  const either = (benign: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown>) =>
    hostile ? fc.oneof({ arbitrary: benign, weight: 3 }, { arbitrary: bad, weight: 3 }, { arbitrary: wrongType, weight: 1 }) : benign;
  switch (name) {
    case 'String':
      return either(benignString(field), hostileString);
    case 'ID':
      return idArb(field, mutation, hostile);
    case 'Int':
      return either(benignInt(field), hostileNumber);
    case 'Float':
      return either(benignFloat(field), hostileNumber);
    case 'Boolean':
      return either(fc.boolean(), fc.constantFrom<unknown>('true', 0, 1, 'false'));
    case 'DateTime':
      return either(benignDate, hostileDate);
    case 'Decimal':
      return either(benignDecimal, hostileDecimal);
    case 'JSON':
      return either(benignJson(field), hostileJson);
    default:
      // A scalar this file does not know yet: strings and anything else.
      return either(fc.string(), fc.oneof(hostileString, hostileNumber, hostileJson));
  }
}

export interface ArbContext {
  mutation: string;
  hostile: boolean;
}

/** A value for a field of this type, or OMIT. */
export function fieldArb(type: GraphQLInputType, field: string, ctx: ArbContext, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    const value = valueArb(type.ofType, field, ctx, depth);
    if (!ctx.hostile) return value;
    return fc.oneof({ arbitrary: value, weight: 14 }, { arbitrary: fc.constant(OMIT), weight: 1 }, { arbitrary: fc.constant(null), weight: 1 });
  }
  const value = valueArb(type, field, ctx, depth);
  return fc.oneof({ arbitrary: value, weight: ctx.hostile ? 6 : 2 }, { arbitrary: fc.constant(OMIT), weight: 3 }, { arbitrary: fc.constant(null), weight: ctx.hostile ? 1 : 0 });
}

/** A value (never OMIT) of a nullable or named type. */
export function valueArb(type: GraphQLInputType, field: string, ctx: ArbContext, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return valueArb(type.ofType, field, ctx, depth);
  if (isListType(type)) {
    const element = valueArb(type.ofType, field, ctx, depth + 1);
    const list = fc.array(element, { maxLength: 4 });
    if (!ctx.hostile) return list;
    return fc.oneof(
      { arbitrary: list, weight: 8 },
      // Input coercion makes a single value a list of one.
      { arbitrary: element, weight: 1 },
      { arbitrary: fc.array(fc.constant(null), { minLength: 1, maxLength: 2 }), weight: 1 },
      // Long lists, of small values (a list of 20,000 huge strings would be a 20 GB request).
      { arbitrary: fc.tuple(valueArb(type.ofType, field, { ...ctx, hostile: false }, depth + 1), fc.constantFrom(51, 1001, 20_000)).map(([e, n]) => Array.from({ length: n }, () => e)), weight: 1 },
    );
  }
  if (isEnumType(type)) {
    const values = fc.constantFrom(...type.getValues().map((v) => v.name));
    if (!ctx.hostile) return values;
    return fc.oneof({ arbitrary: values, weight: 8 }, { arbitrary: values.map((v) => v.toLowerCase()), weight: 1 }, { arbitrary: fc.oneof(hostileString, wrongType), weight: 1 });
  }
  if (isInputObjectType(type)) {
    if (depth > 6) return fc.constant({});
    const entries = Object.values(type.getFields()).map((f) => fieldArb(f.type, f.name, ctx, depth + 1).map((v) => [f.name, v] as const));
    const object = fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== OMIT)));
    if (!ctx.hostile) return object;
    return fc.oneof(
      { arbitrary: object, weight: 10 },
      { arbitrary: fc.tuple(object, fc.constantFrom('nope', 'extra', '__typename', '__proto__'), wrongType).map(([o, k, v]) => ({ ...o, [k]: v })), weight: 1 },
      { arbitrary: wrongType, weight: 1 },
    );
  }
  return scalarArb(type.name, field, ctx.mutation, ctx.hostile);
}

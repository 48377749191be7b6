import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/engine/core/errors.js';
import { ContractRegistry } from '../../src/engine/contracts/registry.js';

// Defaults and error messages of every contract (issue 18): the input form (accept) fills in defaults, the strict form (validate) keeps requiring them.
const registry = new ContractRegistry();
const NAMES = registry
  .list()
  .map((c) => c.name)
  .sort();
type Schema = Record<string, any>;
const EXAMPLES = new URL('../../examples/', import.meta.url);
const example = (name: string): Schema => JSON.parse(readFileSync(new URL(`${name}.v1.json`, EXAMPLES), 'utf8'));
const schemaOf = (name: string): Schema => registry.list().find((c) => c.name === name)!.schema as Schema;

/** A $ref inside a contract, resolved (#/$defs/x in the same contract, or another contract's $id). */
function deref(name: string, schema: Schema): Schema {
  if (typeof schema.$ref !== 'string') return schema;
  const [id, pointer = ''] = schema.$ref.split('#');
  const root = id ? registry.list().find((c) => c.id === id)!.schema : schemaOf(name);
  return pointer
    .split('/')
    .slice(1)
    .reduce((node: any, key) => node[key], root);
}

/** Every `default` of a contract with the JSON Pointer of the schema that holds it. */
function defaultsOf(schema: unknown, at = ''): { pointer: string; value: unknown }[] {
  if (schema === null || typeof schema !== 'object') return [];
  const own = !Array.isArray(schema) && 'default' in schema ? [{ pointer: at, value: (schema as Schema).default }] : [];
  return [...own, ...Object.entries(schema).flatMap(([key, inner]) => (key === 'default' ? [] : defaultsOf(inner, `${at}/${key}`)))];
}

/** A default with the defaults of its properties filled in (as Ajv's useDefaults does on input), worked out without Ajv. */
function filled(name: string, schema: Schema, value: unknown): unknown {
  const target = deref(name, schema);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !target.properties) return value;
  const out: Schema = { ...value };
  for (const [key, inner] of Object.entries(target.properties as Record<string, Schema>)) if (out[key] === undefined && inner.default !== undefined) out[key] = filled(name, inner, inner.default);
  return out;
}

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const messages = (name: string, document: unknown) => registry.validate(name, document).errors.map((e) => `${e.path} ${e.message}`);

describe('contract defaults', () => {
  it('examples/ holds one document per contract, and besides them only the demo tools of the worker', () => {
    const entries = readdirSync(EXAMPLES);
    expect(entries.filter((entry) => entry.endsWith('.json')).sort()).toEqual(NAMES.map((name) => `${name}.v1.json`));
    expect(entries.filter((entry) => !entry.endsWith('.json'))).toEqual(['tools']);
  });

  it('workstream_spec, task_spec and router_config default what a person should not have to write', () => {
    const paths = (name: string) => defaultsOf(schemaOf(name)).map((d) => d.pointer);
    expect(paths('workstream_spec')).toEqual(expect.arrayContaining(['tags', 'resource_scope', 'constraints', 'concurrency', 'error_handling', 'acceptance'].map((p) => `/properties/${p}`)));
    expect(paths('task_spec')).toEqual(expect.arrayContaining(['allow_parallel', 'classification', 'execution', 'error_handling', 'acceptance'].map((p) => `/properties/${p}`)));
    expect(paths('router_config')).toEqual(expect.arrayContaining(['/properties/defaults', '/$defs/app/properties/limits', '/$defs/app/properties/capabilities/properties/domains']));
  });

  describe.each(NAMES)('%s', (name) => {
    const schema = schemaOf(name);
    const full = registry.accept(name, name, example(name));
    const top = deref(name, schema);
    const defaulted = (top.required as string[]).filter((p) => top.properties[p].default !== undefined);

    it('every default, with the defaults inside it filled in, matches the schema it is the default of', () => {
      for (const { pointer, value } of defaultsOf(schema)) {
        const at = pointer
          .split('/')
          .slice(1)
          .reduce((node: any, key) => node[key], schema);
        expect(registry.validate(name, filled(name, at, value), `#${pointer}`), `${name}#${pointer}`).toEqual({ valid: true, errors: [] });
      }
    });

    it('its example is accepted as input, filled in to the full form, which strict validation accepts; the example itself is not changed', () => {
      const document = example(name);
      const copy = structuredClone(document);
      expect(registry.accept(name, name, document)).toEqual(full);
      expect(document).toEqual(copy);
      expect(registry.validate(name, full)).toEqual({ valid: true, errors: [] });
    });

    it.runIf(defaulted.length > 0)('input may leave out a defaulted property and gets its default; strict validation requires it, naming its shape and default', () => {
      for (const property of defaulted) {
        const { [property]: _left, ...minimal } = full;
        const filled = registry.accept<Schema>(name, name, minimal);
        expect(filled[property], property).toEqual(registry.accept<Schema>(name, name, { ...minimal, [property]: top.properties[property].default })[property]);
        expect(messages(name, minimal)).toEqual([expect.stringMatching(new RegExp(`^/ must have required property "${property}": .+ \\(input may leave it out: default .+\\)$`))]);
      }
    });

    it('an unknown property is named, with the known one it is a typo of', () => {
      const known = Object.keys(top.properties).find((p) => p.length >= 6)!;
      const typo = known.slice(0, 2) + known.slice(3);
      const expected = `/ unknown property "${typo}" (did you mean "${known}"?)`;
      expect(messages(name, { ...full, [typo]: 1 })).toEqual([expected]);
      expect(refusal(() => registry.accept(name, name, { ...full, [typo]: 1 })).message).toContain(expected);
      expect(messages(name, { ...full, zzzzzzzzzzzz: 1 })[0]).toMatch(/^\/ unknown property "zzzzzzzzzzzz" \(known: .+\)$/);
    });

    it('a missing property without a default is named with its shape, as input and strictly', () => {
      const property = (top.required as string[]).find((p) => top.properties[p].default === undefined)!;
      const { [property]: _left, ...missing } = full;
      const expected = `must have required property "${property}": (a|an|one of|true) .+`;
      expect(messages(name, missing)).toEqual([expect.stringMatching(new RegExp(`^/ ${expected}`))]);
      const refused = refusal(() => registry.accept(name, name, missing));
      expect(refused.code).toBe('BAD_USER_INPUT');
      expect(refused.details.errors).toEqual([{ path: '/', message: expect.stringMatching(new RegExp(`^${expected}`)) }]);
    });

    const enumerated = Object.entries(top.properties as Record<string, Schema>).find(([, p]) => Array.isArray(deref(name, p).enum));
    it.runIf(enumerated)('an enum value outside the list names the allowed values', () => {
      const [property, propertySchema] = enumerated!;
      const allowed = (deref(name, propertySchema).enum as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      expect(messages(name, { ...full, [property]: 'nope' })).toContain(`/${property} must be one of ${allowed}`);
    });
  });

  it('a missing enum property lists its allowed values; an app-keyed object describes its values', () => {
    const spec = registry.accept<Schema>('w', 'workstream_spec', example('workstream_spec'));
    expect(messages('workstream_spec', { ...spec, error_handling: {} })).toEqual([
      '/error_handling must have required property "strategy": one of "fail_fast", "continue" (input may leave it out: default "fail_fast")',
    ]);
    const { apps: _apps, ...noApps } = registry.accept<Schema>('c', 'router_config', example('router_config'));
    expect(messages('router_config', noApps)).toEqual(['/ must have required property "apps": an object, each value an object with command, capabilities, limits']);
  });

  it('names a typo deep in a document by its path, and leaves unrelated names without a guess', () => {
    const spec = example('workstream_spec');
    spec.tasks[0].alow_parallel = true;
    spec.tasks[1].classification = { complexity: 'huge' };
    const refused = refusal(() => registry.accept('spec', 'workstream_spec', spec));
    expect(refused.details.errors).toEqual([
      { path: '/tasks/0', message: 'unknown property "alow_parallel" (did you mean "allow_parallel"?)' },
      { path: '/tasks/1/classification/complexity', message: 'must be one of "low", "medium", "high"' },
    ]);
    // A hostile 1 MB name is quoted cut short, and not compared with every known name.
    const long = 'x'.repeat(1_000_000);
    const [message] = messages('task_spec', { ...registry.accept<Schema>('t', 'task_spec', example('task_spec')), [long]: 1 });
    expect(message!.length).toBeLessThan(400);
  });

  it('the input form keeps the hardening: the first 100 violations and a count; past 10,000 it stops counting, fast', () => {
    const tasks = (n: number) => ({ ...example('workstream_spec'), tasks: Array.from({ length: n }, () => ({ depends_on: [] })) });
    const some = refusal(() => registry.accept('spec', 'workstream_spec', tasks(100)));
    expect(some.details).toMatchObject({ moreErrors: 200 });
    expect(some.details.errors).toHaveLength(100);
    const started = performance.now();
    const many = refusal(() => registry.accept('spec', 'workstream_spec', tasks(20_000)));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(many.details.errors).toEqual([{ path: '/tasks/0', message: 'must have required property "task_id": a non-empty string' }]);
    expect(many.message).toMatch(/; and more than 9999 more$/);
  });
});

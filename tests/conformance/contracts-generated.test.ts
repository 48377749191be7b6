/**
 * `npm run build` generates the contracts' validators (Ajv standalone code),
 * so that a built gateway does not compile them as it starts. They must
 * answer exactly as the validators Ajv compiles in the process (a checkout
 * run through tsx): the same verdicts, the same messages (describeIssue
 * reads the schema objects an error names), the same bounds and defaults.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ContractRegistry } from '../../src/engine/contracts/registry.js';

const SCHEMA_DIR = new URL('../../schema-json/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'uet-validators-'));
const file = join(dir, 'validators.generated.cjs');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const compiled = new ContractRegistry(SCHEMA_DIR, { generated: null });
writeFileSync(file, compiled.validatorsModule());
const generated = new ContractRegistry(SCHEMA_DIR, { generated: file });

const fixture = (name: string, kind: 'valid' | 'invalid') => JSON.parse(readFileSync(new URL(`../fixtures/contracts/${name}.${kind}.json`, import.meta.url), 'utf8')) as unknown;
const ULID = '01J0000000000000000000000A';

/** What a registry call answers: its result, or the error it throws with its extensions. */
function outcome(call: () => unknown): unknown {
  try {
    return { result: call() };
  } catch (error) {
    return { error: (error as Error).message, extensions: (error as { extensions?: unknown }).extensions };
  }
}

describe('generated contract validators', () => {
  it('are used when the contracts match the ones they were made from', () => {
    expect([compiled.validatorsFrom, generated.validatorsFrom]).toEqual(['compiled', 'generated']);
  });

  it('give up on contracts that changed since (compiled instead)', () => {
    const changed = join(dir, 'schema-json/');
    cpSync(SCHEMA_DIR, changed, { recursive: true });
    const path = join(changed, 'cost_record.v1.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), title: 'changed' }));
    expect(new ContractRegistry(changed, { generated: file }).validatorsFrom).toBe('compiled');
  });

  const names = readdirSync(SCHEMA_DIR).map((name) => name.replace('.v1.json', ''));
  it.each(names)('%s: the same verdicts and messages as compiled validators', (name) => {
    const documents = [fixture(name, 'valid'), fixture(name, 'invalid'), {}, [], 'text', null, { unknwon: 1 }];
    for (const document of documents) expect(generated.validate(name, document)).toEqual(compiled.validate(name, document));
  });

  it('the same messages for every missing property with its shape and default, and for typos', () => {
    const spec = fixture('workstream_spec', 'valid') as Record<string, unknown>;
    const tasks = spec.tasks as Record<string, unknown>[];
    const broken = { ...spec, tasks: [{ ...tasks[0], depends_onn: [] }, {}, { ...tasks[0], id: '' }] };
    const result = generated.validate('workstream_spec', broken);
    expect(result.valid).toBe(false);
    expect(result).toEqual(compiled.validate('workstream_spec', broken));
    expect(result.errors.some((e) => e.message.includes('did you mean'))).toBe(true);
  });

  it('the same bounds: 100 listed, the rest counted, and a stop past 10,000', () => {
    for (const length of [15, 20_000]) {
      const document = { tasks: Array.from({ length }, () => ({})) };
      const result = generated.validate('workstream_spec', document);
      expect(result).toEqual(compiled.validate('workstream_spec', document));
      expect(result.stoppedCounting).toBe(length > 10_000 ? true : undefined);
    }
  });

  it('the same one-pass uniqueItems', () => {
    const attempt = fixture('step_attempt', 'valid') as Record<string, unknown>;
    const outputs = { ...(attempt.outputs as Record<string, unknown>), patch_ids: [ULID, ULID.replace('A', 'B'), ULID] };
    const document = { ...attempt, outputs };
    const result = generated.validate('step_attempt', document);
    expect(result.errors).toContainEqual({ path: '/outputs/patch_ids', message: 'must NOT have duplicate items (items ## 0 and 2 are identical)' });
    expect(result).toEqual(compiled.validate('step_attempt', document));
  });

  it('the same parts of contracts', () => {
    const parts: [string, string][] = [
      ['run_record', '#/$defs/origin'],
      ['patch_artifact', '#/properties/origin'],
      ['patch_ledger_entry', '#/properties/relations'],
      ['execution_request', '#/$defs/resource_scope'],
      ['test_gate', '#/properties/criteria'],
      ['test_gate', '#/properties/results'],
      // Not generated: compiled when first asked for.
      ['run_record', '#/properties/state'],
    ];
    for (const [name, part] of parts) for (const document of [{}, [], { kind: 'nope', extra: 1 }]) expect(generated.validate(name, document, part)).toEqual(compiled.validate(name, document, part));
  });

  it('the same input forms: defaults filled in, the same refusals', () => {
    for (const name of ['workstream_spec', 'router_config', 'cost_record']) {
      for (const document of [fixture(name, 'valid'), fixture(name, 'invalid'), {}]) {
        expect(outcome(() => generated.accept('document', name, document))).toEqual(outcome(() => compiled.accept('document', name, document)));
      }
    }
    const spec = fixture('workstream_spec', 'valid') as Record<string, unknown>;
    const { tasks, ...rest } = spec;
    const sparse = { ...rest, tasks: (tasks as Record<string, unknown>[]).map(({ id, ...task }) => ({ id, title: task.title ?? 'task' })) };
    expect(outcome(() => generated.accept('spec', 'workstream_spec', sparse))).toEqual(outcome(() => compiled.accept('spec', 'workstream_spec', sparse)));
  });
});

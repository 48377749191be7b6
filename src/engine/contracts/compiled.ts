import { createRequire } from 'node:module';
import type { Ajv2020, KeywordDefinition, ValidateFunction } from 'ajv/dist/2020.js';
import type addFormatsPlugin from 'ajv-formats';
import { MAX_COUNTED_ERRORS, TOO_MANY } from './limits.js';
import { duplicateItems } from './unique-items.js';

type AjvModule = typeof import('ajv/dist/2020.js');

/** Which schemas: the contracts as they are (strict), or their input forms (defaults may be left out, and are filled in). */
export type SchemaSet = 'strict' | 'input';
/** Every violation (bounded by MAX_COUNTED_ERRORS), or the first one only (what a check that stopped counting reports). */
export type Mode = 'all' | 'first';

/** A contract's validator (or a part's: `ref` is a contract $id, with a fragment such as '#/$defs/origin'). */
export interface Validators {
  get(set: SchemaSet, mode: Mode, ref: string): ValidateFunction | undefined;
}

/**
 * Ajv (and ajv-formats) are loaded when something is compiled: a built
 * gateway runs the validators `npm run build` generated, and never needs them.
 */
let loaded: { ajv: AjvModule; addFormats: typeof addFormatsPlugin.default } | null = null;
function ajvModules() {
  const require = createRequire(import.meta.url);
  loaded ??= { ajv: require('ajv/dist/2020.js') as AjvModule, addFormats: (require('ajv-formats') as typeof addFormatsPlugin).default };
  return loaded;
}

/** How Ajv's allErrors code adds a $ref's errors to its own, and counts one of its own. */
const APPEND_REF_ERRORS = /(\w+) = \1 === null \? ([\w.]+) : \1\.concat\(\2\);errors = \1\.length;/g;
const COUNT_ERROR = /errors\+\+;/g;
const STOP = `throw new RangeError(${JSON.stringify(TOO_MANY)});`;

/**
 * Ajv's allErrors code copies every error found so far into a new array
 * (`concat`) after each $ref that fails: 20,000 empty tasks in a
 * workstream_spec took 14 s, 60,000 took 133 s. Ajv has no option against
 * it (its advice is not to use allErrors on untrusted input), so the
 * generated code is rewritten to append in place, and to stop past
 * MAX_COUNTED_ERRORS: the check is linear in the document and bounded.
 */
export function boundErrors(code: string): string {
  const bounded = code
    .replace(APPEND_REF_ERRORS, `if ($1 === null) $1 = $2; else for (const e of $2) $1.push(e); errors = $1.length; if (errors > ${MAX_COUNTED_ERRORS}) ${STOP}`)
    .replace(COUNT_ERROR, `if (++errors > ${MAX_COUNTED_ERRORS}) ${STOP}`);
  if (bounded.includes('.concat(')) throw new Error('Ajv generated an error merge boundErrors does not know: review it');
  return bounded;
}

/**
 * uniqueItems in one pass (duplicateItems) rather than Ajv's pairwise
 * comparison. Its code calls `runtime.duplicateItems`, the name the
 * generated validators are given it under (see generated.ts).
 */
function linearUniqueItems({ _, str }: AjvModule): KeywordDefinition {
  return {
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    error: {
      message: ({ params }) => str`must NOT have duplicate items (items ## ${params.i} and ${params.j} are identical)`,
      params: ({ params }) => _`{i: ${params.i}, j: ${params.j}}`,
    },
    code(cxt) {
      if (!cxt.schema) return;
      const check = cxt.gen.scopeValue('func', { ref: duplicateItems, code: _`runtime.duplicateItems` });
      const duplicate = cxt.gen.const('duplicate', _`${check}(${cxt.data})`);
      cxt.setParams({ i: _`${duplicate}.i`, j: _`${duplicate}.j` });
      cxt.fail(_`${duplicate} !== null`);
    },
  };
}

/**
 * An Ajv for one set and mode, with every schema of the set added.
 * verbose: an error carries the schema it broke, which describeIssue reads to name properties, shapes and allowed values.
 * source: keeps each validator's code, for standalone generation.
 */
export function newAjv(mode: Mode, useDefaults: boolean, schemas: Record<string, unknown>[], source = false): Ajv2020 {
  const { ajv: modules, addFormats } = ajvModules();
  const allErrors = mode === 'all';
  const ajv = new modules.Ajv2020({ strict: true, allErrors, verbose: true, useDefaults, code: { source, ...(allErrors ? { process: boundErrors } : {}) } });
  addFormats(ajv);
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword(linearUniqueItems(modules));
  for (const schema of schemas) ajv.addSchema(schema);
  return ajv;
}

/** Validators compiled by Ajv in this process, each when first asked for (an Ajv per set and mode, made when first needed). */
export class CompiledValidators implements Validators {
  private readonly ajvs = new Map<string, Ajv2020>();

  constructor(private readonly schemas: Record<SchemaSet, Record<string, unknown>[]>) {}

  get(set: SchemaSet, mode: Mode, ref: string): ValidateFunction | undefined {
    const key = `${set} ${mode}`;
    let ajv = this.ajvs.get(key);
    if (!ajv) this.ajvs.set(key, (ajv = newAjv(mode, set === 'input', this.schemas[set])));
    return ajv.getSchema(ref);
  }
}

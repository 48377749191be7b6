import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { badInput } from '../core/errors.js';
import { packageFile } from '../../package-files.js';
import { describeIssue, withDefaultsOptional } from './issues.js';

export interface Contract {
  name: string;
  id: string;
  title: string;
  schema: Record<string, unknown>;
}

export interface ValidationIssue {
  path: string;
  message: string;
}

export interface DocumentValidation {
  valid: boolean;
  /** The first violations, at most MAX_LISTED_ERRORS. */
  errors: ValidationIssue[];
  /** Violations found beyond `errors`, when there are any; a lower bound when `stoppedCounting`. */
  moreErrors?: number;
  /** Set when the check stopped counting at MAX_COUNTED_ERRORS. */
  stoppedCounting?: true;
}

/** Violations a validation lists; the rest are counted. */
export const MAX_LISTED_ERRORS = 100;
/** Where the check stops counting: past it, a hostile document would only cost time and memory. */
export const MAX_COUNTED_ERRORS = 10_000;

/** The contracts the gateway takes as input (submitWorkstream, setRouterConfig): their input forms are compiled at start, the others' when first used. */
const INPUT_CONTRACTS = ['workstream_spec', 'router_config'];

const SCHEMA_DIR = packageFile('schema-json/');
const FILE_NAME = /^(.+)\.v1\.json$/;

const TOO_MANY = `more than ${MAX_COUNTED_ERRORS} violations`;
const STOP = `throw new RangeError(${JSON.stringify(TOO_MANY)});`;
/** How Ajv's allErrors code adds a $ref's errors to its own, and counts one of its own. */
const APPEND_REF_ERRORS = /(\w+) = \1 === null \? ([\w.]+) : \1\.concat\(\2\);errors = \1\.length;/g;
const COUNT_ERROR = /errors\+\+;/g;

/**
 * Ajv's allErrors code copies every error found so far into a new array
 * (`concat`) after each $ref that fails: 20,000 empty tasks in a
 * workstream_spec took 14 s, 60,000 took 133 s. Ajv has no option against
 * it (its advice is not to use allErrors on untrusted input), so the
 * generated code is rewritten to append in place, and to stop past
 * MAX_COUNTED_ERRORS: the check is linear in the document and bounded.
 */
function boundErrors(code: string): string {
  const bounded = code
    .replace(APPEND_REF_ERRORS, `if ($1 === null) $1 = $2; else for (const e of $2) $1.push(e); errors = $1.length; if (errors > ${MAX_COUNTED_ERRORS}) ${STOP}`)
    .replace(COUNT_ERROR, `if (++errors > ${MAX_COUNTED_ERRORS}) ${STOP}`);
  if (bounded.includes('.concat(')) throw new Error('Ajv generated an error merge boundErrors does not know: review it');
  return bounded;
}

/** verbose: an error carries the schema it broke, which describeIssue reads to name properties, shapes and allowed values. */
function newAjv(allErrors: boolean, useDefaults: boolean): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors, verbose: true, useDefaults, ...(allErrors ? { code: { process: boundErrors } } : {}) });
  addFormats.default(ajv);
  useLinearUniqueItems(ajv);
  return ajv;
}

/** A contract's schemas compiled one way: every violation (bounded), and the first one only (what a check that stopped counting reports). */
interface Checker {
  all: Ajv2020;
  first: Ajv2020;
}

function newChecker(useDefaults: boolean, schemas: Record<string, unknown>[]): Checker {
  const checker = { all: newAjv(true, useDefaults), first: newAjv(false, useDefaults) };
  for (const schema of schemas) {
    checker.all.addSchema(schema);
    checker.first.addSchema(schema);
  }
  return checker;
}

/**
 * The JSON Schemas in schema-json/, compiled once. Each is checked two ways:
 * strictly (validate, check: the full form, as stored and as
 * validateDocument reports), and as input (accept: a property with a
 * `default` may be left out, and the default is filled in).
 */
export class ContractRegistry {
  private readonly contracts = new Map<string, Contract>();
  /** Every (sub)schema object's contract $id, to resolve the local $refs an error's schema holds. */
  private readonly contractOf = new WeakMap<object, string>();
  private readonly strict: Checker;
  private readonly input: Checker;

  constructor(directory: string = SCHEMA_DIR) {
    for (const file of readdirSync(directory).sort()) {
      const name = FILE_NAME.exec(file)?.[1];
      if (!name) continue;
      const schema = JSON.parse(readFileSync(directory + file, 'utf8')) as Record<string, unknown>;
      this.contracts.set(name, { name, id: String(schema.$id), title: String(schema.title ?? name), schema });
    }
    this.strict = newChecker(false, this.schemas());
    const inputs = this.schemas().map(withDefaultsOptional);
    this.input = newChecker(true, inputs);
    for (const schema of [...this.schemas(), ...inputs]) this.index(schema);
    // Compile after every schema is known, since one may refer to another; at start, not while serving a request (a compile blocks for 100s of ms).
    for (const contract of this.contracts.values()) this.strict.all.getSchema(contract.id);
    for (const id of INPUT_CONTRACTS.map((name) => this.contracts.get(name)?.id).filter((id) => id !== undefined)) {
      this.input.all.getSchema(id);
      this.input.first.getSchema(id);
    }
  }

  list(): Contract[] {
    return [...this.contracts.values()];
  }

  /** Validates a document against a contract; `fragment` picks a part of it (e.g. '#/$defs/origin'). */
  validate(name: string, document: unknown, fragment = ''): DocumentValidation {
    return this.run(this.strict, name, document, fragment);
  }

  /** Like validate, but refuses an invalid document as BAD_USER_INPUT on `field`. */
  check(field: string, name: string, document: unknown, fragment = ''): void {
    refuseInvalid(field, name, this.validate(name, document, fragment));
  }

  /**
   * Takes a document as input: properties with a `default` may be left out.
   * Returns a copy with every default filled in (the full form, which
   * validate accepts), or refuses it as check does. The caller's document is
   * not changed. `fragment` as for validate.
   */
  accept<T = Record<string, unknown>>(field: string, name: string, document: unknown, fragment = ''): T {
    const copy = structuredClone(document);
    refuseInvalid(field, name, this.run(this.input, name, copy, fragment));
    return copy as T;
  }

  private index(schema: Record<string, unknown>): void {
    const id = String(schema.$id);
    const stack: unknown[] = [schema];
    while (stack.length > 0) {
      const node = stack.pop();
      if (node === null || typeof node !== 'object') continue;
      this.contractOf.set(node, id);
      stack.push(...Object.values(node));
    }
  }

  private schemas(): Record<string, unknown>[] {
    return [...this.contracts.values()].map((c) => c.schema);
  }

  private run(checker: Checker, name: string, document: unknown, fragment: string): DocumentValidation {
    const contract = this.contracts.get(name);
    if (!contract) throw badInput('contract', `unknown contract "${name}"`, { known: [...this.contracts.keys()] });
    const validator = checker.all.getSchema(contract.id + fragment);
    if (!validator) throw new Error(`contract ${name} has no part ${fragment}`);
    try {
      const valid = validator(document) as boolean;
      const more = valid ? 0 : (validator.errors?.length ?? 0) - MAX_LISTED_ERRORS;
      return { valid, errors: valid ? [] : this.issuesOf(validator.errors), ...(more > 0 ? { moreErrors: more } : {}) };
    } catch (error) {
      if (!(error instanceof RangeError && error.message === TOO_MANY)) throw error;
      const first = checker.first.getSchema(contract.id + fragment)!;
      void first(document); // synchronous, as above: no contract is $async
      const errors = this.issuesOf(first.errors);
      return { valid: false, errors, moreErrors: MAX_COUNTED_ERRORS - errors.length, stoppedCounting: true };
    }
  }

  private issuesOf(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
    return (errors ?? []).slice(0, MAX_LISTED_ERRORS).map((e) => ({ path: e.instancePath || '/', message: describeIssue(e, (ref, from) => this.resolve(ref, from)) }));
  }

  /** The schema a $ref in `from` names: a part of its own contract (#/pointer), another contract ($id) or a part of one ($id#/pointer). */
  private resolve(ref: string, from: object): unknown {
    const [base, pointer = ''] = ref.split('#');
    const id = base || this.contractOf.get(from);
    const root = [...this.contracts.values()].find((c) => c.id === id)?.schema;
    return pointer
      .split('/')
      .slice(1)
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root);
  }
}

function refuseInvalid(field: string, name: string, result: DocumentValidation): void {
  if (result.valid) return;
  const summary = result.errors.map((e) => `${e.path} ${e.message}`).join('; ') + andMore(result);
  throw badInput(field, `does not match the ${name} contract: ${summary}`, { errors: result.errors, moreErrors: result.moreErrors ?? 0 });
}

/** "; and N more" after a list cut at MAX_LISTED_ERRORS (or at the first violation, when the check stopped counting). */
export function andMore(result: DocumentValidation): string {
  if (!result.moreErrors) return '';
  return `; and ${result.stoppedCounting ? 'more than ' : ''}${result.moreErrors} more`;
}

/**
 * Ajv checks uniqueItems by comparing every pair of items unless the item
 * schema names a scalar type; a contract whose items are a $ref (step_attempt's
 * patch_ids) made a 1 MB document a 12 s blocked event loop (validateDocument
 * takes any contract and any document). This one keys each item by its
 * canonical JSON (keys sorted): one pass, the same verdict.
 */
function useLinearUniqueItems(ajv: Ajv2020): void {
  const uniqueItems: ((unique: boolean, data: unknown[]) => boolean) & { errors?: Partial<ErrorObject>[] } = (unique, data) => {
    if (!unique) return true;
    const seen = new Map<string, number>();
    for (let j = 0; j < data.length; j++) {
      const key = canonicalJson(data[j]);
      const i = seen.get(key);
      if (i !== undefined) {
        uniqueItems.errors = [{ keyword: 'uniqueItems', message: `must NOT have duplicate items (items ## ${i} and ${j} are identical)`, params: { i, j } }];
        return false;
      }
      seen.set(key, j);
    }
    return true;
  };
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems });
}

/** JSON with object keys sorted (two documents that differ only in key order give the same text), without recursion (an item may be nested 10,000 levels deep). */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  const token = (text: string) => ({ [TOKEN]: text });
  while (stack.length > 0) {
    const item = stack.pop();
    if (item !== null && typeof item === 'object' && TOKEN in item) out.push((item as Record<typeof TOKEN, string>)[TOKEN]);
    else if (Array.isArray(item)) {
      stack.push(token(']'));
      for (let k = item.length - 1; k >= 0; k--) stack.push(item[k], ...(k > 0 ? [token(',')] : []));
      stack.push(token('['));
    } else if (item !== null && typeof item === 'object') {
      const keys = Object.keys(item).sort();
      stack.push(token('}'));
      for (const [k, key] of [...keys.entries()].reverse()) stack.push((item as Record<string, unknown>)[key], token(`${k > 0 ? ',' : ''}${JSON.stringify(key)}:`));
      stack.push(token('{'));
    } else out.push(JSON.stringify(item) ?? 'null');
  }
  return out.join('');
}
const TOKEN = Symbol('token');

let shared: ContractRegistry | null = null;

/** The schema-json contracts compiled once per process (compiling them all takes a while). */
export function sharedContracts(): ContractRegistry {
  shared ??= new ContractRegistry();
  return shared;
}

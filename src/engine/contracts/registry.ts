import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { badInput } from '../core/errors.js';

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
  errors: ValidationIssue[];
}

const SCHEMA_DIR = fileURLToPath(new URL('../../../schema-json/', import.meta.url));
const FILE_NAME = /^(.+)\.v1\.json$/;

function issuesOf(errors: ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid' }));
}

/** The JSON Schemas in schema-json/, compiled once at start. */
export class ContractRegistry {
  private readonly contracts = new Map<string, Contract>();
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });

  constructor(directory: string = SCHEMA_DIR) {
    addFormats.default(this.ajv);
    for (const file of readdirSync(directory).sort()) {
      const name = FILE_NAME.exec(file)?.[1];
      if (!name) continue;
      const schema = JSON.parse(readFileSync(directory + file, 'utf8')) as Record<string, unknown>;
      this.contracts.set(name, { name, id: String(schema.$id), title: String(schema.title ?? name), schema });
      this.ajv.addSchema(schema);
    }
    // Compile after every schema is known, since one may refer to another.
    for (const contract of this.contracts.values()) {
      this.validators.set(contract.name, this.ajv.getSchema(contract.id)!);
    }
  }

  list(): Contract[] {
    return [...this.contracts.values()];
  }

  /** Validates a document against a contract; `fragment` picks a part of it (e.g. '#/$defs/origin'). */
  validate(name: string, document: unknown, fragment = ''): DocumentValidation {
    const contract = this.contracts.get(name);
    if (!contract) throw badInput('contract', `unknown contract "${name}"`, { known: [...this.contracts.keys()] });
    const validator = fragment ? this.ajv.getSchema(contract.id + fragment) : this.validators.get(name);
    if (!validator) throw new Error(`contract ${name} has no part ${fragment}`);
    const valid = validator(document) as boolean;
    return { valid, errors: valid ? [] : issuesOf(validator.errors) };
  }

  /** Like validate, but refuses an invalid document as BAD_USER_INPUT on `field`. */
  check(field: string, name: string, document: unknown, fragment = ''): void {
    const result = this.validate(name, document, fragment);
    if (!result.valid) {
      const summary = result.errors.map((e) => `${e.path} ${e.message}`).join('; ');
      throw badInput(field, `does not match the ${name} contract: ${summary}`, { errors: result.errors });
    }
  }
}

let shared: ContractRegistry | null = null;

/** The schema-json contracts compiled once per process (compiling them all takes a while). */
export function sharedContracts(): ContractRegistry {
  shared ??= new ContractRegistry();
  return shared;
}

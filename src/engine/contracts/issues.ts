import type { ErrorObject } from 'ajv/dist/2020.js';

type Schema = Record<string, unknown>;
/** The schema a $ref names, read where the ref is written (`from`). */
export type ResolveRef = (ref: string, from: object) => unknown;

/** Names and values quoted in a message are cut here: a hostile document may hold a 1 MB property name. */
const MAX_QUOTED = 80;
/** "Did you mean" is only worked out for names up to this long (the edit distance is quadratic). */
const MAX_SUGGESTED = 64;

const isSchema = (value: unknown): value is Schema => value !== null && typeof value === 'object' && !Array.isArray(value);

const quote = (value: unknown): string => {
  const text = typeof value === 'string' && value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  return JSON.stringify(text) ?? 'null';
};

const list = (values: unknown[]): string => values.map(quote).join(', ');

/**
 * A violation in words a person can act on: the unknown property (and the
 * known one it is probably a typo of), the missing property with its shape,
 * allowed values and default, the allowed values of an enum, what a pattern
 * stands for (its schema's description), the property name a propertyNames
 * rule refused. Ajv's own message for every other keyword.
 */
export function describeIssue(error: ErrorObject, resolve: ResolveRef): string {
  // Ajv marks an error found checking a property's name (propertyNames) with that name; its instancePath is the object's.
  const name = (error as ErrorObject & { propertyName?: string }).propertyName;
  const message = describeKeyword(error, resolve);
  return name === undefined ? message : `property name ${quote(name)} ${message}`;
}

function describeKeyword(error: ErrorObject, resolve: ResolveRef): string {
  const parent = isSchema(error.parentSchema) ? error.parentSchema : {};
  const properties = isSchema(parent.properties) ? parent.properties : {};
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(error.params.additionalProperty);
      const known = Object.keys(properties);
      const near = closest(name, known);
      const hint = near ? ` (did you mean ${quote(near)}?)` : known.length > 0 ? ` (known: ${known.join(', ')})` : '';
      return `unknown property ${quote(name)}${hint}`;
    }
    case 'required': {
      const name = String(error.params.missingProperty);
      const property = properties[name];
      if (!isSchema(property)) return `must have required property ${quote(name)}`;
      const fallback = property.default === undefined ? '' : ` (input may leave it out: default ${JSON.stringify(filledDefault(property, resolve))})`;
      return `must have required property ${quote(name)}: ${shapeOf(property, resolve)}${fallback}`;
    }
    case 'enum':
      return `must be one of ${list(error.params.allowedValues as unknown[])}`;
    case 'pattern': {
      const meaning = typeof parent.description === 'string' ? ` (${parent.description.replace(/\.$/, '')})` : '';
      return `${error.message ?? 'must match its pattern'}${meaning}`;
    }
    case 'propertyNames':
      return `property name ${quote(error.params.propertyName)} is not allowed`;
    default:
      return error.message ?? 'is invalid';
  }
}

/** What a value of the schema looks like, in a few words ("one of \"low\", \"high\"", "an object with command, capabilities"). */
export function shapeOf(schema: unknown, resolve: ResolveRef, depth = 0): string {
  if (!isSchema(schema)) return 'any value';
  if (typeof schema.$ref === 'string') return shapeOf(resolve(schema.$ref, schema), resolve, depth);
  if (Array.isArray(schema.enum)) return `one of ${list(schema.enum)}`;
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches)) return branches.map((branch) => shapeOf(branch, resolve, depth)).join(' or ');
  switch (schema.type) {
    case 'string':
      return typeof schema.format === 'string' ? `a ${schema.format} string` : schema.minLength ? 'a non-empty string' : 'a string';
    case 'integer':
    case 'number':
      return `${schema.type === 'integer' ? 'an integer' : 'a number'}${typeof schema.minimum === 'number' ? ` >= ${schema.minimum}` : ''}`;
    case 'boolean':
      return 'true or false';
    case 'array':
      return depth > 0 || !isSchema(schema.items) ? 'an array' : `an array, each item ${shapeOf(schema.items, resolve, depth + 1)}`;
    case 'object': {
      const required = Array.isArray(schema.required) ? schema.required : [];
      if (required.length > 0) return `an object with ${required.join(', ')}`;
      return depth > 0 || !isSchema(schema.additionalProperties) ? 'an object' : `an object, each value ${shapeOf(schema.additionalProperties, resolve, depth + 1)}`;
    }
    default:
      return 'any value';
  }
}

/** A property's default with the defaults of its own properties filled in, as input gets it ({} says little). */
function filledDefault(property: Schema, resolve: ResolveRef): unknown {
  const value: unknown = structuredClone(property.default);
  const target = typeof property.$ref === 'string' ? resolve(property.$ref, property) : property;
  if (!isSchema(value) || !isSchema(target) || !isSchema(target.properties)) return value;
  for (const [name, inner] of Object.entries(target.properties)) {
    if (value[name] === undefined && isSchema(inner) && inner.default !== undefined) value[name] = filledDefault(inner, resolve);
  }
  return value;
}

/** The known name a typo most likely meant: the nearest within 2 edits (fewer for short names), if only one is that near. */
export function closest(name: string, known: string[]): string | null {
  if (name.length > MAX_SUGGESTED) return null;
  const limit = Math.min(2, Math.floor(name.length / 3));
  let best: string | null = null;
  let bestDistance = limit + 1;
  let tie = false;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance, tie] = [candidate, distance, false];
    else if (distance === bestDistance) tie = true;
  }
  return tie ? null : best;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * The input form of a contract: a property with a `default` is no longer
 * required (Ajv checks `required` before it would fill the default in).
 * Everything else, `additionalProperties: false` included, stays as strict.
 */
export function withDefaultsOptional(schema: Schema): Schema {
  const copy = structuredClone(schema);
  const stack: unknown[] = [copy];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (isSchema(node) && Array.isArray(node.required) && isSchema(node.properties)) {
      const properties = node.properties;
      node.required = node.required.filter((name) => !(isSchema(properties[name as string]) && (properties[name as string] as Schema).default !== undefined));
    }
    stack.push(...Object.values(node));
  }
  return copy;
}

import {
  defaultFieldResolver,
  defaultTypeResolver,
  getNamedType,
  isAbstractType,
  isObjectType,
  type GraphQLAbstractType,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type ResponsePath,
} from 'graphql';

/**
 * The object type each value at an interface or union position resolved to,
 * by response path ("nodes.2"), recorded per operation while it executes.
 * A result does not carry it (unless __typename was asked for), and the
 * order of an object's keys depends on it (response-order.ts).
 */
export type RuntimeTypes = Map<string, string>;

const recorders = new WeakMap<object, RuntimeTypes>();

/** Records the runtime types of the operation with this context value (until forgotten). */
export function recordRuntimeTypes(contextValue: object): RuntimeTypes {
  const types: RuntimeTypes = new Map();
  recorders.set(contextValue, types);
  return types;
}

/** The response path as the response walk writes it: keys and indexes joined by dots. */
export function pathKey(path: ResponsePath | undefined): string {
  const keys: (string | number)[] = [];
  for (let at = path; at; at = at.prev) keys.push(at.key);
  return keys.reverse().join('.');
}

type Resolver = GraphQLFieldResolver<unknown, object>;

function isPromiseLike(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | null)?.then === 'function';
}

/** Records what `value` (an item, a list of them, or a promise of either) resolves to, as the executor will resolve it. */
function record(types: RuntimeTypes, key: string, value: unknown, context: object, info: GraphQLResolveInfo, type: GraphQLAbstractType): void {
  if (value == null) return;
  if (isPromiseLike(value)) {
    // Never awaited here: a rejected item stays the executor's to report.
    value.then(
      (settled) => record(types, key, settled, context, info, type),
      () => {},
    );
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => record(types, `${key}.${index}`, item, context, info, type));
    return;
  }
  const name = (type.resolveType ?? defaultTypeResolver)(value, context, info, type);
  if (typeof name === 'string') types.set(key, name);
  else if (isPromiseLike(name))
    name.then(
      (settled) => typeof settled === 'string' && types.set(key, settled),
      () => {},
    );
}

function recording(resolve: Resolver, type: GraphQLAbstractType): Resolver {
  return (source, args, context, info) => {
    const value = resolve(source, args, context, info);
    const types = recorders.get(context);
    if (types) record(types, pathKey(info.path), value, context, info, type);
    return value;
  };
}

/** Wraps, once, every field that returns an interface or a union (or lists of them) so that its values' runtime types are recorded. */
export function withRuntimeTypes(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isAbstractType(named)) field.resolve = recording((field.resolve ?? defaultFieldResolver) as Resolver, named);
    }
  }
  return schema;
}

import { defaultFieldResolver, getNamedType, getNullableType, isEnumType, isLeafType, isListType, isObjectType, type GraphQLFieldResolver, type GraphQLLeafType, type GraphQLSchema } from 'graphql';
import { assumesListSize, DEFAULT_LIST_SIZE } from './list-size.js';

/** At most this many bytes for a short value in JSON: a Float (-1.7976931348623157e+308: 24), a DateTime ("+275760-09-13T00:00:00.000Z": 29), a boolean, null. */
export const SHORT_VALUE_BYTES = 32;
/** Scalars whose values are short. Any other (String, ID, Decimal, JSON, one added later) is counted as it is produced. */
const SHORT_SCALARS = new Set(['Int', 'Float', 'Boolean', 'DateTime']);

/** Whether every value of this scalar or enum fits in SHORT_VALUE_BYTES. */
function isShort(type: GraphQLLeafType): boolean {
  return isEnumType(type) ? type.getValues().every((value) => value.name.length + 2 <= SHORT_VALUE_BYTES) : SHORT_SCALARS.has(type.name);
}

/**
 * The bytes of one answer, counted while it is produced: its text and JSON
 * values, which alone can be large (the rest is bounded by the cost
 * analysis: see execution-budget.ts).
 */
export class ResponseMeter {
  /** At least this many bytes are in the answer: its text counted one byte a character. */
  bytes = 0;
  /** At most this many bytes for the same values: a character may take 6 in JSON (\u0000). */
  most = 0;
  /** A list came back longer than the cost analysis counted it (DEFAULT_LIST_SIZE): the cost no longer bounds the answer. */
  longerThanCounted = false;
  /** `bytes` passed `max`: the wrapped resolvers start no further work. */
  passed = false;

  /** `onPassed` is called once, when `bytes` passes `max` (Infinity: counts only). */
  constructor(
    private readonly max: number,
    private readonly onPassed: (bytes: number) => void = () => {},
  ) {}

  add(value: unknown): void {
    if (typeof value === 'string') {
      this.bytes += value.length + 2;
      this.most += 6 * value.length + 3;
    } else if (Array.isArray(value)) {
      for (const item of value) this.add(item);
      this.most += 2;
    } else if (typeof value === 'object' && value !== null) {
      // A JSON value (input is bounded in size and depth): its exact size.
      const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
      this.bytes += bytes;
      this.most += bytes + 1;
    } else {
      this.most += SHORT_VALUE_BYTES;
    }
    if (this.bytes > this.max && !this.passed) {
      this.passed = true;
      this.onPassed(this.bytes);
    }
  }

  /** A list of `length` items that the cost analysis counted as DEFAULT_LIST_SIZE. */
  list(length: number): void {
    if (length > DEFAULT_LIST_SIZE) this.longerThanCounted = true;
  }

  /** Counts the next subscription event from zero. */
  reset(): void {
    this.bytes = 0;
    this.most = 0;
    this.longerThanCounted = false;
  }
}

/**
 * The meter rides on the operation's context value, under a symbol: a WeakMap keyed by one short-lived context per
 * request cost more than the rest of the budget (its entries are ephemerons the garbage collector walks).
 */
const METER = Symbol('response meter');
type MeteredContext = { [METER]?: ResponseMeter };
const meterOf = (context: object): ResponseMeter | undefined => (context as MeteredContext)[METER];
/** Schemas whose resolvers count (meterResponses): a meter on another's answer would count nothing, and prove anything. */
const meteredSchemas = new WeakSet<GraphQLSchema>();

/** Whether answers of this schema can be metered. */
export function isMetered(schema: GraphQLSchema): boolean {
  return meteredSchemas.has(schema);
}

/** Meters the answer of the operation with this context value. */
export function meterAnswer(contextValue: object, meter: ResponseMeter): void {
  (contextValue as MeteredContext)[METER] = meter;
}

type Resolver = GraphQLFieldResolver<unknown, object>;
type Count = (meter: ResponseMeter, value: unknown) => void;

const countValue: Count = (meter, value) => meter.add(value);
const countList: Count = (meter, value) => {
  if (Array.isArray(value)) meter.list(value.length);
};

/**
 * What a wrapped resolver rejects with once its answer passed the cap,
 * instead of loading more. The client never sees it: the answer is
 * replaced. Rejected, not thrown: the executor leaves the completions of a
 * list's earlier items unhandled when a later item throws synchronously,
 * while it settles every rejection.
 */
const STOPPED = new Error('the response passed its size cap: stopped');

/** A resolver that starts nothing once its answer passed the cap. */
function stoppable(resolve: Resolver): Resolver {
  return (source, args, context, info) => (meterOf(context)?.passed ? Promise.reject(STOPPED) : resolve(source, args, context, info));
}

/** A resolver that also counts its value (when it settles) on its answer's meter. */
function counted(resolve: Resolver, count: Count): Resolver {
  return (source, args, context, info) => {
    const meter = meterOf(context);
    if (meter === undefined) return resolve(source, args, context, info);
    if (meter.passed) return Promise.reject(STOPPED);
    const value = resolve(source, args, context, info);
    if (value instanceof Promise) {
      return value.then((settled: unknown) => {
        count(meter, settled);
        return settled;
      });
    }
    count(meter, value);
    return value;
  };
}

/**
 * Wraps, once, the resolvers whose values the cost analysis cannot bound,
 * and those that load more: fields of text and JSON (String, ID, Decimal,
 * JSON, and lists of any scalar or enum) count their values; lists of
 * objects the cost analysis counts as DEFAULT_LIST_SIZE report their
 * length; every field of an object type starts nothing once the answer
 * passed its cap. Short leaves (numbers, enums, dates) are not wrapped.
 * Without a meter on the context (mutations, no cap) a wrapper only calls
 * the resolver.
 */
export function meterResponses(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      const list = isListType(getNullableType(field.type));
      const resolve = (field.resolve ?? defaultFieldResolver) as Resolver;
      if (!isLeafType(named)) field.resolve = list && assumesListSize(field) ? counted(resolve, countList) : stoppable(resolve);
      else if (list || !isShort(named)) field.resolve = counted(resolve, countValue);
    }
  }
  meteredSchemas.add(schema);
  return schema;
}

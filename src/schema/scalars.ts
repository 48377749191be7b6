import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { builder } from './builder.js';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function invalid(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_8601.test(value)) {
    throw invalid(`DateTime must be an ISO-8601 string with a time zone, got ${JSON.stringify(value)}`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalid(`DateTime ${value} is not a real instant`);
  return date;
}

builder.scalarType('DateTime', {
  description:
    'An instant, as an ISO-8601 string in UTC with milliseconds (2026-11-24T12:00:00.000Z). Input may use any offset (Z or +02:00) ' + 'and omit seconds; one without a time zone is BAD_USER_INPUT.',
  serialize: (value) => (value instanceof Date ? value : new Date(value as string)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

function literalToJson(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw invalid('JSON cannot hold an enum literal');
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value; fields that say "object" take a JSON object.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
});

const DECIMAL = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

function parseDecimalText(value: unknown): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || !DECIMAL.test(text.trim())) {
    throw invalid(`Decimal must be a decimal number, best as a string ("12.50"), got ${JSON.stringify(value)}`);
  }
  return text.trim();
}

builder.scalarType('Decimal', {
  description: 'An exact decimal number as a string ("1000", "0.1", "12.000000001"): money is never a binary float. ' + 'Input may also be a number literal, read from its exact text.',
  serialize: (value) => String(value),
  parseValue: parseDecimalText,
  // A literal's own text is exact, 0.1 included.
  parseLiteral: (ast) => parseDecimalText(ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT ? ast.value : null),
});

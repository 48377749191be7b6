import {
  GraphQLError,
  getNullableType,
  getOperationAST,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  visit,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type GraphQLField,
  type GraphQLSchema,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../engine/core/pagination.js';
import { DEFAULT_LIST_SIZE, type ListSizeExtensions } from '../schema/list-size.js';
import { LIMIT_CODE } from './validation.js';

/** The number of items a field counts for: 1 unless it returns a list or a page of one. */
function listSize(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number {
  const declared = field.extensions as ListSizeExtensions;
  const given = declared.listSizeArg !== undefined ? args[declared.listSizeArg] : (args.first ?? args.last);
  const count = Array.isArray(given) ? given.length : typeof given === 'number' ? given : null;
  // More than a page is BAD_USER_INPUT from the field itself: leave that error to it.
  if (count !== null) return Math.min(Math.max(count, 0), declared.maxListSize ?? MAX_PAGE_SIZE);
  if (declared.listSize !== undefined) return declared.listSize;
  if (field.args.some((arg) => arg.name === 'first')) return DEFAULT_PAGE_SIZE;
  return isListType(getNullableType(field.type)) ? DEFAULT_LIST_SIZE : 1;
}

/** What an operation's cost says about its answer: at most `values` values (lists no longer than assumed), under keys of at most `longestKey` characters. */
export interface AnswerShape {
  values: number;
  longestKey: number;
}

/**
 * cost(field) = 1 + size(field) x (sum of the costs of its selections), and
 * a leaf costs 1: about the number of values the answer holds, multiplied
 * through every level of lists. `__typename` is a value like any other;
 * the rest of introspection is free (its size is the schema's), and leaves
 * the answer's shape unknown.
 */
function estimator(costs: Map<FieldNode, number>, shape: { longestKey: number; introspects: boolean }): ComplexityEstimator {
  return ({ field, node, args, childComplexity }) => {
    shape.longestKey = Math.max(shape.longestKey, (node.alias ?? node.name).value.length);
    if (field.name === '__typename') return 1;
    if (field.name.startsWith('__')) {
      shape.introspects = true;
      return 0;
    }
    const cost = 1 + listSize(field, args) * childComplexity;
    costs.set(node, cost);
    return cost;
  };
}

/** The shape of each operation that passed operationCostError, by its context value (read by the execution budget). */
const shapes = new WeakMap<object, AnswerShape>();

/** The shape the cost analysis found for the operation with this context value, if it ran and saw no introspection. */
export function answerShape(contextValue: object): AnswerShape | undefined {
  return shapes.get(contextValue);
}

/** An operation that passed: its cost and shape are the same whenever the same document runs with the same cost variables. */
interface Passed {
  schema: GraphQLSchema;
  maxCost: number;
  /** Null when it introspects (its answer's shape is unknown). */
  shape: AnswerShape | null;
}

/**
 * Passed operations by document (Yoga's parse cache hands the same document object for the same text), then by
 * operation name and the values of its cost variables: a client repeating a query (a worker's heartbeat) pays the
 * walk once. At most PASSED_PER_DOCUMENT entries per document (one whose variables vary widely is walked each time).
 */
const passed = new WeakMap<DocumentNode, Map<string, Passed>>();
const PASSED_PER_DOCUMENT = 64;

/** Every argument name that gives a list's size somewhere in the schema (see listSize): first, last and the declared ones. */
const sizeArgumentsBySchema = new WeakMap<GraphQLSchema, Set<string>>();

function sizeArguments(schema: GraphQLSchema): Set<string> {
  let names = sizeArgumentsBySchema.get(schema);
  if (!names) {
    names = new Set(['first', 'last']);
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        const declared = (field.extensions as ListSizeExtensions).listSizeArg;
        if (declared !== undefined) names.add(declared);
      }
    }
    sizeArgumentsBySchema.set(schema, names);
  }
  return names;
}

const costVariablesByDocument = new WeakMap<DocumentNode, string[]>();

/**
 * The variables a document's cost can depend on: those used in an argument that gives a list's size, or in a
 * directive's (@skip, @include). Any other variable (an id, an input) leaves the cost as it is.
 */
function costVariables(document: DocumentNode, schema: GraphQLSchema): string[] {
  let names = costVariablesByDocument.get(document);
  if (!names) {
    const sizeNames = sizeArguments(schema);
    const found = new Set<string>();
    const collect = (node: ASTNode) =>
      visit(node, {
        Variable(variable) {
          found.add(variable.name.value);
        },
      });
    visit(document, {
      Argument(argument) {
        if (sizeNames.has(argument.name.value)) collect(argument.value);
      },
      Directive(directive) {
        for (const argument of directive.arguments ?? []) collect(argument.value);
      },
    });
    names = [...found].sort();
    costVariablesByDocument.set(document, names);
  }
  return names;
}

/** The key of a passed analysis: the operation's name and the values of its cost variables. */
function passedKey(args: Pick<ExecutionArgs, 'document' | 'schema' | 'operationName' | 'variableValues'>): string {
  const variables = args.variableValues ?? {};
  const values = costVariables(args.document, args.schema).map((name) => (Object.hasOwn(variables, name) ? variables[name] : { absent: name }));
  return `${args.operationName ?? ''}\0${JSON.stringify(values)}`;
}

function rememberShape(contextValue: unknown, shape: AnswerShape | null): void {
  if (shape && typeof contextValue === 'object' && contextValue !== null) shapes.set(contextValue, shape);
}

/** At most this many fields are walked (fragments expanded): a document past it is refused whatever its cost. */
const MAX_QUERY_NODES = 10_000;
/** How many of the costliest root fields a refusal names. */
const NAMED_FIELDS = 3;

function limitExceeded(message: string, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code: LIMIT_CODE, limit: 'maxCost', env: 'UET_MAX_COST', ...extensions } });
}

/**
 * The cost of the operation to run with these variables (argument defaults
 * included), or the error that refuses it: over maxCost (0: no limit), or
 * too large a document to analyse. One that passes leaves its shape for
 * its context value (answerShape).
 */
export function operationCostError(args: Pick<ExecutionArgs, 'schema' | 'document' | 'operationName' | 'variableValues' | 'contextValue'>, maxCost: number): GraphQLError | null {
  if (maxCost === 0) return null;
  const operation = getOperationAST(args.document, args.operationName);
  // No such operation, or bad variables: execution refuses it with the right error.
  if (!operation) return null;
  const key = passedKey(args);
  const known = passed.get(args.document)?.get(key);
  if (known && known.schema === args.schema && known.maxCost === maxCost) {
    rememberShape(args.contextValue, known.shape);
    return null;
  }
  const costs = new Map<FieldNode, number>();
  const shape = { longestKey: 0, introspects: false };
  let cost: number;
  try {
    cost = getComplexity({
      schema: args.schema,
      query: args.document,
      operationName: args.operationName ?? undefined,
      variables: args.variableValues ?? {},
      estimators: [estimator(costs, shape)],
      maxQueryNodes: MAX_QUERY_NODES,
    });
  } catch (error) {
    // By message: the library throws a plain GraphQLError for it (and reports bad variables the same way).
    if (error instanceof Error && /maximum allowed number of nodes/.test(error.message)) {
      return limitExceeded(`Query selects more than ${MAX_QUERY_NODES} fields (fragments expanded); split it`, { maxQueryNodes: MAX_QUERY_NODES });
    }
    return null;
  }
  if (cost <= maxCost) {
    const found = shape.introspects ? null : { values: cost, longestKey: shape.longestKey };
    rememberShape(args.contextValue, found);
    let byKey = passed.get(args.document);
    if (!byKey) passed.set(args.document, (byKey = new Map()));
    if (byKey.size < PASSED_PER_DOCUMENT) byKey.set(key, { schema: args.schema, maxCost, shape: found });
    return null;
  }
  const fields = operation.selectionSet.selections
    .filter((node): node is FieldNode => node.kind === Kind.FIELD && costs.has(node))
    .map((node) => ({ field: node.alias ? `${node.alias.value}: ${node.name.value}` : node.name.value, cost: costs.get(node)! }))
    .sort((a, b) => b.cost - a.cost)
    .slice(0, NAMED_FIELDS);
  const named = fields.map((f) => `${f.field} (${f.cost})`).join(', ');
  return limitExceeded(
    `Query cost ${cost} is over the limit of ${maxCost} (UET_MAX_COST)${named ? `; costliest: ${named}` : ''}. ` +
      'Each list multiplies the cost of what it selects by its size (first/last, or its declared size): ask for smaller pages or fewer nested lists.',
    { cost, maxCost, fields },
  );
}

/** Operations whose cost was checked before they reached execution (graphql-ws checks its own: see websocket.ts). */
const checked = new WeakSet<object>();

/** Records that the operation with this context value has passed operationCostError. */
export function markCostChecked(contextValue: object): void {
  checked.add(contextValue);
}

/**
 * The cost analysis every operation passes before it runs, over HTTP, SSE
 * and graphql-ws, persisted or not. It runs at execution, not validation:
 * only there are the variables known (validation results are cached per
 * document, whatever the variables).
 */
export function useOperationCost(maxCost: number): Plugin {
  const check = (args: ExecutionArgs, stop: (result: { errors: GraphQLError[] }) => void) => {
    if (checked.has(args.contextValue as object)) return;
    const error = operationCostError(args, maxCost);
    if (error) stop({ errors: [error] });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}

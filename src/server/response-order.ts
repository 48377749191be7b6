import {
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isLeafType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectFields, type FieldScope } from '../schema/collect-fields.js';
import { recordRuntimeTypes, type RuntimeTypes } from '../schema/runtime-types.js';

/** An object's fields by response name, in the order the document asks for them. */
type Collected = Map<string, FieldNode[]>;

/**
 * An object's fields in document order: their response names, to check the result's keys against, and the fields
 * that can hold objects, to walk into. Leaves (scalars, enums, lists of them; a JSON value's keys are its own) and
 * __typename have nothing under them to reorder.
 */
interface Plan {
  names: string[];
  fields: { name: string; nodes: FieldNode[]; type: GraphQLOutputType }[];
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof Object(value)[Symbol.asyncIterator] === 'function';
}

/**
 * Puts the keys of every object of a result in the order its operation asks
 * for them (the spec's CollectFields order). The pinned executor
 * (@graphql-tools/executor) adds an object's keys as its fields' promises
 * settle, so asynchronous fields came after synchronous ones. This walks the
 * finished result once beside the document; an object already in order is
 * left as it is, one out of order is rebuilt.
 */
class ResponseOrder {
  private readonly fragments: Record<string, FragmentDefinitionNode> = {};
  private readonly scope: FieldScope;
  /** The plan per selection (its field nodes) and runtime type: made once for all the items of a list. */
  private readonly plans = new Map<readonly unknown[], Map<GraphQLObjectType, Plan>>();
  private variables: Record<string, unknown> | null = null;
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly operation: OperationDefinitionNode,
    document: DocumentNode,
    private readonly rawVariables: Record<string, unknown> | undefined,
    private readonly runtimeTypes: RuntimeTypes,
  ) {
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments[definition.name.value] = definition;
    this.scope = { schema, fragments: this.fragments, variables: () => this.coercedVariables() };
  }

  order(data: Record<string, unknown>): Record<string, unknown> {
    const root = this.schema.getRootType(this.operation.operation);
    return root ? this.object(data, root, [this.operation]) : data;
  }

  private object(value: Record<string, unknown>, type: GraphQLObjectType, selections: readonly { selectionSet?: SelectionSetNode }[]): Record<string, unknown> {
    const plan = this.planOf(type, selections);
    let inOrder = true;
    const keys = Object.keys(value);
    let at = 0;
    for (const name of plan.names) if (name in value && keys[at++] !== name) inOrder = false;
    for (const field of plan.fields) {
      if (!(field.name in value)) continue;
      this.path.push(field.name);
      value[field.name] = this.value(value[field.name], field.type, field.nodes);
      this.path.pop();
    }
    if (inOrder) return value;
    const ordered: Record<string, unknown> = Object.create(null);
    for (const name of plan.names) if (name in value) ordered[name] = value[name];
    // Anything the document does not account for (there should be nothing) keeps its place at the end.
    for (const key of keys) if (!(key in ordered)) ordered[key] = value[key];
    return ordered;
  }

  private value(value: unknown, type: GraphQLOutputType, nodes: FieldNode[]): unknown {
    if (value === null || typeof value !== 'object') return value;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      const items = value as unknown[];
      for (let index = 0; index < items.length; index++) {
        this.path.push(index);
        items[index] = this.value(items[index], nullable.ofType, nodes);
        this.path.pop();
      }
      return items;
    }
    const named = getNamedType(nullable);
    let objectType: GraphQLObjectType | null = isObjectType(named) ? named : null;
    if (isAbstractType(named)) {
      const runtime = this.schema.getType(this.runtimeTypes.get(this.path.join('.')) ?? '');
      objectType = isObjectType(runtime) ? runtime : null;
    }
    // A leaf (a JSON value included), or a runtime type that was not recorded: as it is.
    return objectType ? this.object(value as Record<string, unknown>, objectType, nodes) : value;
  }

  private planOf(type: GraphQLObjectType, selections: readonly { selectionSet?: SelectionSetNode }[]): Plan {
    let byType = this.plans.get(selections);
    if (!byType) this.plans.set(selections, (byType = new Map()));
    let plan = byType.get(type);
    if (!plan) {
      const fields: Collected = new Map();
      const visited = new Set<string>();
      for (const selection of selections) if (selection.selectionSet) collectFields(this.scope, type, selection.selectionSet, fields, visited);
      plan = { names: [...fields.keys()], fields: [] };
      for (const [name, nodes] of fields) {
        const field = nodes[0]!.name.value === '__typename' ? undefined : type.getFields()[nodes[0]!.name.value];
        if (field && !isLeafType(getNamedType(field.type))) plan.fields.push({ name, nodes, type: field.type });
      }
      byType.set(type, plan);
    }
    return plan;
  }

  /** As the executor coerced them (defaults applied): only asked for when a selection has directives. */
  private coercedVariables(): Record<string, unknown> {
    if (!this.variables) {
      const coerced = getVariableValues(this.schema, this.operation.variableDefinitions ?? [], this.rawVariables ?? {});
      this.variables = coerced.coerced ?? {};
    }
    return this.variables;
  }
}

/** The result with its data's keys in the order `args`'s operation asks for them. */
function inDocumentOrder(result: ExecutionResult, args: ExecutionArgs, runtimeTypes: RuntimeTypes): ExecutionResult {
  const operation = getOperationAST(args.document, args.operationName);
  if (!result.data || !operation) return result;
  const order = new ResponseOrder(args.schema, operation, args.document, args.variableValues ?? undefined, runtimeTypes);
  return { ...result, data: order.order(result.data as Record<string, unknown>) };
}

/**
 * Response keys in the order the operation asked for them, over every
 * transport (HTTP, SSE, graphql-ws, shared subscriptions alike), for
 * queries, mutations and each subscription event.
 */
export function useResponseOrder(): Plugin {
  return {
    onExecute({ args }) {
      const runtimeTypes = recordRuntimeTypes(args.contextValue as object);
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) setResult(inDocumentOrder(result, args, runtimeTypes));
        },
      };
    },
    onSubscribe({ args }) {
      const runtimeTypes = recordRuntimeTypes(args.contextValue as object);
      return {
        onSubscribeResult() {
          return {
            onNext({ result, setResult }) {
              setResult(inDocumentOrder(result, args, runtimeTypes));
              // Each event executes on its own: its paths repeat the last one's.
              runtimeTypes.clear();
            },
          };
        },
      };
    },
  };
}

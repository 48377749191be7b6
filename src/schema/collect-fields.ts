import {
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/** What CollectFields reads besides the selection: the schema, the document's fragments and the coerced variables (asked for only when a selection has directives). */
export interface FieldScope {
  schema: GraphQLSchema;
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  variables: () => Record<string, unknown>;
}

/**
 * CollectFields (spec 6.3.2): a selection set's fields on `type` by response
 * name, in first-seen order, with @skip/@include and type conditions applied,
 * as the executor will run them.
 */
export function collectFields(scope: FieldScope, type: GraphQLObjectType, selectionSet: SelectionSetNode, fields: Map<string, FieldNode[]>, visited = new Set<string>()): void {
  for (const selection of selectionSet.selections) {
    if (!included(scope, selection)) continue;
    if (selection.kind === Kind.FIELD) {
      const name = selection.alias?.value ?? selection.name.value;
      const nodes = fields.get(name);
      if (nodes) nodes.push(selection);
      else fields.set(name, [selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (applies(scope, selection.typeCondition?.name.value, type)) collectFields(scope, type, selection.selectionSet, fields, visited);
    } else {
      const name = selection.name.value;
      const fragment = scope.fragments[name];
      if (visited.has(name) || !fragment) continue;
      visited.add(name);
      if (applies(scope, fragment.typeCondition.name.value, type)) collectFields(scope, type, fragment.selectionSet, fields, visited);
    }
  }
}

function applies(scope: FieldScope, condition: string | undefined, type: GraphQLObjectType): boolean {
  if (condition === undefined || condition === type.name) return true;
  const conditionType = scope.schema.getType(condition);
  return conditionType !== undefined && isAbstractType(conditionType) && scope.schema.isSubType(conditionType, type);
}

function included(scope: FieldScope, node: SelectionSetNode['selections'][number]): boolean {
  if (!node.directives?.length) return true;
  const variables = scope.variables();
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

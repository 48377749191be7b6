import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/**
 * The arguments of every occurrence of the field at `path` below the field
 * being resolved (field names, not response names: aliases, fragments and
 * @skip/@include are followed as the executor will), e.g. ['edges', 'node',
 * 'steps'] from a connection: what its items' fields will ask for, so that
 * a list's resolver can load it for all of them at once. Empty when the
 * path is not selected.
 */
export function argumentsBelow(info: GraphQLResolveInfo, path: readonly string[]): Record<string, unknown>[] {
  let nodes: readonly FieldNode[] = info.fieldNodes;
  let type: GraphQLNamedType = getNamedType(info.returnType);
  let field: GraphQLField<unknown, unknown> | undefined;
  for (const name of path) {
    if (!isObjectType(type)) return [];
    field = type.getFields()[name];
    if (!field) return [];
    const found: FieldNode[] = [];
    for (const node of nodes) if (node.selectionSet) collect(info, type, node.selectionSet, name, found);
    nodes = found;
    type = getNamedType(field.type);
  }
  return field ? nodes.map((node) => getArgumentValues(field, node, info.variableValues)) : [];
}

/** The fields named `name` of a selection set on `type`, through the fragments that apply to it. */
function collect(info: GraphQLResolveInfo, type: GraphQLObjectType, selectionSet: SelectionSetNode, name: string, into: FieldNode[]): void {
  for (const selection of selectionSet.selections) {
    if (!included(info, selection)) continue;
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name) into.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (applies(info, selection.typeCondition?.name.value, type)) collect(info, type, selection.selectionSet, name, into);
    } else {
      const fragment = info.fragments[selection.name.value];
      if (fragment && applies(info, fragment.typeCondition.name.value, type)) collect(info, type, fragment.selectionSet, name, into);
    }
  }
}

function applies(info: GraphQLResolveInfo, condition: string | undefined, type: GraphQLObjectType): boolean {
  if (condition === undefined || condition === type.name) return true;
  const conditionType = info.schema.getType(condition);
  return conditionType !== undefined && isAbstractType(conditionType) && info.schema.isSubType(conditionType, type);
}

function included(info: GraphQLResolveInfo, node: SelectionSetNode['selections'][number]): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.if !== false;
}

import { getArgumentValues, getNamedType, isObjectType, type FieldNode, type GraphQLField, type GraphQLNamedType, type GraphQLResolveInfo } from 'graphql';
import { collectFields, type FieldScope } from './collect-fields.js';

/**
 * The arguments of every occurrence of the field at `path` below the field
 * being resolved (field names, not response names: aliases, fragments and
 * @skip/@include are followed as the executor will), e.g. ['edges', 'node',
 * 'steps'] from a connection: what its items' fields will ask for, so that
 * a list's resolver can load it for all of them at once. Empty when the
 * path is not selected.
 */
export function argumentsBelow(info: GraphQLResolveInfo, path: readonly string[]): Record<string, unknown>[] {
  const scope: FieldScope = { schema: info.schema, fragments: info.fragments, variables: () => info.variableValues };
  let nodes: readonly FieldNode[] = info.fieldNodes;
  let type: GraphQLNamedType = getNamedType(info.returnType);
  let field: GraphQLField<unknown, unknown> | undefined;
  for (const name of path) {
    if (!isObjectType(type)) return [];
    field = type.getFields()[name];
    if (!field) return [];
    const fields = new Map<string, FieldNode[]>();
    for (const node of nodes) if (node.selectionSet) collectFields(scope, type, node.selectionSet, fields);
    nodes = [...fields.values()].flat().filter((node) => node.name.value === name);
    type = getNamedType(field.type);
  }
  return field ? nodes.map((node) => getArgumentValues(field, node, info.variableValues)) : [];
}

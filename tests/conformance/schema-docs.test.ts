import { readFileSync } from 'node:fs';
import { buildSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compareSchemas, RELEASED_SCHEMA } from '../../src/cli/schema-check.js';
import { printGatewaySchema } from '../../src/graphql.js';

/** Every type, field, argument and enum value without a description (GraphiQL's docs explorer shows them). */
function undocumented(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (!type.description) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description) missing.push(`${type.name}.${field.name}`);
        for (const arg of 'args' in field ? field.args : []) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
      }
    }
    if (isEnumType(type)) for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
  }
  return missing;
}

const current = printGatewaySchema();

describe('the schema as documentation', () => {
  it('describes every type, field, argument and enum value', () => {
    expect(undocumented(buildSchema(current))).toEqual([]);
  });
});

describe('schema:check (graphql-inspector against the last released schema)', () => {
  it('finds no breaking change between the released schema and the code', async () => {
    const result = await compareSchemas(readFileSync(RELEASED_SCHEMA, 'utf8'), current);
    expect(result.breaking.map((change) => change.message)).toEqual([]);
  });

  it('reports a removed field and a new required argument as breaking, and a new field as safe', async () => {
    const released = 'type Query { runs: [String!]! workers: [String!]! }';
    const changed = 'type Query { runs(projectId: String!): [String!]! tasks: [String!]! }';
    const result = await compareSchemas(released, changed);
    expect(result.breaking.map((change) => change.path).sort()).toEqual(['Query.runs.projectId', 'Query.workers']);
    expect(result.safe.map((change) => change.path)).toEqual(['Query.tasks']);
  });
});

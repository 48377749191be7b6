// The schema is assembled here, above both halves: src/schema declares the types,
// src/resolvers adds the root fields; neither imports this file.
import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './schema/builder.js';
import { meterResponses } from './schema/response-meter.js';
import { withRuntimeTypes } from './schema/runtime-types.js';
import './schema/scalars.js';
import './schema/runs.js';
import './schema/step-logs.js';
import './schema/contracts.js';
import './schema/auth.js';
import './schema/workers.js';
import './schema/patches.js';
import './schema/gates.js';
import './schema/costs.js';
import './schema/workstreams.js';
import './schema/routing.js';
import './resolvers/runs.js';
import './resolvers/steps.js';
import './resolvers/events.js';
import './resolvers/step-logs.js';
import './resolvers/contracts.js';
import './resolvers/auth.js';
import './resolvers/workers.js';
import './resolvers/tasks.js';
import './resolvers/patches.js';
import './resolvers/gates.js';
import './resolvers/costs.js';
import './resolvers/workstreams.js';
import './resolvers/routing.js';

/**
 * Its text and JSON fields count the bytes of each answer as they are produced (execution-budget.ts);
 * its interface fields record what their values resolved to (response-order.ts).
 */
export const schema = withRuntimeTypes(meterResponses(builder.toSchema()));

/** The SDL checked in as schema.graphql. */
export function printGatewaySchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}

import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.js';
import { meterResponses } from './response-meter.js';
import './scalars.js';
import './runs.js';
import './contracts.js';
import './auth.js';
import './workers.js';
import './patches.js';
import './gates.js';
import './costs.js';
import './workstreams.js';
import './routing.js';
import '../resolvers/runs.js';
import '../resolvers/steps.js';
import '../resolvers/events.js';
import '../resolvers/contracts.js';
import '../resolvers/auth.js';
import '../resolvers/workers.js';
import '../resolvers/tasks.js';
import '../resolvers/patches.js';
import '../resolvers/gates.js';
import '../resolvers/costs.js';
import '../resolvers/workstreams.js';
import '../resolvers/routing.js';

/** Its text and JSON fields count the bytes of each answer as they are produced (execution-budget.ts). */
export const schema = meterResponses(builder.toSchema());

/** The SDL checked in as schema.graphql. */
export function printGatewaySchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}

import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import {
  ExecutionRequestFilterInput,
  ExecutionRequestRef,
  RiskLevelEnum,
  RouteDecisionRef,
  RouterConfigRef,
  ToolCircuitChangeRef,
  ToolRef,
} from '../schema/routing.js';
import { ADMIN } from './scopes.js';

builder.queryFields((t) => ({
  routerConfig: t.field({
    type: RouterConfigRef,
    nullable: true,
    description: 'The router configuration in force; null before the first setRouterConfig.',
    resolve: (_, __, ctx) => ctx.engine.routing.current(),
  }),
  routeTask: t.field({
    type: RouteDecisionRef,
    description: 'Which tool a task would be routed to now, and why (changes nothing). No candidate: NO_ROUTE, saying what was tried.',
    args: {
      taskKind: t.arg.string({ required: true }),
      riskTier: t.arg({ type: RiskLevelEnum }),
      complexity: t.arg({ type: RiskLevelEnum }),
      domain: t.arg.string(),
    },
    resolve: (_, args, ctx) => ctx.engine.routing.explain(args),
  }),
  tools: t.field({ type: [ToolRef], description: 'The tools of the router configuration in force.', resolve: (_, __, ctx) => ctx.engine.routing.tools() }),
  executionRequest: t.field({
    type: ExecutionRequestRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.executionRequest.load(parseId(args.id, 'ExecutionRequest', 'id')),
  }),
  executionRequests: t.connection(
    {
      type: ExecutionRequestRef,
      description: 'Execution requests, newest first.',
      args: { filter: t.arg({ type: ExecutionRequestFilterInput }) },
      resolve: (_, { filter, ...page }, ctx) =>
        ctx.engine.executionRequests.list({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }, page),
    },
    {
      name: 'ExecutionRequestConnection',
      fields: (c) => ({ totalCount: c.int({ resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'ExecutionRequestEdge' },
  ),
}));

builder.relayMutationField(
  'setRouterConfig',
  { inputFields: (t) => ({ config: t.field({ type: 'JSON', required: true, description: 'A router_config document.' }) }) },
  {
    authScopes: ADMIN,
    description: 'Validates (router_config, and that every rule names known tools) and puts a router configuration in force.',
    resolve: async (_, { input }, ctx) => ({ routerConfig: await ctx.engine.routing.setConfig(input.config) }),
  },
  { outputFields: (t) => ({ routerConfig: t.field({ type: RouterConfigRef, resolve: (p) => p.routerConfig }) }) },
);

builder.subscriptionField('toolCircuitChanged', (t) =>
  t.field({
    type: ToolCircuitChangeRef,
    description: "A tool's circuit breaker changing state (it opens after repeated failures, half-opens after its recovery timeout, closes on a success).",
    args: { toolId: t.arg.string() },
    subscribe: (_, args, ctx) => ctx.engine.routing.circuitChanges(args.toolId ?? null),
    resolve: (change) => change,
  }),
);

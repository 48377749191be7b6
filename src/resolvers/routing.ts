import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { liveSubscription } from '../schema/field-policy.js';
import { ExecutionRequestFilterInput, ExecutionRequestRef, RiskLevelEnum, RouteDecisionRef, RouterConfigRef, ToolCircuitChangeRef, ToolRef } from '../schema/routing.js';
import { ADMIN, WORKER_READ } from './scopes.js';

builder.queryFields((t) => ({
  routerConfig: t.field({
    type: RouterConfigRef,
    nullable: true,
    description: 'The router configuration in force; null before the first setRouterConfig.',
    resolve: (_, __, ctx) => ctx.engine.routing.current(),
  }),
  routeTask: t.field({
    type: RouteDecisionRef,
    description:
      'Which tool a task would be routed to now, and why; changes nothing (round_robin is not advanced; trial calls are only ever taken by leases). ' +
      'NO_ROUTE when no router configuration is set or no candidate is eligible, naming what was tried.',
    args: {
      taskKind: t.arg.string({ required: true, description: 'The task kind to route; blank or over 200 characters is BAD_USER_INPUT.' }),
      riskTier: t.arg({ type: RiskLevelEnum, description: "The task's risk tier; a rule whose match names risk tiers never matches without one." }),
      complexity: t.arg({ type: RiskLevelEnum, description: "The task's complexity; a rule whose match names a complexity matches only that level." }),
      domain: t.arg.string({
        description: "The task's domain; without a matching rule, only tools listing it (or listing no domains) are taken. Not used by rules.",
      }),
    },
    resolve: (_, args, ctx) => ctx.engine.routing.explain(args),
  }),
  tools: t.field({
    type: [ToolRef],
    skipTypeScopes: true,
    authScopes: WORKER_READ,
    description:
      'The tools of the router configuration in force, in id order, with their breakers and measurements; empty before the first setRouterConfig. ' +
      'Read or worker scope: a worker reads the command and limits of the tool its task was routed to.',
    resolve: (_, __, ctx) => ctx.engine.routing.tools(),
  }),
  executionRequest: t.field({
    type: ExecutionRequestRef,
    nullable: true,
    description: 'One execution request by its id; null when none has it.',
    args: { id: t.arg.id({ required: true, description: 'An ExecutionRequest id; an id of another type is BAD_USER_INPUT.' }) },
    resolve: (_, args, ctx) => ctx.loaders.executionRequest.load(parseId(args.id, 'ExecutionRequest', 'id')),
  }),
  executionRequests: t.connection(
    {
      type: ExecutionRequestRef,
      description: 'Execution requests (one per leased attempt of a workstream task), newest first.',
      args: { filter: t.arg({ type: ExecutionRequestFilterInput, description: 'Only the requests that match it; all of them when omitted.' }) },
      resolve: (_, { filter, ...page }, ctx) => ctx.engine.executionRequests.list({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }, page),
    },
    {
      name: 'ExecutionRequestConnection',
      description: 'A page of execution requests, newest first.',
      fields: (c) => ({
        totalCount: c.int({ description: 'How many execution requests match the filter, over all pages.', resolve: (conn) => conn.totalCount() }),
      }),
    },
    { name: 'ExecutionRequestEdge', description: 'An execution request in a page, with its cursor.' },
  ),
}));

builder.relayMutationField(
  'setRouterConfig',
  {
    description: 'The router configuration to put in force.',
    inputFields: (t) => ({
      config: t.field({
        type: 'JSON',
        required: true,
        description:
          'A router_config document: apps (the tools), routing.rules and defaults. What has a default in the contract may be left out (version, routing, defaults, ' +
          "an app's limits and capabilities.domains); the configuration in force has them filled in. See examples/router_config.v1.json.",
      }),
    }),
  },
  {
    authScopes: ADMIN,
    description:
      'Puts a new router configuration in force, replacing the previous one for all later routing, and routes again the tasks that were waiting for a tool. ' +
      'BAD_USER_INPUT when the document breaks the router_config contract, a rule names an unknown tool, or rule ids repeat or use "*". Needs ADMIN.',
    resolve: async (_, { input }, ctx) => ({ routerConfig: await ctx.engine.routing.setConfig(input.config) }),
  },
  {
    description: 'What setRouterConfig returns.',
    outputFields: (t) => ({ routerConfig: t.field({ type: RouterConfigRef, description: 'The configuration now in force.', resolve: (p) => p.routerConfig }) }),
  },
);

builder.subscriptionField('toolCircuitChanged', (t) =>
  t.field({
    ...liveSubscription(ToolCircuitChangeRef),
    description:
      "A tool's circuit breaker changing state: CLOSED to OPEN after 5 failed attempts in a row, HALF_OPEN to OPEN or CLOSED on the trial attempt's outcome, " +
      'and OPEN to HALF_OPEN once per open period, when the gateway first sees the 60-second recovery timeout over: on the next routing-retry pass ' +
      '(every UET_REAPER_INTERVAL_MS, with the reaper) or earlier when a task is routed or leased; with the reaper turned off, only routing and leases see it. ' +
      'Query.tools reads HALF_OPEN from the instant the timeout runs out.',
    args: { toolId: t.arg.string({ description: "Only this tool's changes; every tool's when omitted." }) },
    subscribe: (_, args, ctx) => ctx.engine.routing.circuitChanges(args.toolId ?? null),
  }),
);

builder.subscriptionField('toolChanged', (t) =>
  t.field({
    ...liveSubscription(ToolRef),
    description:
      'A tool as Query.tools shows it (circuit state, success rate, p50 latency, in-flight attempts) each time an attempt on it is leased or ends, ' +
      'or its circuit breaker changes state; only when something it shows changed. Nothing before the first change: query tools for the start.',
    args: { toolId: t.arg.string({ description: "Only this tool's changes; every tool's when omitted." }) },
    subscribe: (_, args, ctx) => ctx.engine.routing.toolChanges(args.toolId ?? null),
  }),
);

import type { ExecutionRequest } from '../engine/workstreams/entities.js';
import type { RouterConfigRow } from '../engine/routing/entities.js';
import type { ToolSnapshot, ToolStateNotice } from '../engine/routing/routing-service.js';
import type { RouteDecision } from '../engine/routing/router.js';
import { builder, encodeGlobalId } from './builder.js';
import { RunRef } from './runs.js';
import { TaskRef } from './workers.js';

export const RoutingStrategyEnum = builder.enumType('RoutingStrategy', {
  description: 'How a routing rule (or, without a matching rule, defaults.strategy) picks one tool among its candidates; ' + 'a candidate whose circuit breaker would not admit a call is passed over.',
  values: {
    FIXED: { value: 'fixed', description: "The first eligible candidate, in the rule's select_from order (or the apps order without a rule)." },
    ROUND_ROBIN: {
      value: 'round_robin',
      description: 'Takes the candidates in turn, one per routed task, with the rotation stored per rule so it survives a restart; ' + "a passed-over candidate's turn goes to the next in line.",
    },
    AUTO: {
      value: 'auto',
      description:
        'The eligible candidate with the highest success rate, then the lowest median latency, then the first in config order; ' + 'a tool not yet measured counts as best, so it gets tried.',
    },
  } as const,
});

export const RiskLevelEnum = builder.enumType('RiskLevel', {
  description: "A three-step level, used for a task's risk tier and for its complexity (the classification of a task_spec or execution_request).",
  values: {
    LOW: { value: 'low', description: 'Low.' },
    MEDIUM: { value: 'medium', description: 'Medium.' },
    HIGH: { value: 'high', description: 'High.' },
  } as const,
});

export const CircuitStateEnum = builder.enumType('CircuitState', {
  description:
    "A tool's circuit breaker (docs/domain.md#circuit-breakers-and-retries), fed by the outcomes of the task attempts routed to it: " +
    '5 consecutive failures open it, and 60 seconds later it half-opens for 1 trial call.',
  values: {
    CLOSED: { value: 'closed', description: 'Healthy: routing may choose the tool; 5 failed attempts in a row open it.' },
    OPEN: {
      value: 'open',
      description: 'After 5 consecutive failures (or a failed trial call): routing passes the tool over for 60 seconds, then it reads HALF_OPEN.',
    },
    HALF_OPEN: {
      value: 'half_open',
      description:
        'Recovery timeout over: it lets 1 trial attempt through. The trial is taken when a worker leases a task routed to the tool (not when the task is routed), ' +
        'and until that attempt ends routing and claims pass the tool over; its success closes the breaker, its failure (a crash or timeout included) opens it again, ' +
        'and an attempt handed back unfinished (worker paused or shut down) frees the trial for the next task.',
    },
  } as const,
});

export const RouterConfigRef = builder.objectRef<RouterConfigRow>('RouterConfig').implement({
  description: 'A router configuration as set by setRouterConfig (docs/domain.md#routing-and-execution-requests): its tools, routing rules and defaults; the newest one set is in force.',
  fields: (t) => ({
    id: t.id({
      description: 'Opaque id of this configuration, distinct for each setRouterConfig (RouterConfig is not a Node: node(id:) does not load it).',
      resolve: (row) => encodeGlobalId('RouterConfig', row.id),
    }),
    version: t.string({ description: "The document's version field, as text.", resolve: (row) => String(row.config.version) }),
    config: t.expose('config', { type: 'JSON', description: 'The router_config document as set (apps, routing.rules and defaults), with the defaults it left out filled in.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was set and put in force.' }),
  }),
});

const CandidateRef = builder.objectRef<RouteDecision['candidates'][number]>('RouteCandidate').implement({
  description: 'A tool that routing considered for a task, and whether it was eligible.',
  fields: (t) => ({
    toolId: t.exposeString('toolId', { description: "The tool id (a key of the router configuration's apps)." }),
    skipped: t.exposeString('skipped', { nullable: true, description: 'Why it was passed over (e.g. "circuit open"); null when it was eligible.' }),
  }),
});

export const RouteDecisionRef = builder.objectRef<RouteDecision>('RouteDecision').implement({
  description: 'Which tool routing chose for a task, under which rule and strategy, and why.',
  fields: (t) => ({
    toolId: t.exposeString('toolId', { description: 'The chosen tool.' }),
    ruleId: t.exposeString('ruleId', {
      nullable: true,
      description: 'The id of the first rule whose match held; null when no rule matched and the tools listing the task kind (and domain) were taken.',
    }),
    strategy: t.expose('strategy', { type: RoutingStrategyEnum, description: "The strategy applied: the matched rule's, or defaults.strategy without one." }),
    reason: t.exposeString('reason', { description: 'A readable explanation: the rule (or its absence), the choice and what decided it, and any tool passed over.' }),
    candidates: t.field({
      type: [CandidateRef],
      description: "Every tool considered, in the rule's select_from order (or the apps order without a rule), eligible or not.",
      resolve: (d) => d.candidates,
    }),
  }),
});

const CapabilitiesRef = builder.objectRef<ToolSnapshot['capabilities']>('ToolCapabilities').implement({
  description: "What a tool can take, as configured; consulted only when no routing rule matches (a rule's select_from is used as is).",
  fields: (t) => ({
    taskKinds: t.stringList({ description: 'The task kinds it takes.', resolve: (c) => c.task_kinds }),
    domains: t.stringList({ description: 'The domains it takes; empty means any domain.', resolve: (c) => c.domains }),
  }),
});

const LimitsRef = builder.objectRef<ToolSnapshot['limits']>('ToolLimits').implement({
  description: "A tool's limits as its router configuration states them; shown for reference, the gateway does not enforce them.",
  fields: (t) => ({
    maxParallel: t.int({ description: 'How many calls the tool should run at once.', resolve: (l) => l.max_parallel }),
    timeoutSeconds: t.int({ description: 'How long one call may take, in seconds.', resolve: (l) => l.timeout_seconds }),
  }),
});

export const ToolRef = builder.objectRef<ToolSnapshot>('Tool').implement({
  description: 'A tool of the router configuration, with its circuit breaker and what its tasks measured.',
  fields: (t) => ({
    id: t.exposeString('id', { description: "The tool id: its key in the configuration's apps, as rules and workers name it." }),
    command: t.exposeString('command', { description: 'The command that runs it, as configured.' }),
    capabilities: t.field({ type: CapabilitiesRef, description: 'The task kinds and domains it takes.', resolve: (tool) => tool.capabilities }),
    limits: t.field({ type: LimitsRef, description: 'Its configured limits.', resolve: (tool) => tool.limits }),
    circuitState: t.expose('circuitState', { type: CircuitStateEnum, description: 'Its circuit breaker now (CLOSED for a tool never used).' }),
    successRate: t.exposeFloat('successRate', {
      nullable: true,
      description: 'Share of all its finished attempts that succeeded, from 0 to 1 (interrupted ones not counted); null before the first.',
    }),
    p50LatencyMs: t.exposeFloat('p50LatencyMs', {
      nullable: true,
      description: 'Median duration of its latest 100 timed attempts, in milliseconds; null before the first.',
    }),
    inFlight: t.exposeInt('inFlight', { description: 'Attempts on it that workers have leased and not yet ended.' }),
  }),
});

export const ExecutionRequestRef = builder.objectRef<ExecutionRequest>('ExecutionRequest');

builder.node(ExecutionRequestRef, {
  description: 'One attempt of a workstream task as a worker takes it: an execution_request document (docs/domain.md#routing-and-execution-requests).',
  id: { resolve: (request) => request.id },
  loadOne: (id, ctx) => ctx.loaders.executionRequest.load(id),
  fields: (t) => ({
    projectId: t.exposeString('projectId', { description: "Its workstream's project_id." }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: "The run of the task's workstream; in practice never null, as every workstream has a run.",
      resolve: (r, _, ctx) => (r.runId ? ctx.loaders.run.load(r.runId) : null),
    }),
    task: t.field({ type: TaskRef, description: 'The workstream task this is an attempt of.', resolve: async (r, _, ctx) => (await ctx.loaders.task.load(r.taskId))! }),
    taskKind: t.exposeString('taskKind', { description: "The task's kind (task_kind)." }),
    attempt: t.exposeInt('attempt', { description: 'Which attempt of the task this is, counting from 1.' }),
    toolId: t.exposeString('toolId', {
      nullable: true,
      description: 'The tool routing chose for this attempt; null when no router configuration was set, so any worker may run it.',
    }),
    document: t.expose('document', { type: 'JSON', description: 'The execution_request document, valid against its schema-json contract.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When a worker leased the task and this request was opened.' }),
  }),
});

export const ExecutionRequestFilterInput = builder.inputType('ExecutionRequestFilter', {
  description: 'Narrows executionRequests; the fields given must all hold, and an absent (or null) field matches anything.',
  fields: (t) => ({
    projectId: t.string({ description: 'Only requests of this project (exact match).' }),
    runId: t.id({ description: 'Only requests of this run (a Run id; an id of another type is BAD_USER_INPUT).' }),
    taskKind: t.string({ description: 'Only requests for tasks of this kind (exact match).' }),
  }),
});

builder.objectField(TaskRef, 'executionRequest', (t) =>
  t.field({
    type: ExecutionRequestRef,
    nullable: true,
    description: 'The execution request of its current (or last) attempt.',
    resolve: (task, _, ctx) => (task.executionRequestId ? ctx.loaders.executionRequest.load(task.executionRequestId) : null),
  }),
);

export const ToolCircuitChangeRef = builder.objectRef<ToolStateNotice>('ToolCircuitChange').implement({
  description: "A tool's circuit breaker changing state: as an attempt on the tool ended, or (OPEN to HALF_OPEN) when the gateway first saw its recovery timeout over.",
  fields: (t) => ({
    toolId: t.exposeString('toolId', { description: 'The tool whose breaker changed.' }),
    from: t.expose('from', { type: CircuitStateEnum, description: 'Its state before the change.' }),
    to: t.expose('to', { type: CircuitStateEnum, description: 'Its state after the change.' }),
    at: t.field({
      type: 'DateTime',
      description: 'When it changed; for OPEN to HALF_OPEN, when the gateway saw it (at most one routing-retry pass, UET_REAPER_INTERVAL_MS, after the timeout ran out).',
      resolve: (c) => new Date(c.at),
    }),
  }),
});

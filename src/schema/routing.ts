import type { ExecutionRequest, RouterConfigRow } from '../engine/db/routing-entities.js';
import type { ToolSnapshot, ToolStateNotice } from '../engine/routing/routing-service.js';
import type { RouteDecision } from '../engine/routing/router.js';
import { builder, encodeGlobalId } from './builder.js';
import { RunRef } from './runs.js';
import { TaskRef } from './workers.js';

export const RoutingStrategyEnum = builder.enumType('RoutingStrategy', {
  values: { FIXED: { value: 'fixed' }, ROUND_ROBIN: { value: 'round_robin' }, AUTO: { value: 'auto' } } as const,
});

export const RiskLevelEnum = builder.enumType('RiskLevel', {
  values: { LOW: { value: 'low' }, MEDIUM: { value: 'medium' }, HIGH: { value: 'high' } } as const,
});

export const CircuitStateEnum = builder.enumType('CircuitState', {
  values: {
    CLOSED: { value: 'closed' },
    OPEN: { value: 'open', description: 'Too many consecutive failures: passed over until the recovery timeout.' },
    HALF_OPEN: { value: 'half_open', description: 'Letting trial calls through: a success closes it, a failure opens it again.' },
  } as const,
});

export const RouterConfigRef = builder.objectRef<RouterConfigRow>('RouterConfig').implement({
  fields: (t) => ({
    id: t.id({ resolve: (row) => encodeGlobalId('RouterConfig', row.id) }),
    version: t.string({ resolve: (row) => String(row.config.version) }),
    config: t.expose('config', { type: 'JSON', description: 'The router_config document.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was put in force.' }),
  }),
});

const CandidateRef = builder.objectRef<RouteDecision['candidates'][number]>('RouteCandidate').implement({
  fields: (t) => ({
    toolId: t.exposeString('toolId'),
    skipped: t.exposeString('skipped', { nullable: true, description: 'Why it was passed over (e.g. "circuit open"); null when it was eligible.' }),
  }),
});

export const RouteDecisionRef = builder.objectRef<RouteDecision>('RouteDecision').implement({
  fields: (t) => ({
    toolId: t.exposeString('toolId'),
    ruleId: t.exposeString('ruleId', { nullable: true, description: 'Null: no rule matched; the tools listing the task kind were taken.' }),
    strategy: t.expose('strategy', { type: RoutingStrategyEnum }),
    reason: t.exposeString('reason'),
    candidates: t.field({ type: [CandidateRef], resolve: (d) => d.candidates }),
  }),
});

const CapabilitiesRef = builder.objectRef<ToolSnapshot['capabilities']>('ToolCapabilities').implement({
  fields: (t) => ({ taskKinds: t.stringList({ resolve: (c) => c.task_kinds }), domains: t.stringList({ resolve: (c) => c.domains }) }),
});

const LimitsRef = builder.objectRef<ToolSnapshot['limits']>('ToolLimits').implement({
  fields: (t) => ({ maxParallel: t.int({ resolve: (l) => l.max_parallel }), timeoutSeconds: t.int({ resolve: (l) => l.timeout_seconds }) }),
});

export const ToolRef = builder.objectRef<ToolSnapshot>('Tool').implement({
  description: 'A tool of the router configuration, with its circuit breaker and what its tasks measured.',
  fields: (t) => ({
    id: t.exposeString('id'),
    command: t.exposeString('command'),
    capabilities: t.field({ type: CapabilitiesRef, resolve: (tool) => tool.capabilities }),
    limits: t.field({ type: LimitsRef, resolve: (tool) => tool.limits }),
    circuitState: t.expose('circuitState', { type: CircuitStateEnum }),
    successRate: t.exposeFloat('successRate', { nullable: true, description: 'Of its finished attempts; null before the first.' }),
    p50LatencyMs: t.exposeFloat('p50LatencyMs', { nullable: true, description: 'Median of its latest 100 attempt durations.' }),
    inFlight: t.exposeInt('inFlight', { description: 'Attempts routed to it that are running now.' }),
  }),
});

export const ExecutionRequestRef = builder.objectRef<ExecutionRequest>('ExecutionRequest');

builder.node(ExecutionRequestRef, {
  description: 'One attempt of a workstream task as a worker takes it: an execution_request document (DOMAIN.md 6).',
  id: { resolve: (request) => request.id },
  loadOne: (id, ctx) => ctx.loaders.executionRequest.load(id),
  fields: (t) => ({
    projectId: t.exposeString('projectId'),
    run: t.field({ type: RunRef, nullable: true, resolve: (r, _, ctx) => (r.runId ? ctx.loaders.run.load(r.runId) : null) }),
    task: t.field({ type: TaskRef, resolve: async (r, _, ctx) => (await ctx.loaders.task.load(r.taskId))! }),
    taskKind: t.exposeString('taskKind'),
    attempt: t.exposeInt('attempt'),
    toolId: t.exposeString('toolId', { nullable: true }),
    document: t.expose('document', { type: 'JSON', description: 'The execution_request, valid against schema-json.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const ExecutionRequestFilterInput = builder.inputType('ExecutionRequestFilter', {
  fields: (t) => ({ projectId: t.string(), runId: t.id(), taskKind: t.string() }),
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
  fields: (t) => ({
    toolId: t.exposeString('toolId'),
    from: t.expose('from', { type: CircuitStateEnum }),
    to: t.expose('to', { type: CircuitStateEnum }),
    at: t.field({ type: 'DateTime', resolve: (c) => new Date(c.at) }),
  }),
});

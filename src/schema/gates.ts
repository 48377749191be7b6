import type { GateDecision, GateExecution, GateResults, TestGate } from '../engine/db/gate-entities.js';
import { builder } from './builder.js';
import { RunRef } from './runs.js';

export const GateTypeEnum = builder.enumType('GateType', {
  values: {
    UNIT_TESTS: { value: 'unit_tests' },
    INTEGRATION_TESTS: { value: 'integration_tests' },
    E2E_TESTS: { value: 'e2e_tests' },
    SECURITY_SCAN: { value: 'security_scan' },
    LINT: { value: 'lint' },
    CUSTOM: { value: 'custom' },
  } as const,
});

export const GateStateEnum = builder.enumType('GateState', {
  values: {
    PENDING: { value: 'pending' },
    RUNNING: { value: 'running' },
    PASSED: { value: 'passed' },
    FAILED: { value: 'failed' },
    ERROR: { value: 'error', description: 'Its command exited non-zero, or it ran past its timeout: no decision.' },
    SKIPPED: { value: 'skipped', description: 'Skipped with a reason: a decision that did not pass.' },
  } as const,
});

export const TestGateRef = builder.objectRef<TestGate>('TestGate');

const CriteriaRef = builder.objectRef<TestGate['criteria']>('TestGateCriteria').implement({
  fields: (t) => ({
    minCoverage: t.float({ nullable: true, resolve: (c) => c.min_coverage ?? null }),
    maxFailures: t.int({ nullable: true, resolve: (c) => c.max_failures ?? null }),
    requiredTests: t.stringList({ resolve: (c) => c.required_tests }),
    timeoutSeconds: t.int({ nullable: true, resolve: (c) => c.timeout_seconds ?? null }),
    customRules: t.field({ type: 'JSON', nullable: true, description: 'Kept for the caller; not judged by the gateway.', resolve: (c) => c.custom_rules ?? null }),
  }),
});

const ExecutionRef = builder.objectRef<GateExecution>('TestGateExecution').implement({
  fields: (t) => ({
    startedAt: t.field({ type: 'DateTime', resolve: (e) => new Date(e.started_at) }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => (e.completed_at ? new Date(e.completed_at) : null) }),
    durationSeconds: t.float({ nullable: true, resolve: (e) => e.duration_seconds ?? null }),
    command: t.string({ nullable: true, resolve: (e) => e.command ?? null }),
    exitCode: t.int({ nullable: true, resolve: (e) => e.exit_code ?? null }),
  }),
});

const FailureRef = builder.objectRef<GateResults['failures'][number]>('TestFailure').implement({
  fields: (t) => ({ test: t.exposeString('test'), message: t.exposeString('message') }),
});

const ResultsRef = builder.objectRef<GateResults>('TestGateResults').implement({
  fields: (t) => ({
    totalTests: t.int({ resolve: (r) => r.total_tests }),
    passedTests: t.int({ resolve: (r) => r.passed_tests }),
    failedTests: t.int({ resolve: (r) => r.failed_tests }),
    skippedTests: t.int({ resolve: (r) => r.skipped_tests }),
    coveragePercent: t.float({ nullable: true, resolve: (r) => r.coverage_percent ?? null }),
    failures: t.field({ type: [FailureRef], resolve: (r) => r.failures }),
    testNames: t.stringList({ nullable: true, resolve: (r) => r.test_names ?? null }),
  }),
});

const CriteriaMetRef = builder.objectRef<GateDecision['criteria_met']>('TestGateCriteriaMet').implement({
  description: 'Only the criteria that were judged are set.',
  fields: (t) => ({
    coverage: t.boolean({ nullable: true, resolve: (m) => m.coverage ?? null }),
    failures: t.boolean({ nullable: true, resolve: (m) => m.failures ?? null }),
    requiredTests: t.boolean({ nullable: true, resolve: (m) => m.required_tests ?? null }),
  }),
});

const DecisionRef = builder.objectRef<GateDecision>('TestGateDecision').implement({
  fields: (t) => ({
    passed: t.exposeBoolean('passed'),
    reason: t.exposeString('reason', { description: 'Names each criterion that failed.' }),
    criteriaMet: t.field({ type: CriteriaMetRef, resolve: (d) => d.criteria_met }),
  }),
});

builder.node(TestGateRef, {
  description: 'A quality gate over a run (DOMAIN.md 4): its patches cannot be committed until it passes.',
  id: { resolve: (gate) => gate.id },
  loadOne: (id, ctx) => ctx.loaders.gate.load(id),
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.expose('type', { type: GateTypeEnum }),
    state: t.expose('state', { type: GateStateEnum }),
    projectId: t.exposeString('projectId', { nullable: true }),
    run: t.field({ type: RunRef, nullable: true, resolve: (g, _, ctx) => (g.runId ? ctx.loaders.run.load(g.runId) : null) }),
    executionRequestId: t.exposeString('executionRequestId', { nullable: true }),
    criteria: t.field({ type: CriteriaRef, resolve: (g) => g.criteria }),
    execution: t.field({ type: ExecutionRef, nullable: true, resolve: (g) => g.execution ?? null }),
    results: t.field({ type: ResultsRef, nullable: true, resolve: (g) => g.results ?? null }),
    decision: t.field({ type: DecisionRef, nullable: true, resolve: (g) => g.decision ?? null }),
    errorMessage: t.exposeString('errorMessage', { nullable: true, description: 'Why it ended in ERROR.' }),
    deadlineAt: t.expose('deadlineAt', { type: 'DateTime', nullable: true, description: 'While RUNNING with a timeout.' }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const GateCriteriaInput = builder.inputType('TestGateCriteriaInput', {
  fields: (t) => ({
    minCoverage: t.float({ description: 'Percent; a missing coverage figure fails it.' }),
    maxFailures: t.int(),
    requiredTests: t.stringList({ description: 'Each must be reported as run (testNames or failures) and not failed.' }),
    timeoutSeconds: t.int({ description: 'A gate running longer ends in ERROR.' }),
    customRules: t.field({ type: 'JSON' }),
  }),
});

const FailureInput = builder.inputType('TestFailureInput', {
  fields: (t) => ({ test: t.string({ required: true }), message: t.string({ required: true }) }),
});

export const GateResultsInput = builder.inputType('TestGateResultsInput', {
  fields: (t) => ({
    totalTests: t.int({ required: true }),
    passedTests: t.int({ required: true }),
    failedTests: t.int({ required: true }),
    skippedTests: t.int({ required: true }),
    coveragePercent: t.float(),
    failures: t.field({ type: [FailureInput] }),
    testNames: t.stringList({ description: 'Every test that ran: required tests are judged against it.' }),
  }),
});

export const GateFilterInput = builder.inputType('TestGateFilter', {
  fields: (t) => ({
    runId: t.id(),
    projectId: t.string(),
    states: t.field({ type: [GateStateEnum] }),
    types: t.field({ type: [GateTypeEnum] }),
  }),
});

import type { GateDecision, GateExecution, GateResults, TestGate } from '../engine/gates/entities.js';
import { builder } from './builder.js';
import { RunRef } from './runs.js';

export const GateTypeEnum = builder.enumType('GateType', {
  description: 'What kind of check a gate stands for. Every type is judged the same way (by its criteria); the type is a label to filter by.',
  values: {
    UNIT_TESTS: { value: 'unit_tests', description: 'A unit test suite.' },
    INTEGRATION_TESTS: { value: 'integration_tests', description: 'An integration test suite.' },
    E2E_TESTS: { value: 'e2e_tests', description: 'An end-to-end test suite.' },
    SECURITY_SCAN: { value: 'security_scan', description: 'A security scan; report its findings as failed tests.' },
    LINT: { value: 'lint', description: 'A linter or static check; report its findings as failed tests.' },
    CUSTOM: { value: 'custom', description: 'Any other check.' },
  } as const,
});

export const GateStateEnum = builder.enumType('GateState', {
  description: "A gate's state (docs/domain.md#test-gates): PENDING -> RUNNING or SKIPPED; RUNNING -> PASSED, FAILED, ERROR or SKIPPED; " + 'PASSED, FAILED, ERROR and SKIPPED are final.',
  values: {
    PENDING: { value: 'pending', description: "Created, not started yet; its run's patches wait for it (GATES_PENDING)." },
    RUNNING: { value: 'running', description: "Started (startTestGate) and waiting for completeTestGate, a skip, or its timeout; its run's patches wait for it." },
    PASSED: { value: 'passed', description: 'Its command exited 0 and every criterion set held (or none is set).' },
    FAILED: {
      value: 'failed',
      description: "Its command exited 0 but a criterion did not hold (the decision names which); its run's patches cannot be committed (GATES_FAILED).",
    },
    ERROR: {
      value: 'error',
      description: "Its command exited non-zero, or it ran past its timeout: no decision (see errorMessage); its run's patches cannot be committed.",
    },
    SKIPPED: {
      value: 'skipped',
      description: "Skipped with a reason (skipTestGate): a decision that did not pass, so its run's patches cannot be committed.",
    },
  } as const,
});

export const TestGateRef = builder.objectRef<TestGate>('TestGate');

const CriteriaRef = builder.objectRef<TestGate['criteria']>('TestGateCriteria').implement({
  description: 'What a gate must meet to pass, as set at creation; a criterion that is not set is not judged.',
  fields: (t) => ({
    minCoverage: t.float({
      nullable: true,
      description: 'Lowest coverage that passes, in percent (0-100); a completion that reports no coverage fails it. Null: coverage is not judged.',
      resolve: (c) => c.min_coverage ?? null,
    }),
    maxFailures: t.int({
      nullable: true,
      description: 'Most failed tests (results.failedTests) that still pass. Null: the failure count is not judged.',
      resolve: (c) => c.max_failures ?? null,
    }),
    requiredTests: t.stringList({
      description: 'Tests that must have run (listed in testNames or failures) and not failed; empty: not judged.',
      resolve: (c) => c.required_tests,
    }),
    timeoutSeconds: t.int({
      nullable: true,
      description: 'Seconds a gate may stay RUNNING before the timeout job ends it in ERROR. Null: no timeout.',
      resolve: (c) => c.timeout_seconds ?? null,
    }),
    customRules: t.field({
      type: 'JSON',
      nullable: true,
      description: 'A JSON object kept for the caller; not judged by the gateway. Null when none was given.',
      resolve: (c) => c.custom_rules ?? null,
    }),
  }),
});

const ExecutionRef = builder.objectRef<GateExecution>('TestGateExecution').implement({
  description: "When and how a gate's check ran: set when it starts, finished when it completes or times out.",
  fields: (t) => ({
    startedAt: t.field({ type: 'DateTime', description: 'When startTestGate moved it to RUNNING.', resolve: (e) => new Date(e.started_at) }),
    completedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it completed, timed out, or was skipped while RUNNING; null while RUNNING.',
      resolve: (e) => (e.completed_at ? new Date(e.completed_at) : null),
    }),
    durationSeconds: t.float({
      nullable: true,
      description: 'Seconds from startedAt to completedAt; null while completedAt is.',
      resolve: (e) => e.duration_seconds ?? null,
    }),
    command: t.string({ nullable: true, description: 'The command given to startTestGate; null when none was given.', resolve: (e) => e.command ?? null }),
    exitCode: t.int({
      nullable: true,
      description: 'The exit code given to completeTestGate; null while RUNNING, after a timeout (a completion reported past deadlineAt included), or when skipped.',
      resolve: (e) => e.exit_code ?? null,
    }),
  }),
});

const FailureRef = builder.objectRef<GateResults['failures'][number]>('TestFailure').implement({
  description: 'One failed test, as reported to completeTestGate.',
  fields: (t) => ({
    test: t.exposeString('test', { description: 'The name of the test that failed; a required test named here counts as failed.' }),
    message: t.exposeString('message', { description: 'Why it failed, as reported (may be empty).' }),
  }),
});

const ResultsRef = builder.objectRef<GateResults>('TestGateResults').implement({
  description: 'The test results reported to completeTestGate, as given; all zero, with no failures, when a gate reached PASSED or FAILED without any.',
  fields: (t) => ({
    totalTests: t.int({ description: 'Tests in the suite, as reported.', resolve: (r) => r.total_tests }),
    passedTests: t.int({ description: 'Tests that passed.', resolve: (r) => r.passed_tests }),
    failedTests: t.int({ description: 'Tests that failed: the count maxFailures is judged against.', resolve: (r) => r.failed_tests }),
    skippedTests: t.int({ description: 'Tests that were skipped.', resolve: (r) => r.skipped_tests }),
    coveragePercent: t.float({
      nullable: true,
      description: 'Coverage in percent (0-100), judged against minCoverage; null when none was reported.',
      resolve: (r) => r.coverage_percent ?? null,
    }),
    failures: t.field({
      type: [FailureRef],
      description: 'The failed tests with their messages, as reported (not checked against failedTests); empty when none were listed.',
      resolve: (r) => r.failures,
    }),
    testNames: t.stringList({
      nullable: true,
      description: 'Every test that ran, as reported: required tests are judged against it (and failures); null when not reported.',
      resolve: (r) => r.test_names ?? null,
    }),
  }),
});

const CriteriaMetRef = builder.objectRef<GateDecision['criteria_met']>('TestGateCriteriaMet').implement({
  description: 'Whether each criterion held. Only the criteria that were judged are set: null means that criterion is not set (or the gate was skipped).',
  fields: (t) => ({
    coverage: t.boolean({
      nullable: true,
      description: 'Whether coveragePercent was reported and at least minCoverage; null when minCoverage is not set.',
      resolve: (m) => m.coverage ?? null,
    }),
    failures: t.boolean({
      nullable: true,
      description: 'Whether failedTests was at most maxFailures; null when maxFailures is not set.',
      resolve: (m) => m.failures ?? null,
    }),
    requiredTests: t.boolean({
      nullable: true,
      description: 'Whether every required test ran and none failed; null when requiredTests is empty.',
      resolve: (m) => m.required_tests ?? null,
    }),
  }),
});

const DecisionRef = builder.objectRef<GateDecision>('TestGateDecision').implement({
  description: "The gateway's verdict on a gate: made when it completes with exit code 0 (PASSED or FAILED), or when it is skipped.",
  fields: (t) => ({
    passed: t.exposeBoolean('passed', { description: 'Whether the gate passed: true only for PASSED.' }),
    reason: t.exposeString('reason', {
      description: 'Names each criterion that failed (e.g. "coverage: 72% is below 80%"), joined by "; "; else "all N criteria met" or "no criteria set"; for a skip, "skipped: <reason>".',
    }),
    criteriaMet: t.field({ type: CriteriaMetRef, description: 'The outcome of each criterion judged (none for a skip).', resolve: (d) => d.criteria_met }),
  }),
});

builder.node(TestGateRef, {
  description: 'A quality gate over a run (docs/domain.md#test-gates): its patches cannot be committed until it passes.',
  id: { resolve: (gate) => gate.id, description: 'Opaque global id: pass it to testGate(id:), node(id:), or as the id of the gate mutations.' },
  loadOne: (id, ctx) => ctx.loaders.gate.load(id),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Its name, as given at creation (it names the gate in GATES_PENDING and GATES_FAILED errors).' }),
    type: t.expose('type', { type: GateTypeEnum, description: 'What kind of check it is.' }),
    state: t.expose('state', { type: GateStateEnum, description: 'Where it is in the gate state machine.' }),
    projectId: t.exposeString('projectId', {
      nullable: true,
      description: "The project it belongs to (a project name, not a global id): its run's, or as given; null when neither was given.",
    }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: 'The run whose patches wait for it (they cannot be committed until it passes); null when it was created without one.',
      resolve: (g, _, ctx) => (g.runId ? ctx.loaders.run.load(g.runId) : null),
    }),
    executionRequestId: t.exposeString('executionRequestId', {
      nullable: true,
      description: 'The execution request it serves, as given at creation (not checked); null when none was given.',
    }),
    criteria: t.field({ type: CriteriaRef, description: 'What it must meet to pass.', resolve: (g) => g.criteria }),
    execution: t.field({
      type: ExecutionRef,
      nullable: true,
      description: 'When and how its check ran; null until it is started (so for a gate skipped while PENDING).',
      resolve: (g) => g.execution ?? null,
    }),
    results: t.field({
      type: ResultsRef,
      nullable: true,
      description:
        'The results its criteria were judged on. Always set for PASSED and FAILED: those given to completeTestGate, or, when none were given, ' +
        'zero tests with no failures, coverage or test names. For ERROR, those given, if any. Null before completion, after a timeout, or when skipped.',
      resolve: (g) => g.results ?? null,
    }),
    decision: t.field({
      type: DecisionRef,
      nullable: true,
      description: 'The verdict, set for PASSED, FAILED and SKIPPED; null while PENDING or RUNNING and for ERROR.',
      resolve: (g) => g.decision ?? null,
    }),
    errorMessage: t.exposeString('errorMessage', {
      nullable: true,
      description: "Why it ended in ERROR: the command's exit code, or the timeout and how long it ran; null otherwise.",
    }),
    deadlineAt: t.expose('deadlineAt', {
      type: 'DateTime',
      nullable: true,
      description:
        "While RUNNING with a timeout: startedAt + timeoutSeconds, after which the timeout job's next pass ends it in ERROR " +
        '(and completeTestGate, if it comes first, ends it so too instead of judging it); null otherwise.',
    }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'The JSON object given at creation ({} when none was given).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created (taken from its id, so it orders gates).' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its state last changed (its creation, before any).' }),
  }),
});

export const GateCriteriaInput = builder.inputType('TestGateCriteriaInput', {
  description: 'What a gate must meet to pass; leave a criterion out to not judge it (with none set, exit code 0 passes). ' + 'Values outside the test_gate contract are BAD_USER_INPUT.',
  fields: (t) => ({
    minCoverage: t.float({ description: 'Lowest coverage that passes, in percent (0-100); a completion that reports no coverage fails it.' }),
    maxFailures: t.int({ description: 'Most failed tests (results.failedTests) that still pass; 0 or more.' }),
    requiredTests: t.stringList({
      description: 'Distinct, non-empty test names; each must be reported as run (testNames or failures) and not failed.',
    }),
    timeoutSeconds: t.int({ description: 'Seconds (1 or more) the gate may stay RUNNING; one running longer ends in ERROR.' }),
    customRules: t.field({ type: 'JSON', description: 'A JSON object kept with the gate; not judged by the gateway.' }),
  }),
});

const FailureInput = builder.inputType('TestFailureInput', {
  description: 'One failed test.',
  fields: (t) => ({
    test: t.string({ required: true, description: 'The name of the test (non-empty); a required test named here counts as failed.' }),
    message: t.string({ required: true, description: 'Why it failed (may be empty).' }),
  }),
});

export const GateResultsInput = builder.inputType('TestGateResultsInput', {
  description: 'Test results to judge the criteria against. Counts are 0 or more, and passed + failed + skipped may not exceed total (else BAD_USER_INPUT).',
  fields: (t) => ({
    totalTests: t.int({ required: true, description: 'Tests in the suite.' }),
    passedTests: t.int({ required: true, description: 'Tests that passed.' }),
    failedTests: t.int({ required: true, description: 'Tests that failed: judged against maxFailures.' }),
    skippedTests: t.int({ required: true, description: 'Tests that were skipped.' }),
    coveragePercent: t.float({ description: 'Coverage in percent (0-100), judged against minCoverage; leave it out when none was measured.' }),
    failures: t.field({ type: [FailureInput], description: 'The failed tests with their messages; a required test listed here fails requiredTests.' }),
    testNames: t.stringList({
      description: 'Every test that ran (each 1-1000 characters): required tests are judged against it, so without it a required test that passed counts as not run.',
    }),
  }),
});

export const GateFilterInput = builder.inputType('TestGateFilter', {
  description: 'Which gates to list; every condition given must hold, and one left out matches all.',
  fields: (t) => ({
    runId: t.id({ description: "Only the gates of this run (a Run's global id; another type's id is BAD_USER_INPUT)." }),
    projectId: t.string({ description: 'Only the gates of this project (a project name, not a global id).' }),
    states: t.field({ type: [GateStateEnum], description: 'Only gates in one of these states.' }),
    types: t.field({ type: [GateTypeEnum], description: 'Only gates of one of these types.' }),
  }),
});

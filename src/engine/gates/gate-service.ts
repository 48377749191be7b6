import type { EntityManager } from '@mikro-orm/knex';
import type { WorkerActor } from '../auth/identity.js';
import type { Clock } from '../core/clock.js';
import { badInput, notFound } from '../core/errors.js';
import { lockRow } from '../core/lock-row.js';
import { ulidTime } from '../core/ids.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import { TEXT_LIMIT, jsonObject, optionalText, requireText } from '../core/validate.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import type { ContractRegistry } from '../contracts/registry.js';
import type { RunEventKind } from '../runs/entities.js';
import { RunSchema } from '../runs/entities.js';
import { TestGateSchema, type GateCriteria, type GateResults, type GateState, type GateType, type TestGate } from './entities.js';
import { recordForRun } from '../runs/record-for-run.js';
import { assertMayReport } from '../auth/report-access.js';
import { judge } from './criteria.js';
import { OUTCOME_STATES, gateMachine } from './machines.js';

export const GATE_TYPES: readonly GateType[] = ['unit_tests', 'integration_tests', 'e2e_tests', 'security_scan', 'lint', 'custom'];
/** How many overdue gates one pass of the timeout job ends; the next pass takes the rest. */
const BATCH = 500;

export interface GateOutcomeNotice {
  gateId: string;
  runId: string | null;
  projectId: string | null;
  type: GateType;
  state: GateState;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'gate.outcome': GateOutcomeNotice;
  }
}

export interface CreateGateInput {
  name: string;
  type: GateType;
  runId?: string | null;
  projectId?: string | null;
  executionRequestId?: string | null;
  criteria?: {
    minCoverage?: number | null;
    maxFailures?: number | null;
    requiredTests?: string[] | null;
    timeoutSeconds?: number | null;
    customRules?: unknown;
  } | null;
  metadata?: unknown;
}

export interface GateResultsInput {
  totalTests: number;
  passedTests: number;
  failedTests: number;
  skippedTests: number;
  coveragePercent?: number | null;
  failures?: { test: string; message: string }[] | null;
  testNames?: string[] | null;
}

const EVENT_OF: Record<GateState, RunEventKind> = {
  pending: 'gate_created',
  running: 'gate_started',
  passed: 'gate_passed',
  failed: 'gate_failed',
  error: 'gate_errored',
  skipped: 'gate_skipped',
};

/** Test gates (docs/domain.md#test-gates): created pending, run, and judged against their criteria. */
export class GateService {
  constructor(
    private readonly transact: Transact,
    private readonly contracts: ContractRegistry,
    private readonly streams: NoticeStreams,
    private readonly fork: () => EntityManager,
    private readonly clock: Clock,
  ) {}

  /**
   * `actor`: who creates it; a WORKER-only token only a gate on the run of a
   * task its workers hold now that names that task's execution request (the
   * worker's test report), checked before the run is looked up.
   */
  async create(actor: WorkerActor, input: CreateGateInput): Promise<TestGate> {
    const name = requireText('name', input.name);
    if (!GATE_TYPES.includes(input.type)) throw badInput('type', `must be one of ${GATE_TYPES.join(', ')}`);
    const criteria = this.parseCriteria(input.criteria ?? {});
    const metadata = jsonObject('metadata', input.metadata);
    const projectId = optionalText('projectId', input.projectId);
    const executionRequestId = optionalText('executionRequestId', input.executionRequestId);
    return this.transact(async (scope) => {
      await assertMayReport(scope.em, actor, { runId: input.runId ?? null, executionRequestId, ownAttemptOnly: true, what: 'a gate' });
      let project = projectId;
      if (input.runId != null) {
        const run = await scope.em.findOne(RunSchema, { id: input.runId }, { fields: ['id', 'projectId'] });
        if (!run) throw notFound('Run', input.runId);
        if (project !== null && project !== run.projectId) {
          throw badInput('projectId', `the run belongs to project ${run.projectId}, not ${project}`);
        }
        project = run.projectId;
      }
      const id = scope.newId();
      const gate = scope.em.create(TestGateSchema, {
        id,
        name,
        type: input.type,
        state: 'pending',
        projectId: project,
        runId: input.runId ?? null,
        executionRequestId,
        criteria,
        metadata,
        createdAt: new Date(ulidTime(id)),
        updatedAt: scope.now,
      });
      scope.em.persist(gate);
      await this.record(scope, gate, { name });
      return gate;
    });
  }

  /** `actor`: who reports it; a WORKER-only token only for a gate that names the execution request of a task its workers hold now. */
  start(actor: WorkerActor, id: string, command?: string | null): Promise<TestGate> {
    const text = optionalText('command', command, TEXT_LIMIT);
    return this.move(id, 'running', {}, actor, (gate, scope) => {
      gate.execution = { started_at: scope.now.toISOString(), ...(text ? { command: text } : {}) };
      const timeout = gate.criteria.timeout_seconds;
      gate.deadlineAt = timeout ? new Date(scope.now.getTime() + timeout * 1000) : null;
    });
  }

  /**
   * A non-zero exit code ends the gate in error (no decision); otherwise its
   * criteria are judged against the results, and those results are stored:
   * without any, nothing was reported (zero tests, no coverage, no names),
   * which is what the criteria are judged on. A gate past its deadline
   * timed out whatever it reports: error, as the timeout job ends it.
   */
  complete(actor: WorkerActor, input: { id: string; exitCode: number; results?: GateResultsInput | null }): Promise<TestGate> {
    if (!Number.isSafeInteger(input.exitCode)) throw badInput('exitCode', 'must be an integer');
    const results = input.results ? this.parseResults(input.results) : null;
    return this.transact(async (scope) => {
      const gate = await lockRow(scope.em, TestGateSchema, input.id);
      await assertMayReportGate(scope.em, actor, gate);
      if (gate.state === 'running' && gate.deadlineAt && gate.deadlineAt < scope.now) {
        // Reported too late: the same outcome as the timeout job's, even if it has not run yet.
        await this.timeOut(scope, gate);
        return gate;
      }
      const judged = results ?? emptyResults();
      const decision = input.exitCode === 0 ? judge(gate.criteria, judged) : null;
      const to: GateState = decision === null ? 'error' : decision.passed ? 'passed' : 'failed';
      gateMachine.assert(gate.state, to, gate.id);
      // PASSED and FAILED keep the results they were judged on (test_gate requires them); ERROR keeps what was given, if anything.
      gate.results = decision === null ? results : judged;
      gate.decision = decision;
      if (decision === null) gate.errorMessage = `the command exited with code ${input.exitCode}`;
      await this.endRunning(scope, gate, to, input.exitCode);
      return gate;
    });
  }

  skip(id: string, reason: string): Promise<TestGate> {
    const text = requireText('reason', reason, TEXT_LIMIT);
    return this.move(id, 'skipped', { reason: text }, null, (gate, scope) => {
      // Skipping a running gate ends its execution (no exit code).
      if (gate.state === 'running') closeExecution(scope, gate, null);
      gate.decision = { passed: false, reason: `skipped: ${text}`, criteria_met: {} };
      gate.deadlineAt = null;
    });
  }

  /** Ends every running gate past its timeout in error; returns their ids. */
  async expireOverdue(): Promise<string[]> {
    const overdue = await this.fork().find(TestGateSchema, { state: 'running', deadlineAt: { $lt: this.clock.now() } }, { fields: ['id'], orderBy: { deadlineAt: 'asc' }, limit: BATCH });
    const ended: string[] = [];
    for (const { id } of overdue) {
      const gate = await this.transact(async (scope) => {
        const row = await lockRow(scope.em, TestGateSchema, id);
        if (row.state !== 'running' || !row.deadlineAt || row.deadlineAt >= scope.now) return null;
        await this.timeOut(scope, row);
        return row;
      });
      if (gate) ended.push(gate.id);
    }
    return ended;
  }

  /** Gates reaching passed, failed, error or skipped, filtered on the server. */
  outcomes(filter: { runId?: string | null; projectId?: string | null; types?: readonly GateType[] | null }): AsyncIterableIterator<TestGate> {
    const types = filter.types?.length ? new Set(filter.types) : null;
    return this.streams.follow(
      'gate.outcome',
      (notice) => this.fork().findOne(TestGateSchema, { id: notice.gateId }),
      (notice) => (filter.runId == null || notice.runId === filter.runId) && (filter.projectId == null || notice.projectId === filter.projectId) && (types === null || types.has(notice.type)),
    );
  }

  /** Ends a running gate past its deadline in error: no results, no decision, no exit code. */
  private async timeOut(scope: WriteScope, gate: TestGate): Promise<void> {
    gateMachine.assert(gate.state, 'error', gate.id);
    const ran = (scope.now.getTime() - new Date(gate.execution!.started_at).getTime()) / 1000;
    gate.errorMessage = `timed out after ${Math.round(ran * 10) / 10} s (timeout ${gate.criteria.timeout_seconds} s)`;
    await this.endRunning(scope, gate, 'error', null);
  }

  /** Records the end of a running gate's execution and moves it to its outcome. */
  private async endRunning(scope: WriteScope, gate: TestGate, to: GateState, exitCode: number | null): Promise<void> {
    closeExecution(scope, gate, exitCode);
    await this.transition(scope, gate, to, {});
  }

  /** `actor`: the reporter of a move a worker token may make (null: an operator-only move, already checked by scope). */
  private move(id: string, to: GateState, payload: Record<string, unknown>, actor: WorkerActor | null, apply: (gate: TestGate, scope: WriteScope) => void): Promise<TestGate> {
    return this.transact(async (scope) => {
      const gate = await lockRow(scope.em, TestGateSchema, id);
      if (actor) await assertMayReportGate(scope.em, actor, gate);
      gateMachine.assert(gate.state, to, gate.id);
      apply(gate, scope);
      await this.transition(scope, gate, to, payload);
      return gate;
    });
  }

  /** Moves the gate to `to`, which its caller has checked (gateMachine.assert) before changing anything. */
  private async transition(scope: WriteScope, gate: TestGate, to: GateState, payload: Record<string, unknown>): Promise<void> {
    const from = gate.state;
    gate.state = to;
    gate.updatedAt = scope.now;
    const decision = gate.decision ? { passed: gate.decision.passed, reason: gate.decision.reason } : {};
    await this.record(scope, gate, { from, to, ...decision, ...(gate.errorMessage && to === 'error' ? { error: gate.errorMessage } : {}), ...payload });
    if (OUTCOME_STATES.includes(to)) {
      scope.announce('gate.outcome', {
        gateId: gate.id,
        runId: gate.runId ?? null,
        projectId: gate.projectId ?? null,
        type: gate.type,
        state: to,
      });
    }
  }

  private async record(scope: WriteScope, gate: TestGate, payload: Record<string, unknown>): Promise<void> {
    if (gate.runId) await recordForRun(scope, gate.runId, EVENT_OF[gate.state], { gateId: gate.id, type: gate.type, ...payload });
  }

  private parseCriteria(raw: NonNullable<CreateGateInput['criteria']>): GateCriteria {
    const criteria: GateCriteria = { required_tests: raw.requiredTests ?? [] };
    if (raw.minCoverage != null) criteria.min_coverage = raw.minCoverage;
    if (raw.maxFailures != null) criteria.max_failures = raw.maxFailures;
    if (raw.timeoutSeconds != null) criteria.timeout_seconds = raw.timeoutSeconds;
    if (raw.customRules != null) criteria.custom_rules = jsonObject('criteria.customRules', raw.customRules);
    this.contracts.check('criteria', 'test_gate', criteria, '#/properties/criteria');
    return criteria;
  }

  private parseResults(raw: GateResultsInput): GateResults {
    const results: GateResults = {
      total_tests: raw.totalTests,
      passed_tests: raw.passedTests,
      failed_tests: raw.failedTests,
      skipped_tests: raw.skippedTests,
      failures: raw.failures ?? [],
      ...(raw.coveragePercent != null ? { coverage_percent: raw.coveragePercent } : {}),
    };
    this.contracts.check('results', 'test_gate', results, '#/properties/results');
    if (results.passed_tests + results.failed_tests + results.skipped_tests > results.total_tests) {
      throw badInput('results', 'passedTests + failedTests + skippedTests is more than totalTests');
    }
    if (raw.testNames != null) results.test_names = raw.testNames.map((name, i) => requireText(`results.testNames[${i}]`, name, 1000));
    return results;
  }
}

/** The end of a running gate's execution: completed_at, duration_seconds, and the exit code when there is one. */
function closeExecution(scope: WriteScope, gate: TestGate, exitCode: number | null): void {
  const started = new Date(gate.execution!.started_at).getTime();
  gate.execution = {
    ...gate.execution!,
    completed_at: scope.now.toISOString(),
    duration_seconds: Math.max(0, (scope.now.getTime() - started) / 1000),
    ...(exitCode !== null ? { exit_code: exitCode } : {}),
  };
  gate.deadlineAt = null;
}

/** What a gate reported when it reported nothing: zero tests, no failures, no coverage, no test names. */
function emptyResults(): GateResults {
  return { total_tests: 0, passed_tests: 0, failed_tests: 0, skipped_tests: 0, failures: [] };
}

/** A WORKER-only token passes or fails only the gate of its own task's attempt, never the run's own gates. */
function assertMayReportGate(em: EntityManager, actor: WorkerActor, gate: TestGate): Promise<unknown> {
  return assertMayReport(em, actor, { runId: gate.runId ?? null, executionRequestId: gate.executionRequestId ?? null, ownAttemptOnly: true, what: 'a gate result' });
}

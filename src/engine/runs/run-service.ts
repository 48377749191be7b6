import type { EntityManager } from '@mikro-orm/knex';
import { notFound } from '../core/errors.js';
import { lockRow } from '../core/lock-row.js';
import { directTable, type DirectTable } from '../db/direct-rows.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import { ulidTime } from '../core/ids.js';
import { TEXT_LIMIT, jsonObject, optionalInt, optionalText, requireText } from '../core/validate.js';
import type { WorkerActor } from '../auth/identity.js';
import type { ContractRegistry } from '../contracts/registry.js';
import { RunSchema, StepAttemptSchema, TaskSchema, type Run, type RunEvent, type RunEventKind, type RunOrigin, type RunState, type StepAttempt, type StepState, type Task } from './entities.js';
import { assertNotHalted } from '../budgets/budget-guard.js';
import { taskMachine } from './machines.js';
import { assertMayReport, assertMaySeeRun, type ReportingTask } from '../auth/report-access.js';
import { ERROR_EVENT_KINDS, RunEventReader, appendRunEvent } from './event-log.js';
import { runMachine, stepMachine } from './machines.js';
import { announceStepEnded } from './step-logs.js';

/** Bus notice for a run whose state changed (or that was created). */
export interface RunStateNotice {
  runId: string;
  projectId: string;
  state: RunState;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'run.state': RunStateNotice;
  }
}

export interface CreateRunInput {
  projectId: string;
  phaseId: string;
  workstreamId?: string | null;
  executionRequestId?: string | null;
  origin?: unknown;
  metadata?: unknown;
}

export interface StartStepInput {
  runId: string;
  toolId: string;
  toolRunId?: string | null;
  executionRequestId?: string | null;
  promptId?: string | null;
  inputPrompt?: string | null;
  metadata?: unknown;
}

export interface CompleteStepInput {
  id: string;
  state: Exclude<StepState, 'running'>;
  exitCode?: number | null;
  errorLog?: string | null;
  outputPatchIds?: string[] | null;
  logsPath?: string | null;
  rawResponsePath?: string | null;
}

/** Every write to runs, steps and their log (each one transaction), and the live view of run states. */
export class RunService {
  /** The run rows the direct writes (createRun, startRun) read and write. */
  private readonly runRows: DirectTable<Run>;

  constructor(
    private readonly transact: Transact,
    private readonly contracts: ContractRegistry,
    private readonly events: RunEventReader,
    private readonly streams: NoticeStreams,
    private readonly fork: () => EntityManager,
  ) {
    this.runRows = directTable(fork(), RunSchema);
  }

  async createRun(input: CreateRunInput): Promise<Run> {
    const origin = (input.origin ?? { trigger_type: 'manual' }) as RunOrigin;
    this.contracts.check('origin', 'run_record', origin, '#/$defs/origin');
    const fields = {
      projectId: requireText('projectId', input.projectId),
      phaseId: requireText('phaseId', input.phaseId),
      workstreamId: optionalText('workstreamId', input.workstreamId),
      executionRequestId: optionalText('executionRequestId', input.executionRequestId),
      metadata: jsonObject('metadata', input.metadata),
    };
    return this.transact.direct(async (scope) => {
      const run = newRun(scope, { ...fields, origin });
      await this.runRows.insert(scope.sql, run);
      return run;
    });
  }

  /** Direct statements (no ORM): a run that starts takes nothing else with it (compare moveRunState's end states). */
  async startRun(id: string): Promise<Run> {
    return this.transact.direct(async (scope) => {
      const run = await this.runRows.lock(scope.sql, id);
      if (!run) throw notFound('Run', id);
      const before = { ...run };
      await moveRunState(scope, run, 'running', {});
      await this.runRows.update(scope.sql, before, run);
      return run;
    });
  }

  async completeRun(input: { id: string; state: 'succeeded' | 'failed'; exitCode?: number | null; errorMessage?: string | null }): Promise<Run> {
    const exitCode = optionalInt('exitCode', input.exitCode);
    const errorMessage = optionalText('errorMessage', input.errorMessage, TEXT_LIMIT);
    return this.moveRun(input.id, input.state, { exitCode, errorMessage }, (run) => {
      run.exitCode = exitCode;
      run.errorMessage = errorMessage;
    });
  }

  async cancelRun(id: string, reason?: string | null): Promise<Run> {
    const stateReason = optionalText('reason', reason, TEXT_LIMIT);
    return this.moveRun(id, 'canceled', { reason: stateReason }, (run) => {
      run.stateReason = stateReason;
    });
  }

  async quarantineRun(id: string, reason: string): Promise<Run> {
    const stateReason = requireText('reason', reason, TEXT_LIMIT);
    return this.moveRun(id, 'quarantined', { reason: stateReason }, (run) => {
      run.stateReason = stateReason;
    });
  }

  /** `actor`: who reports it; a WORKER-only token only for a task its workers hold now (report-access.ts). */
  async startStep(actor: WorkerActor, input: StartStepInput): Promise<StepAttempt> {
    const fields = {
      toolId: requireText('toolId', input.toolId),
      toolRunId: optionalText('toolRunId', input.toolRunId),
      executionRequestId: optionalText('executionRequestId', input.executionRequestId),
      promptId: optionalText('promptId', input.promptId),
      inputPrompt: optionalText('inputPrompt', input.inputPrompt, TEXT_LIMIT),
      metadata: jsonObject('metadata', input.metadata),
    };
    return this.transact(async (scope) => {
      const reporting = await assertMayReport(scope.em, actor, { runId: input.runId, executionRequestId: fields.executionRequestId, what: 'a step' });
      const attempt = await attemptOfStep(scope, reporting, input.runId, fields.executionRequestId);
      const run = await lockRow(scope.em, RunSchema, input.runId);
      await assertNotHalted(scope.em, run);
      if (run.state !== 'running') {
        runMachine.forbid(run.state, run.id, '; a step can only start while its run is RUNNING', { attemptedState: 'RUNNING' });
      }
      run.stepAttempts += 1;
      const step = scope.em.create(StepAttemptSchema, {
        id: scope.newId(),
        runId: run.id,
        sequence: run.stepAttempts,
        ...fields,
        state: 'running',
        startedAt: scope.now,
        outputs: { patch_ids: [] },
        startedByTokenId: actor.tokenId,
        ...attempt,
      });
      scope.em.persist(step);
      recordRunEvent(scope, run, 'tool_call_started', { sequence: step.sequence, toolId: step.toolId }, step.id);
      return step;
    });
  }

  /** `actor`: as for startStep; the run is the step's, and a WORKER-only token completes only the steps it started. */
  async completeStep(actor: WorkerActor, input: CompleteStepInput): Promise<StepAttempt> {
    const exitCode = optionalInt('exitCode', input.exitCode);
    const errorLog = optionalText('errorLog', input.errorLog, TEXT_LIMIT);
    const patchIds = (input.outputPatchIds ?? []).map((id, i) => requireText(`outputPatchIds[${i}]`, id));
    const logsPath = optionalText('logsPath', input.logsPath, 4096);
    const rawResponsePath = optionalText('rawResponsePath', input.rawResponsePath, 4096);
    return this.transact(async (scope) => {
      const step = await scope.em.findOne(StepAttemptSchema, { id: input.id });
      if (!step) throw notFound('StepAttempt', input.id);
      await assertMayReport(scope.em, actor, { runId: step.runId, startedBy: { tokenId: step.startedByTokenId ?? null }, what: 'a step' });
      const run = await lockRow(scope.em, RunSchema, step.runId);
      endStep(scope, run, step, input.state, { exitCode, errorLog });
      step.outputs = {
        patch_ids: patchIds,
        ...(logsPath ? { logs_path: logsPath } : {}),
        ...(rawResponsePath ? { raw_response_path: rawResponsePath } : {}),
      };
      return step;
    });
  }

  /**
   * Runs as they change state (and as they are created), filtered by project and run. A WORKER-only
   * `actor` watches only a run one of its workers holds a task of (assertMaySeeRun).
   */
  async stateChanges(actor: WorkerActor, filter: { projectId?: string | null; runId?: string | null }): Promise<AsyncIterableIterator<Run>> {
    await assertMaySeeRun(this.fork(), actor, filter.runId ?? null, 'watch');
    return this.streams.follow(
      'run.state',
      (notice) => this.fork().findOne(RunSchema, { id: notice.runId }),
      (notice) => (filter.projectId == null || notice.projectId === filter.projectId) && (filter.runId == null || notice.runId === filter.runId),
    );
  }

  async addRunNote(input: { runId: string; message: string; payload?: unknown }): Promise<RunEvent> {
    const message = requireText('message', input.message, TEXT_LIMIT);
    const payload = jsonObject('payload', input.payload);
    return this.transact(async (scope) => {
      const run = await lockRow(scope.em, RunSchema, input.runId);
      return recordRunEvent(scope, run, 'note', { ...payload, message });
    }).then(async (eventId) => (await this.events.byId(eventId))!);
  }

  private moveRun(id: string, to: RunState, payload: Record<string, unknown>, apply: (run: Run, scope: WriteScope) => void): Promise<Run> {
    return this.transact(async (scope) => {
      const run = await lockRow(scope.em, RunSchema, id);
      await moveRunState(scope, run, to, payload, apply);
      return run;
    });
  }
}

type NewRunFields = Pick<Run, 'projectId' | 'phaseId' | 'workstreamId' | 'executionRequestId' | 'metadata' | 'origin'>;

/** Creates a run (pending) inside the caller's write, with its RUN_CREATED event. */
export function insertRun(scope: WriteScope, fields: NewRunFields): Run {
  const run = scope.em.create(RunSchema, newRun(scope, fields));
  scope.em.persist(run);
  return run;
}

/** A new run's row (not yet stored), its RUN_CREATED event and its announcement. */
function newRun(scope: WriteScope, fields: NewRunFields): Run {
  const id = scope.newId();
  const run: Run = {
    id,
    ...fields,
    state: 'pending',
    // Taken from the id itself, so the created-at filters can be id ranges.
    createdAt: new Date(ulidTime(id)),
    stepAttempts: 0,
    patchesCreated: 0,
    patchesApplied: 0,
    errors: 0,
  };
  recordRunEvent(scope, run, 'run_created', { state: 'pending', origin: fields.origin });
  announceState(scope, run);
  return run;
}

/**
 * Moves a run inside the caller's write: the transition check, the event,
 * the steps a run that ends takes with it, and the announcement. Used by
 * RunService and by the modules that end runs themselves (workstreams,
 * HALT budgets).
 */
export async function moveRunState(scope: WriteScope, run: Run, to: RunState, payload: Record<string, unknown>, apply: (run: Run, scope: WriteScope) => void = () => {}): Promise<void> {
  const from = run.state;
  runMachine.assert(from, to, run.id);
  run.state = to;
  if (to !== 'running') run.endedAt ??= scope.now;
  if (to === 'running') run.startedAt = scope.now;
  apply(run, scope);
  const kind: RunEventKind = to === 'running' ? 'run_started' : 'run_state_changed';
  recordRunEvent(scope, run, kind, { from, to, ...withoutNulls(payload) });
  if (to !== 'running') {
    await cancelOpenSteps(scope, run);
    await skipWaitingTasks(scope, run, typeof payload.reason === 'string' ? payload.reason : null);
  }
  announceState(scope, run);
}

/** A run that ends lets no new task start: its pending tasks are skipped (running ones still report). */
async function skipWaitingTasks(scope: WriteScope, run: Run, reason: string | null): Promise<void> {
  const waiting = await scope.em.find(TaskSchema, { runId: run.id, state: 'pending' }, { orderBy: { id: 'asc' } });
  const why = `run ${run.state}${reason ? `: ${reason}` : ''}`;
  for (const task of waiting) {
    taskMachine.assert(task.state, 'skipped', task.id);
    task.state = 'skipped';
    task.endedAt = scope.now;
    task.error = why;
    recordRunEvent(scope, run, 'task_skipped', { taskId: task.id, kind: task.kind, reason: why });
  }
}

/**
 * Inside another module's write (a cost crossing a HALT budget): the run
 * takes no new steps or tasks, and one that is still active is canceled
 * with the budget named as the reason.
 */
export async function haltRunForBudget(scope: WriteScope, run: Run, budgetId: string, reason: string): Promise<void> {
  run.haltedByBudgetId = budgetId;
  if (run.state !== 'pending' && run.state !== 'running') return;
  await moveRunState(scope, run, 'canceled', { reason, budgetId }, () => {
    run.stateReason = reason;
  });
}

/**
 * The task attempt a new step runs in: the task a WORKER-only token reports it through, when that is surely the one
 * (it names the task's execution request, or its workers hold no other task of the run); for any token, the running
 * task of the run whose execution request it names (an execution request is one attempt's). Else none: an operator's
 * step, or a worker's that cannot be told apart (several held tasks of the run, no execution request named).
 */
async function attemptOfStep(scope: WriteScope, reporting: ReportingTask | null, runId: string, executionRequestId: string | null): Promise<Pick<StepAttempt, 'taskId' | 'taskAttempt'>> {
  if (reporting) return reporting.sole ? { taskId: reporting.id, taskAttempt: reporting.attempts + 1 } : {};
  if (executionRequestId === null) return {};
  const task = await scope.em.findOne(TaskSchema, { runId, executionRequestId, state: 'running' }, { fields: ['id', 'attempts'] });
  return task ? { taskId: task.id, taskAttempt: task.attempts + 1 } : {};
}

/**
 * A task's attempt ends (worker-writes.ts endAttempt, however it ends): the steps that ran in it and are still
 * RUNNING end with it, CANCELED with `reason`, each with its event; once committed, their logs' subscribers complete.
 * The worker can no longer complete them: it holds the task no more.
 */
export async function cancelAttemptSteps(scope: WriteScope, task: Pick<Task, 'id' | 'runId'>, reason: string): Promise<void> {
  if (!task.runId) return;
  const open = await scope.em.find(StepAttemptSchema, { taskId: task.id, state: 'running' }, { orderBy: { sequence: 'asc' } });
  if (open.length === 0) return;
  const run = await lockRow(scope.em, RunSchema, task.runId);
  for (const step of open) endStep(scope, run, step, 'canceled', { reason, taskId: task.id, attempt: step.taskAttempt });
}

/** A run that ends takes its still-running steps with it, each with its own event. */
async function cancelOpenSteps(scope: WriteScope, run: Run): Promise<void> {
  const open = await scope.em.find(StepAttemptSchema, { runId: run.id, state: 'running' }, { orderBy: { sequence: 'asc' } });
  for (const step of open) endStep(scope, run, step, 'canceled', { reason: `run ${run.state}` });
}

/** The one way a step ends (completeStep, its run's end, its task attempt's end); `taskId` and `attempt` only go to the event. */
function endStep(
  scope: WriteScope,
  run: Run,
  step: StepAttempt,
  to: Exclude<StepState, 'running'>,
  details: { exitCode?: number | null; errorLog?: string | null; reason?: string; taskId?: string; attempt?: number | null },
): void {
  stepMachine.assert(step.state, to, step.id);
  step.state = to;
  step.endedAt = scope.now;
  step.exitCode = details.exitCode ?? null;
  step.errorLog = details.errorLog ?? null;
  step.stateReason = details.reason ?? null;
  const kind: RunEventKind = to === 'failed' ? 'tool_call_error' : 'tool_call_completed';
  recordRunEvent(scope, run, kind, withoutNulls({ sequence: step.sequence, state: to, ...details }), step.id);
  announceStepEnded(scope, step.id);
}

/** Appends an event and keeps the run's counters in step with it. */
function recordRunEvent(scope: WriteScope, run: Run, kind: RunEventKind, payload: Record<string, unknown>, stepId?: string): string {
  if (ERROR_EVENT_KINDS.has(kind)) run.errors += 1;
  return appendRunEvent(scope, { runId: run.id, kind, payload, stepId });
}

function announceState(scope: WriteScope, run: Run): void {
  scope.announce('run.state', { runId: run.id, projectId: run.projectId, state: run.state });
}

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

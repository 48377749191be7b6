import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type RunState = 'pending' | 'running' | 'succeeded' | 'failed' | 'quarantined' | 'canceled';
export type StepState = 'running' | 'succeeded' | 'failed' | 'canceled';

export const RUN_EVENT_KINDS = [
  'run_created',
  'run_started',
  'run_state_changed',
  'tool_call_started',
  'tool_call_completed',
  'tool_call_error',
  'patch_created',
  'patch_validated',
  'patch_apply_started',
  'patch_apply_succeeded',
  'patch_apply_failed',
  'patch_quarantined',
  'error_pipeline_triggered',
  'phase_transition',
  'note',
  // Tasks that belong to a run (kinds the gateway added: docs/domain.md#the-run-event-log).
  'task_created',
  'task_started',
  'task_completed',
  'task_failed',
  'task_requeued',
  'task_skipped',
  // Patch ledger transitions the contract's first list named no kind for (entering QUEUED is patch_apply_started), and test gates.
  'patch_verified',
  'patch_committed',
  'patch_rolled_back',
  'patch_dropped',
  'gate_created',
  'gate_started',
  'gate_passed',
  'gate_failed',
  'gate_errored',
  'gate_skipped',
  'budget_threshold_crossed',
] as const;
export type RunEventKind = (typeof RUN_EVENT_KINDS)[number];

export interface RunOrigin {
  trigger_type: 'manual' | 'ci' | 'error_pipeline' | 'scheduled';
  trigger_ref?: string;
  requested_by?: string;
}

export interface Run {
  id: string;
  projectId: string;
  phaseId: string;
  workstreamId?: string | null;
  executionRequestId?: string | null;
  state: RunState;
  stateReason?: string | null;
  createdAt: Date;
  startedAt?: Date | null;
  endedAt?: Date | null;
  exitCode?: number | null;
  errorMessage?: string | null;
  origin: RunOrigin;
  stepAttempts: number;
  patchesCreated: number;
  patchesApplied: number;
  errors: number;
  metadata: Record<string, unknown>;
  /** Set when a HALT budget stopped it: it takes no new steps or tasks. */
  haltedByBudgetId?: string | null;
}

export interface StepOutputs {
  patch_ids: string[];
  logs_path?: string;
  raw_response_path?: string;
}

export interface StepAttempt {
  id: string;
  runId: string;
  sequence: number;
  toolId: string;
  toolRunId?: string | null;
  executionRequestId?: string | null;
  promptId?: string | null;
  state: StepState;
  stateReason?: string | null;
  startedAt: Date;
  endedAt?: Date | null;
  exitCode?: number | null;
  inputPrompt?: string | null;
  outputs: StepOutputs;
  errorLog?: string | null;
  metadata: Record<string, unknown>;
  /** The token that started it: a WORKER-only token completes only the steps it started. Null: the env admin secret. */
  startedByTokenId?: string | null;
  /**
   * The task whose attempt it runs in (the task a WORKER-only token reported it through, or the running task whose
   * execution request it names), and that attempt's number: when the attempt ends, a step still RUNNING ends with it.
   * Null: a step of no task's attempt (an operator's), which only its run's end or completeStep ends.
   */
  taskId?: string | null;
  taskAttempt?: number | null;
  /** Bytes appended to its log in all (step-logs.ts): the offset the next append names. */
  logSize?: number;
  /** The range of its log no longer stored, [logCutFrom, logCutTo); both null while nothing was cut. */
  logCutFrom?: number | null;
  logCutTo?: number | null;
}

export type StepLogStream = 'stdout' | 'stderr';

/** One append to a step's log (step-logs.ts): UTF-8 bytes at [offset, endOffset) of the log. */
export interface StepLogChunk {
  stepId: string;
  offset: number;
  endOffset: number;
  stream: StepLogStream;
  /** The text's UTF-8 bytes: stored as bytes, so that any character (NUL included) is kept on either database. */
  bytes: Buffer;
  /** When the gateway stored it. */
  at: Date;
}

export interface RunEvent {
  id: string;
  /** Gap-free, strictly increasing across all runs, in commit order. */
  position: number;
  runId: string;
  stepId?: string | null;
  ts: Date;
  kind: RunEventKind;
  payload: Record<string, unknown>;
}

/** Named counters that are incremented under the writer's lock (see event-log.ts). */
export interface LogSequence {
  name: string;
  value: number;
}

export const RunSchema = new EntitySchema<Run>({
  name: 'Run',
  tableName: 'run',
  properties: {
    id: ulid,
    projectId: { type: 'string', length: 200 },
    phaseId: { type: 'string', length: 200 },
    workstreamId: { type: 'string', length: 200, nullable: true },
    executionRequestId: { type: 'string', length: 200, nullable: true },
    state: { type: 'string', length: 16 },
    stateReason: { type: 'text', nullable: true },
    createdAt: { type: 'Date' },
    startedAt: { type: 'Date', nullable: true },
    endedAt: { type: 'Date', nullable: true },
    exitCode: { type: 'integer', nullable: true },
    errorMessage: { type: 'text', nullable: true },
    origin: { type: 'json' },
    stepAttempts: { type: 'integer', default: 0 },
    patchesCreated: { type: 'integer', default: 0 },
    patchesApplied: { type: 'integer', default: 0 },
    errors: { type: 'integer', default: 0 },
    metadata: { type: 'json' },
    haltedByBudgetId: { type: 'string', length: 26, nullable: true },
  },
  // Each filter of `runs` is an equality on one column plus the id ordering
  // (newest first); the created-at range is an id range (ids embed the time).
  indexes: [
    { name: 'run_project_id_id_idx', properties: ['projectId', 'id'] },
    { name: 'run_phase_id_id_idx', properties: ['phaseId', 'id'] },
    { name: 'run_workstream_id_id_idx', properties: ['workstreamId', 'id'] },
    { name: 'run_state_id_idx', properties: ['state', 'id'] },
    // runs(filter: {projectId, states}) pages and counts within one project's runs of a state.
    { name: 'run_project_id_state_id_idx', properties: ['projectId', 'state', 'id'] },
  ],
});

export const StepAttemptSchema = new EntitySchema<StepAttempt>({
  name: 'StepAttempt',
  tableName: 'step_attempt',
  properties: {
    id: ulid,
    // No index of its own: the composite index below starts with run_id.
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', deleteRule: 'cascade', index: false },
    sequence: { type: 'integer' },
    toolId: { type: 'string', length: 200 },
    toolRunId: { type: 'string', length: 200, nullable: true },
    executionRequestId: { type: 'string', length: 200, nullable: true },
    promptId: { type: 'string', length: 200, nullable: true },
    state: { type: 'string', length: 16 },
    stateReason: { type: 'text', nullable: true },
    startedAt: { type: 'Date' },
    endedAt: { type: 'Date', nullable: true },
    exitCode: { type: 'integer', nullable: true },
    inputPrompt: { type: 'text', nullable: true },
    outputs: { type: 'json' },
    errorLog: { type: 'text', nullable: true },
    metadata: { type: 'json' },
    startedByTokenId: { type: 'string', length: 26, nullable: true },
    taskId: { type: 'string', length: 26, nullable: true },
    taskAttempt: { type: 'integer', nullable: true },
    logSize: { type: 'integer', default: 0 },
    logCutFrom: { type: 'integer', nullable: true },
    logCutTo: { type: 'integer', nullable: true },
  },
  uniques: [{ name: 'step_attempt_run_id_sequence_unique', properties: ['runId', 'sequence'] }],
  // An attempt that ends finds its running steps by task.
  indexes: [{ name: 'step_attempt_task_id_idx', properties: ['taskId'] }],
});

export const RunEventSchema = new EntitySchema<RunEvent>({
  name: 'RunEvent',
  tableName: 'run_event',
  properties: {
    id: ulid,
    position: { type: 'bigint', unique: 'run_event_position_unique', runtimeType: 'number' },
    // No index of its own: the composite index below starts with run_id.
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', deleteRule: 'cascade', index: false },
    stepId: {
      kind: 'm:1',
      entity: 'StepAttempt',
      mapToPk: true,
      fieldName: 'step_id',
      nullable: true,
      deleteRule: 'cascade',
    },
    ts: { type: 'Date' },
    kind: { type: 'string', length: 40 },
    payload: { type: 'json' },
  },
  indexes: [{ name: 'run_event_run_id_position_idx', properties: ['runId', 'position'] }],
});

export const StepLogChunkSchema = new EntitySchema<StepLogChunk>({
  name: 'StepLogChunk',
  tableName: 'step_log_chunk',
  properties: {
    // The key (step_id, end_offset) is the one index: pages forwards (end_offset > after) and backwards (end_offset <= before).
    stepId: { kind: 'm:1', entity: 'StepAttempt', mapToPk: true, fieldName: 'step_id', deleteRule: 'cascade', primary: true, index: false },
    endOffset: { type: 'integer', primary: true },
    offset: { type: 'integer', fieldName: 'start_offset' },
    stream: { type: 'string', length: 6 },
    bytes: { type: 'blob' },
    at: { type: 'Date' },
  },
});

export const LogSequenceSchema = new EntitySchema<LogSequence>({
  name: 'LogSequence',
  tableName: 'log_sequence',
  properties: {
    name: { type: 'string', length: 40, primary: true },
    value: { type: 'bigint', runtimeType: 'number' },
  },
});

export type TaskState = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

export interface Task {
  id: string;
  kind: string;
  runId?: string | null;
  state: TaskState;
  payload: Record<string, unknown>;
  /** Attempts that ended: completed, failed, or lost with their worker. */
  attempts: number;
  maxAttempts: number;
  /** How long one attempt may run before the reaper takes it back. Null: no limit. */
  timeoutSeconds?: number | null;
  workerId?: string | null;
  createdAt: Date;
  /** When the current (or last) attempt started. */
  startedAt?: Date | null;
  /** startedAt + timeoutSeconds while running. */
  deadlineAt?: Date | null;
  endedAt?: Date | null;
  result?: Record<string, unknown> | null;
  /** The last attempt's error. */
  error?: string | null;
  executionTimeSeconds?: number | null;
  /** Set for a task of a submitted workstream (its task_id is `specTaskId`). */
  workstreamId?: string | null;
  specTaskId?: string | null;
  name?: string | null;
  /** Ids of the tasks it waits for. */
  dependsOn: string[];
  /** Dependencies not completed yet: claimable at 0. */
  unmetDependencies: number;
  /** Its level in the workstream's execution order. */
  level?: number | null;
  /** task_spec error_handling.on_failure: what its failure for good does to its dependents. */
  onFailure?: 'skip_dependents' | 'continue' | 'abort_workstream' | null;
  /** task_spec retry_strategy; null retries at once (a task made by createTask). */
  retryStrategy?: 'fixed' | 'exponential' | 'none' | null;
  /** A failed attempt's retry waits until then. */
  nextAttemptAt?: Date | null;
  /** The tool the router chose; only a worker that runs it may claim the task. */
  toolId?: string | null;
  /** Why no tool could be chosen: the task waits, unclaimable, until one can. */
  routeError?: string | null;
  /** The strategy that chose toolId. */
  routeStrategy?: 'fixed' | 'round_robin' | 'auto' | null;
  /** The execution request of its current (or last) attempt. */
  executionRequestId?: string | null;
  /** Nano-units of the costs WORKER-only tokens recorded through it, all currencies summed: bounded per task (report-access.ts). */
  workerCostNanos?: number;
}

export const TaskSchema = new EntitySchema<Task>({
  name: 'Task',
  tableName: 'task',
  properties: {
    id: ulid,
    kind: { type: 'string', length: 200 },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    state: { type: 'string', length: 16 },
    payload: { type: 'json' },
    attempts: { type: 'integer', default: 0 },
    maxAttempts: { type: 'integer' },
    timeoutSeconds: { type: 'double', nullable: true },
    workerId: { kind: 'm:1', entity: 'Worker', mapToPk: true, fieldName: 'worker_id', nullable: true, deleteRule: 'set null', index: false },
    createdAt: { type: 'Date' },
    startedAt: { type: 'Date', nullable: true },
    deadlineAt: { type: 'Date', nullable: true },
    endedAt: { type: 'Date', nullable: true },
    result: { type: 'json', nullable: true },
    error: { type: 'text', nullable: true },
    executionTimeSeconds: { type: 'double', nullable: true },
    workstreamId: { kind: 'm:1', entity: 'Workstream', mapToPk: true, fieldName: 'workstream_id', nullable: true, deleteRule: 'cascade', index: false },
    specTaskId: { type: 'string', length: 200, nullable: true },
    name: { type: 'string', length: 200, nullable: true },
    dependsOn: { type: 'json', defaultRaw: `'[]'` },
    unmetDependencies: { type: 'integer', default: 0 },
    level: { type: 'integer', nullable: true },
    onFailure: { type: 'string', length: 20, nullable: true },
    retryStrategy: { type: 'string', length: 12, nullable: true },
    nextAttemptAt: { type: 'Date', nullable: true },
    toolId: { type: 'string', length: 200, nullable: true },
    routeError: { type: 'text', nullable: true },
    routeStrategy: { type: 'string', length: 12, nullable: true },
    executionRequestId: { type: 'string', length: 26, nullable: true },
    workerCostNanos: { type: 'bigint', runtimeType: 'number', default: 0 },
  },
  // Claims take the oldest pending task (of some kinds); lists filter by one column, newest first.
  indexes: [
    { name: 'task_state_kind_id_idx', properties: ['state', 'kind', 'id'] },
    { name: 'task_state_id_idx', properties: ['state', 'id'] },
    { name: 'task_run_id_id_idx', properties: ['runId', 'id'] },
    { name: 'task_worker_id_state_idx', properties: ['workerId', 'state'] },
    { name: 'task_deadline_at_idx', properties: ['deadlineAt'] },
    { name: 'task_workstream_id_state_idx', properties: ['workstreamId', 'state'] },
  ],
});

export const runEntities = [RunSchema, StepAttemptSchema, RunEventSchema, LogSequenceSchema, TaskSchema, StepLogChunkSchema];

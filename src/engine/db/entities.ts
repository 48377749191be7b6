import { EntitySchema } from '@mikro-orm/core';

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

const ulid = { type: 'string', length: 26, primary: true } as const;

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
    createdAt: { type: 'datetime' },
    startedAt: { type: 'datetime', nullable: true },
    endedAt: { type: 'datetime', nullable: true },
    exitCode: { type: 'integer', nullable: true },
    errorMessage: { type: 'text', nullable: true },
    origin: { type: 'json' },
    stepAttempts: { type: 'integer', default: 0 },
    patchesCreated: { type: 'integer', default: 0 },
    patchesApplied: { type: 'integer', default: 0 },
    errors: { type: 'integer', default: 0 },
    metadata: { type: 'json' },
  },
  // Each filter of `runs` is an equality on one column plus the id ordering
  // (newest first); the created-at range is an id range (ids embed the time).
  indexes: [
    { name: 'run_project_id_id_idx', properties: ['projectId', 'id'] },
    { name: 'run_phase_id_id_idx', properties: ['phaseId', 'id'] },
    { name: 'run_workstream_id_id_idx', properties: ['workstreamId', 'id'] },
    { name: 'run_state_id_idx', properties: ['state', 'id'] },
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
    startedAt: { type: 'datetime' },
    endedAt: { type: 'datetime', nullable: true },
    exitCode: { type: 'integer', nullable: true },
    inputPrompt: { type: 'text', nullable: true },
    outputs: { type: 'json' },
    errorLog: { type: 'text', nullable: true },
    metadata: { type: 'json' },
  },
  uniques: [{ name: 'step_attempt_run_id_sequence_unique', properties: ['runId', 'sequence'] }],
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
    ts: { type: 'datetime' },
    kind: { type: 'string', length: 40 },
    payload: { type: 'json' },
  },
  indexes: [{ name: 'run_event_run_id_position_idx', properties: ['runId', 'position'] }],
});

export const LogSequenceSchema = new EntitySchema<LogSequence>({
  name: 'LogSequence',
  tableName: 'log_sequence',
  properties: {
    name: { type: 'string', length: 40, primary: true },
    value: { type: 'bigint', runtimeType: 'number' },
  },
});

export type Scope = 'read' | 'operate' | 'worker' | 'admin';

export interface ApiToken {
  id: string;
  name: string;
  scopes: Scope[];
  /** SHA-256 of the secret, hex: the secret itself is never stored. */
  secretHash: string;
  createdAt: Date;
  lastUsedAt?: Date | null;
  expiresAt?: Date | null;
  revokedAt?: Date | null;
}

export const ApiTokenSchema = new EntitySchema<ApiToken>({
  name: 'ApiToken',
  tableName: 'api_token',
  properties: {
    id: ulid,
    name: { type: 'string', length: 200 },
    scopes: { type: 'json' },
    secretHash: { type: 'string', length: 64, unique: 'api_token_secret_hash_unique' },
    createdAt: { type: 'datetime' },
    lastUsedAt: { type: 'datetime', nullable: true },
    expiresAt: { type: 'datetime', nullable: true },
    revokedAt: { type: 'datetime', nullable: true },
  },
});

export const entities = [RunSchema, StepAttemptSchema, RunEventSchema, LogSequenceSchema, ApiTokenSchema];

import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type PatchState = 'created' | 'validated' | 'queued' | 'applied' | 'apply_failed' | 'verified' | 'quarantined' | 'committed' | 'rolled_back' | 'dropped';

export interface PatchOrigin {
  execution_request_id?: string;
  prompt_id?: string;
  phase_id?: string;
  workstream_id?: string;
  tool_id?: string;
  tool_run_id?: string;
  created_at: string;
}

export interface PatchScope {
  files_touched: string[];
  line_insertions: number;
  line_deletions: number;
  hunks: number;
}

/** A patch artifact (docs/domain.md#patch-ledger): the diff as given, and what the engine computed from it. */
export interface Patch {
  id: string;
  format: 'unified_diff';
  projectId: string;
  runId?: string | null;
  targetRepo: string;
  baseRef?: string | null;
  baseCommit?: string | null;
  origin: PatchOrigin;
  summary?: string | null;
  scope: PatchScope;
  /** Any file binary (computed). */
  binary: boolean;
  diffText: string;
  /** Who reviewed it (checked against a policy's min_reviewers). */
  reviewers: string[];
  createdAt: Date;
}

/** One row per file a patch touches: finds a file's recent changes (oscillation) without reading every diff. */
export interface PatchFile {
  patchId: string;
  path: string;
  projectId: string;
}

export interface StateHistoryItem {
  state: PatchState;
  at: string;
  reason: string;
}

export interface PatchValidation {
  format_ok: boolean;
  scope_ok: boolean;
  constraints_ok: boolean;
  tests_ran: boolean;
  tests_passed: boolean;
  validation_errors: string[];
}

export interface PatchApply {
  attempts: number;
  last_attempt_at?: string;
  last_error_code?: string;
  last_error_message?: string;
  workspace_path?: string;
  applied_files: string[];
}

export interface PatchQuarantine {
  is_quarantined: boolean;
  quarantine_reason?: string;
  quarantine_path?: string;
  quarantined_at?: string;
}

export interface PatchRelations {
  replaces_patch_id?: string;
  rollback_of_patch_id?: string;
  chain_id?: string;
}

/** The lifecycle of one patch (patch_ledger_entry). */
export interface LedgerEntry {
  id: string;
  patchId: string;
  projectId: string;
  runId?: string | null;
  phaseId?: string | null;
  workstreamId?: string | null;
  executionRequestId?: string | null;
  state: PatchState;
  stateHistory: StateHistoryItem[];
  validation: PatchValidation;
  apply: PatchApply;
  quarantine: PatchQuarantine;
  relations: PatchRelations;
  createdAt: Date;
  updatedAt: Date;
}

export type PolicyLevel = 'global' | 'project' | 'phase';

/** A patch_policy's constraints (the contract's fields, snake_case). */
export interface PolicyConstraints {
  allowed_formats: string[];
  max_lines_changed: number;
  max_files_changed: number;
  forbid_binary_patches: boolean;
  forbid_touching_paths: string[];
  require_tests_for_paths: string[];
  require_issue_ref: boolean;
  min_reviewers: number;
  oscillation_window: number;
  oscillation_threshold: number;
}

export interface PatchPolicy {
  id: string;
  level: PolicyLevel;
  projectId?: string | null;
  phaseId?: string | null;
  /** 'global', 'project:<p>' or 'phase:<p>/<ph>': one policy per place. */
  scopeKey: string;
  constraints: PolicyConstraints;
  createdAt: Date;
  updatedAt: Date;
}

export const PatchSchema = new EntitySchema<Patch>({
  name: 'Patch',
  tableName: 'patch',
  properties: {
    id: ulid,
    format: { type: 'string', length: 20 },
    projectId: { type: 'string', length: 200 },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    targetRepo: { type: 'string', length: 1000 },
    baseRef: { type: 'string', length: 1000, nullable: true },
    baseCommit: { type: 'string', length: 64, nullable: true },
    origin: { type: 'json' },
    summary: { type: 'text', nullable: true },
    scope: { type: 'json' },
    binary: { type: 'boolean' },
    diffText: { type: 'text' },
    reviewers: { type: 'json' },
    createdAt: { type: 'Date' },
  },
});

export const PatchFileSchema = new EntitySchema<PatchFile>({
  name: 'PatchFile',
  tableName: 'patch_file',
  properties: {
    // No index of its own: the primary key starts with it.
    patchId: { kind: 'm:1', entity: 'Patch', mapToPk: true, fieldName: 'patch_id', primary: true, deleteRule: 'cascade', index: false },
    path: { type: 'string', length: 4096, primary: true },
    projectId: { type: 'string', length: 200 },
  },
  // A file's latest changes in a project: newest patch first.
  indexes: [{ name: 'patch_file_project_id_path_patch_id_idx', properties: ['projectId', 'path', 'patchId'] }],
});

export const LedgerEntrySchema = new EntitySchema<LedgerEntry>({
  name: 'LedgerEntry',
  tableName: 'patch_ledger',
  properties: {
    id: ulid,
    patchId: { kind: '1:1', entity: 'Patch', mapToPk: true, owner: true, fieldName: 'patch_id', deleteRule: 'cascade' },
    projectId: { type: 'string', length: 200 },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    phaseId: { type: 'string', length: 200, nullable: true },
    workstreamId: { type: 'string', length: 200, nullable: true },
    executionRequestId: { type: 'string', length: 200, nullable: true },
    state: { type: 'string', length: 16 },
    stateHistory: { type: 'json' },
    validation: { type: 'json' },
    apply: { type: 'json' },
    quarantine: { type: 'json' },
    relations: { type: 'json' },
    createdAt: { type: 'Date' },
    updatedAt: { type: 'Date' },
  },
  // `patchLedger` filters by one of these, newest first.
  indexes: [
    { name: 'patch_ledger_project_id_id_idx', properties: ['projectId', 'id'] },
    { name: 'patch_ledger_run_id_id_idx', properties: ['runId', 'id'] },
    { name: 'patch_ledger_workstream_id_id_idx', properties: ['workstreamId', 'id'] },
    { name: 'patch_ledger_state_id_idx', properties: ['state', 'id'] },
  ],
});

export const PatchPolicySchema = new EntitySchema<PatchPolicy>({
  name: 'PatchPolicy',
  tableName: 'patch_policy',
  properties: {
    id: ulid,
    level: { type: 'string', length: 8 },
    projectId: { type: 'string', length: 200, nullable: true },
    phaseId: { type: 'string', length: 200, nullable: true },
    scopeKey: { type: 'string', length: 420, unique: 'patch_policy_scope_key_unique' },
    constraints: { type: 'json' },
    createdAt: { type: 'Date' },
    updatedAt: { type: 'Date' },
  },
});

export const patchEntities = [PatchSchema, PatchFileSchema, LedgerEntrySchema, PatchPolicySchema];

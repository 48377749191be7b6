import type { LedgerEntry, Patch, PatchPolicy } from '../engine/db/patch-entities.js';
import { builder, encodeGlobalId } from './builder.js';
import { RunRef } from './runs.js';

export const PatchStateEnum = builder.enumType('PatchState', {
  values: Object.fromEntries(
    ['created', 'validated', 'queued', 'applied', 'apply_failed', 'verified', 'quarantined', 'committed', 'rolled_back', 'dropped'].map((s) => [
      s.toUpperCase(),
      { value: s },
    ]),
  ) as Record<string, { value: LedgerEntry['state'] }>,
});

export const PolicyLevelEnum = builder.enumType('PolicyLevel', {
  description: 'Where a patch policy applies; the most specific one that applies wins (PHASE, then PROJECT, then GLOBAL).',
  values: { GLOBAL: { value: 'global' }, PROJECT: { value: 'project' }, PHASE: { value: 'phase' } } as const,
});

export const PatchRef = builder.objectRef<Patch>('Patch');
export const LedgerEntryRef = builder.objectRef<LedgerEntry>('LedgerEntry');

const PatchScopeRef = builder.objectRef<Patch['scope']>('PatchScope').implement({
  description: 'Computed by the gateway from diffText, never taken from the client.',
  fields: (t) => ({
    filesTouched: t.stringList({ description: 'Every path the diff touches, both sides of a rename.', resolve: (s) => s.files_touched }),
    lineInsertions: t.int({ resolve: (s) => s.line_insertions }),
    lineDeletions: t.int({ resolve: (s) => s.line_deletions }),
    hunks: t.int({ resolve: (s) => s.hunks }),
  }),
});

builder.node(PatchRef, {
  description: 'A patch artifact: a unified diff and what the gateway computed from it.',
  id: { resolve: (patch) => patch.id },
  loadOne: (id, ctx) => ctx.loaders.patch.load(id),
  fields: (t) => ({
    format: t.exposeString('format'),
    projectId: t.exposeString('projectId'),
    run: t.field({ type: RunRef, nullable: true, resolve: (p, _, ctx) => (p.runId ? ctx.loaders.run.load(p.runId) : null) }),
    targetRepo: t.exposeString('targetRepo'),
    baseRef: t.exposeString('baseRef', { nullable: true }),
    baseCommit: t.exposeString('baseCommit', { nullable: true }),
    origin: t.expose('origin', { type: 'JSON', description: 'The patch_artifact origin (snake_case), created_at set by the gateway.' }),
    summary: t.exposeString('summary', { nullable: true }),
    scope: t.field({ type: PatchScopeRef, resolve: (p) => p.scope }),
    binary: t.exposeBoolean('binary', { description: 'Whether any file in it is binary.' }),
    diffText: t.exposeString('diffText'),
    reviewers: t.exposeStringList('reviewers'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    ledgerEntry: t.field({ type: LedgerEntryRef, resolve: async (p, _, ctx) => (await ctx.loaders.ledgerByPatch.load(p.id))! }),
  }),
});

const StateHistoryItemRef = builder.objectRef<LedgerEntry['stateHistory'][number]>('PatchStateHistoryItem').implement({
  fields: (t) => ({
    state: t.expose('state', { type: PatchStateEnum }),
    at: t.field({ type: 'DateTime', resolve: (h) => new Date(h.at) }),
    reason: t.exposeString('reason'),
  }),
});

const ValidationRef = builder.objectRef<LedgerEntry['validation']>('PatchValidation').implement({
  fields: (t) => ({
    formatOk: t.boolean({ resolve: (v) => v.format_ok }),
    scopeOk: t.boolean({ description: "Within the run's resource scope.", resolve: (v) => v.scope_ok }),
    constraintsOk: t.boolean({ description: "Within the effective policy's constraints.", resolve: (v) => v.constraints_ok }),
    testsRan: t.boolean({ resolve: (v) => v.tests_ran }),
    testsPassed: t.boolean({ resolve: (v) => v.tests_passed }),
    validationErrors: t.stringList({
      description: 'One per broken rule, "<rule>: <file> ..." (e.g. "max_lines_changed: 120 lines changed, at most 100 allowed").',
      resolve: (v) => v.validation_errors,
    }),
  }),
});

const ApplyRef = builder.objectRef<LedgerEntry['apply']>('PatchApply').implement({
  fields: (t) => ({
    attempts: t.int({ resolve: (a) => a.attempts }),
    lastAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => (a.last_attempt_at ? new Date(a.last_attempt_at) : null) }),
    lastErrorCode: t.string({ nullable: true, resolve: (a) => a.last_error_code ?? null }),
    lastErrorMessage: t.string({ nullable: true, resolve: (a) => a.last_error_message ?? null }),
    workspacePath: t.string({ nullable: true, resolve: (a) => a.workspace_path ?? null }),
    appliedFiles: t.stringList({ resolve: (a) => a.applied_files }),
  }),
});

const QuarantineRef = builder.objectRef<LedgerEntry['quarantine']>('PatchQuarantine').implement({
  fields: (t) => ({
    isQuarantined: t.boolean({ resolve: (q) => q.is_quarantined }),
    quarantineReason: t.string({ nullable: true, resolve: (q) => q.quarantine_reason ?? null }),
    quarantinePath: t.string({ nullable: true, resolve: (q) => q.quarantine_path ?? null }),
    quarantinedAt: t.field({ type: 'DateTime', nullable: true, resolve: (q) => (q.quarantined_at ? new Date(q.quarantined_at) : null) }),
  }),
});

const RelationsRef = builder.objectRef<LedgerEntry['relations']>('PatchRelations').implement({
  fields: (t) => ({
    replacesPatch: t.field({
      type: PatchRef,
      nullable: true,
      resolve: (r, _, ctx) => (r.replaces_patch_id ? ctx.loaders.patch.load(r.replaces_patch_id) : null),
    }),
    rollbackOfPatch: t.field({
      type: PatchRef,
      nullable: true,
      resolve: (r, _, ctx) => (r.rollback_of_patch_id ? ctx.loaders.patch.load(r.rollback_of_patch_id) : null),
    }),
    chainId: t.string({ nullable: true, resolve: (r) => r.chain_id ?? null }),
  }),
});

builder.node(LedgerEntryRef, {
  description: 'The lifecycle of one patch (DOMAIN.md 3).',
  id: { resolve: (entry) => entry.id },
  loadOne: (id, ctx) => ctx.loaders.ledgerEntry.load(id),
  fields: (t) => ({
    patch: t.field({ type: PatchRef, resolve: async (e, _, ctx) => (await ctx.loaders.patch.load(e.patchId))! }),
    projectId: t.exposeString('projectId'),
    run: t.field({ type: RunRef, nullable: true, resolve: (e, _, ctx) => (e.runId ? ctx.loaders.run.load(e.runId) : null) }),
    phaseId: t.exposeString('phaseId', { nullable: true }),
    workstreamId: t.exposeString('workstreamId', { nullable: true }),
    executionRequestId: t.exposeString('executionRequestId', { nullable: true }),
    state: t.expose('state', { type: PatchStateEnum }),
    stateHistory: t.field({ type: [StateHistoryItemRef], resolve: (e) => e.stateHistory }),
    validation: t.field({ type: ValidationRef, resolve: (e) => e.validation }),
    apply: t.field({ type: ApplyRef, resolve: (e) => e.apply }),
    quarantine: t.field({ type: QuarantineRef, resolve: (e) => e.quarantine }),
    relations: t.field({ type: RelationsRef, resolve: (e) => e.relations }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const ConstraintsRef = builder.objectRef<PatchPolicy['constraints']>('PatchConstraints').implement({
  fields: (t) => ({
    allowedFormats: t.stringList({ resolve: (c) => c.allowed_formats }),
    maxLinesChanged: t.int({ resolve: (c) => c.max_lines_changed }),
    maxFilesChanged: t.int({ resolve: (c) => c.max_files_changed }),
    forbidBinaryPatches: t.boolean({ resolve: (c) => c.forbid_binary_patches }),
    forbidTouchingPaths: t.stringList({ description: 'Globs.', resolve: (c) => c.forbid_touching_paths }),
    requireTestsForPaths: t.stringList({ description: 'Globs: a change there must also touch a test.', resolve: (c) => c.require_tests_for_paths }),
    requireIssueRef: t.boolean({ resolve: (c) => c.require_issue_ref }),
    minReviewers: t.int({ resolve: (c) => c.min_reviewers }),
    oscillationWindow: t.int({ description: "How many of a file's latest changes (this one included) are examined.", resolve: (c) => c.oscillation_window }),
    oscillationThreshold: t.int({ description: 'Flips within the window that count as oscillation.', resolve: (c) => c.oscillation_threshold }),
  }),
});

export const PatchPolicyRef = builder.objectRef<PatchPolicy>('PatchPolicy').implement({
  fields: (t) => ({
    id: t.id({ resolve: (p) => encodeGlobalId('PatchPolicy', p.id) }),
    level: t.expose('level', { type: PolicyLevelEnum }),
    projectId: t.exposeString('projectId', { nullable: true }),
    phaseId: t.exposeString('phaseId', { nullable: true }),
    constraints: t.field({ type: ConstraintsRef, resolve: (p) => p.constraints }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const PatchConstraintsInput = builder.inputType('PatchConstraintsInput', {
  description: 'Constraints left out take their defaults (no practical limit; oscillation: window 10, threshold 5).',
  fields: (t) => ({
    allowedFormats: t.stringList(),
    maxLinesChanged: t.int(),
    maxFilesChanged: t.int(),
    forbidBinaryPatches: t.boolean(),
    forbidTouchingPaths: t.stringList({ description: 'Globs (picomatch, dot files included).' }),
    requireTestsForPaths: t.stringList({ description: 'Globs: a change there must also touch a test file.' }),
    requireIssueRef: t.boolean({ description: 'The summary must name an issue: #123, ABC-123 or an issue link.' }),
    minReviewers: t.int({ description: "Checked against the patch's reviewers." }),
    oscillationWindow: t.int(),
    oscillationThreshold: t.int(),
  }),
});

export const PatchRelationsInput = builder.inputType('PatchRelationsInput', {
  fields: (t) => ({ replacesPatchId: t.id(), rollbackOfPatchId: t.id(), chainId: t.string() }),
});

export const LedgerFilterInput = builder.inputType('PatchLedgerFilter', {
  fields: (t) => ({ projectId: t.string(), runId: t.id(), workstreamId: t.string(), states: t.field({ type: [PatchStateEnum] }) }),
});

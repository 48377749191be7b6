import type { LedgerEntry, Patch, PatchPolicy } from '../engine/patches/entities.js';
import { builder, encodeGlobalId } from './builder.js';
import { RunRef } from './runs.js';

/** What each ledger state means (shown on the enum's values), in the enum's order. */
const PATCH_STATE_DESCRIPTIONS: Record<LedgerEntry['state'], string> = {
  created: 'Recorded by createPatch and not yet validated.',
  validated: "Passed validatePatch (format, the run's resource scope, the effective policy); queuePatch queues it.",
  queued: 'Waiting for an apply attempt, which recordPatchApply reports.',
  applied: 'An apply attempt succeeded; verifyPatch judges it next.',
  apply_failed: 'Validation, an apply attempt or verification failed (see validation and apply); retryPatch queues it again.',
  verified: 'Its tests (or every gate of its run) passed after applying; commitPatch may land it.',
  quarantined: 'Set aside by quarantinePatch; only DROPPED may follow.',
  committed: 'Landed by commitPatch; final.',
  rolled_back: 'Undone after it was applied or verified (rollbackPatch); final.',
  dropped: 'Abandoned by dropPatch; final.',
};

export const PatchStateEnum = builder.enumType('PatchState', {
  description:
    "A ledger entry's state (docs/domain.md#patch-ledger): CREATED -> VALIDATED or APPLY_FAILED; VALIDATED -> QUEUED; QUEUED -> APPLIED or APPLY_FAILED; " +
    'APPLIED -> VERIFIED, APPLY_FAILED or ROLLED_BACK; APPLY_FAILED -> QUEUED; VERIFIED -> COMMITTED or ROLLED_BACK. ' +
    'Besides these, any state that is not final may move to DROPPED, and to QUARANTINED unless already there; COMMITTED, ROLLED_BACK and DROPPED are final.',
  values: Object.fromEntries(
    ['created', 'validated', 'queued', 'applied', 'apply_failed', 'verified', 'quarantined', 'committed', 'rolled_back', 'dropped'].map((s) => [
      s.toUpperCase(),
      { value: s, description: PATCH_STATE_DESCRIPTIONS[s as LedgerEntry['state']] },
    ]),
  ) as Record<string, { value: LedgerEntry['state']; description: string }>,
});

export const PatchStateCountRef = builder.objectRef<{ state: LedgerEntry['state']; count: number }>('PatchStateCount').implement({
  description: 'How many ledger entries stand in one state.',
  fields: (t) => ({
    state: t.expose('state', { type: PatchStateEnum, description: 'The ledger state.' }),
    count: t.exposeInt('count', { description: 'Entries in that state (0 when none).' }),
  }),
});

export const PolicyLevelEnum = builder.enumType('PolicyLevel', {
  description: 'Where a patch policy applies; the most specific one that applies wins (PHASE, then PROJECT, then GLOBAL).',
  values: {
    GLOBAL: { value: 'global', description: 'Every project; the policy names no project or phase.' },
    PROJECT: { value: 'project', description: "One project's patches; the policy names its projectId." },
    PHASE: { value: 'phase', description: 'The patches of one phase of a project; the policy names its projectId and phaseId.' },
  } as const,
});

export const PatchRef = builder.objectRef<Patch>('Patch');
export const LedgerEntryRef = builder.objectRef<LedgerEntry>('LedgerEntry');

const PatchScopeRef = builder.objectRef<Patch['scope']>('PatchScope').implement({
  description: 'What the diff changes: computed by the gateway from diffText, never taken from the client.',
  fields: (t) => ({
    filesTouched: t.stringList({
      description: 'Every path the diff touches, once each in diff order: both sides of a rename or copy.',
      resolve: (s) => s.files_touched,
    }),
    lineInsertions: t.int({ description: 'Lines added (+) over all hunks; binary files count none.', resolve: (s) => s.line_insertions }),
    lineDeletions: t.int({ description: 'Lines removed (-) over all hunks; binary files count none.', resolve: (s) => s.line_deletions }),
    hunks: t.int({ description: 'Hunks (@@ -a,b +c,d @@ blocks) over all files.', resolve: (s) => s.hunks }),
  }),
});

builder.node(PatchRef, {
  description: 'A patch artifact: a unified diff and what the gateway computed from it. Immutable once recorded; its ledgerEntry tracks its lifecycle.',
  id: { resolve: (patch) => patch.id },
  loadOne: (id, ctx) => ctx.loaders.patch.load(id),
  fields: (t) => ({
    format: t.exposeString('format', { description: 'Always "unified_diff", the only format the gateway accepts.' }),
    projectId: t.exposeString('projectId', { description: "The project it belongs to (its run's project, when it has a run)." }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: 'The run that produced it; null when it was recorded without one.',
      resolve: (p, _, ctx) => (p.runId ? ctx.loaders.run.load(p.runId) : null),
    }),
    targetRepo: t.exposeString('targetRepo', { description: 'The repository it is meant for, as the client named it.' }),
    baseRef: t.exposeString('baseRef', { nullable: true, description: 'The branch or ref the diff was taken against; null when not given.' }),
    baseCommit: t.exposeString('baseCommit', {
      nullable: true,
      description: 'The commit the diff was taken against (7 to 64 lower-case hex digits); null when not given.',
    }),
    origin: t.expose('origin', {
      type: 'JSON',
      description:
        'Where it came from: the patch_artifact origin object (snake_case: execution_request_id, prompt_id, phase_id, workstream_id, tool_id, ' +
        "tool_run_id, created_at). phase_id and workstream_id default to the ledger entry's; created_at is set by the gateway.",
    }),
    summary: t.exposeString('summary', {
      nullable: true,
      description: 'What the patch does, in free text (where requireIssueRef looks for an issue); null when not given.',
    }),
    scope: t.field({ type: PatchScopeRef, description: 'The files, lines and hunks the diff changes.', resolve: (p) => p.scope }),
    binary: t.exposeBoolean('binary', {
      description: 'Whether any file in it is binary (a "Binary files ... differ" line or a GIT binary patch).',
    }),
    diffText: t.exposeString('diffText', { description: 'The diff exactly as submitted.' }),
    reviewers: t.exposeStringList('reviewers', { description: "Who reviewed it, as given at creation; a policy's minReviewers counts them." }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the gateway recorded it.' }),
    ledgerEntry: t.field({
      type: LedgerEntryRef,
      description: 'Its ledger entry (every patch has exactly one): where it stands in its lifecycle.',
      resolve: async (p, _, ctx) => (await ctx.loaders.ledgerByPatch.load(p.id))!,
    }),
  }),
});

const StateHistoryItemRef = builder.objectRef<LedgerEntry['stateHistory'][number]>('PatchStateHistoryItem').implement({
  description: "One step of a ledger entry's history: a state it entered, when, and why.",
  fields: (t) => ({
    state: t.expose('state', { type: PatchStateEnum, description: 'The state entered.' }),
    at: t.field({ type: 'DateTime', description: 'When it was entered.', resolve: (h) => new Date(h.at) }),
    reason: t.exposeString('reason', {
      description: 'Why: the gateway\'s wording (e.g. "created", "validation failed: ...", "apply failed: ...", "tests passed"), ' + 'or for rollback, drop and quarantine the reason the caller gave.',
    }),
  }),
});

const ValidationRef = builder.objectRef<LedgerEntry['validation']>('PatchValidation').implement({
  description: 'What validatePatch and verifyPatch found. scopeOk and constraintsOk are false until validatePatch runs, the test fields until verifyPatch runs.',
  fields: (t) => ({
    formatOk: t.boolean({
      description: "Whether the patch's format is among the effective policy's allowedFormats (true at creation: a diff that does not parse is refused then).",
      resolve: (v) => v.format_ok,
    }),
    scopeOk: t.boolean({
      description: "Whether the diff stays within its run's metadata.resource_scope (true when it has no run, or the run sets none).",
      resolve: (v) => v.scope_ok,
    }),
    constraintsOk: t.boolean({
      description: "Whether it meets the effective policy's constraints other than allowedFormats (the default constraints when no policy is set).",
      resolve: (v) => v.constraints_ok,
    }),
    testsRan: t.boolean({ description: "Whether verifyPatch has judged it (by its run's gates, or by testsPassed).", resolve: (v) => v.tests_ran }),
    testsPassed: t.boolean({
      description: 'Whether the tests (or every gate of its run) passed when verifyPatch judged it; false before that.',
      resolve: (v) => v.tests_passed,
    }),
    validationErrors: t.stringList({
      description:
        'The last validation\'s broken rules, one message each, prefixed with the rule ("scope", a constraint name, or "oscillation"), ' +
        'e.g. "max_lines_changed: 120 lines changed, at most 100 allowed"; empty when it passed or was not validated.',
      resolve: (v) => v.validation_errors,
    }),
  }),
});

const ApplyRef = builder.objectRef<LedgerEntry['apply']>('PatchApply').implement({
  description: 'The apply attempts recordPatchApply reported, and how the latest went.',
  fields: (t) => ({
    attempts: t.int({ description: 'Apply attempts reported so far, successful or not.', resolve: (a) => a.attempts }),
    lastAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the latest attempt was reported; null before any.',
      resolve: (a) => (a.last_attempt_at ? new Date(a.last_attempt_at) : null),
    }),
    lastErrorCode: t.string({
      nullable: true,
      description: 'The error code of the latest attempt, if it failed; null before any attempt, after a successful one, or when it gave none.',
      resolve: (a) => a.last_error_code ?? null,
    }),
    lastErrorMessage: t.string({
      nullable: true,
      description: 'The error message of the latest attempt, if it failed; null before any attempt, after a successful one, or when it gave none.',
      resolve: (a) => a.last_error_message ?? null,
    }),
    workspacePath: t.string({
      nullable: true,
      description: 'Where it was applied: the latest workspacePath reported (an attempt that gives none keeps it); null when none was.',
      resolve: (a) => a.workspace_path ?? null,
    }),
    appliedFiles: t.stringList({
      description: 'The files the latest successful attempt reported; a failed attempt leaves them as they were (empty before any success).',
      resolve: (a) => a.applied_files,
    }),
  }),
});

const QuarantineRef = builder.objectRef<LedgerEntry['quarantine']>('PatchQuarantine').implement({
  description: 'Whether, why and when quarantinePatch set the patch aside.',
  fields: (t) => ({
    isQuarantined: t.boolean({
      description: 'Whether it was quarantined; stays true if it is dropped afterwards.',
      resolve: (q) => q.is_quarantined,
    }),
    quarantineReason: t.string({
      nullable: true,
      description: 'The reason given to quarantinePatch; null when not quarantined.',
      resolve: (q) => q.quarantine_reason ?? null,
    }),
    quarantinePath: t.string({
      nullable: true,
      description: 'Where the patch was put aside, when quarantinePatch said; null otherwise.',
      resolve: (q) => q.quarantine_path ?? null,
    }),
    quarantinedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it was quarantined; null when not.',
      resolve: (q) => (q.quarantined_at ? new Date(q.quarantined_at) : null),
    }),
  }),
});

const RelationsRef = builder.objectRef<LedgerEntry['relations']>('PatchRelations').implement({
  description: 'How the patch relates to other patches, as given to createPatch.',
  fields: (t) => ({
    replacesPatch: t.field({
      type: PatchRef,
      nullable: true,
      description: 'The patch this one replaces; null when none was named (or no patch has the id that was).',
      resolve: (r, _, ctx) => (r.replaces_patch_id ? ctx.loaders.patch.load(r.replaces_patch_id) : null),
    }),
    rollbackOfPatch: t.field({
      type: PatchRef,
      nullable: true,
      description: 'The patch this one undoes; null when none was named (or no patch has the id that was).',
      resolve: (r, _, ctx) => (r.rollback_of_patch_id ? ctx.loaders.patch.load(r.rollback_of_patch_id) : null),
    }),
    chainId: t.string({
      nullable: true,
      description: "The client's id for a chain of related patches; null when none was given.",
      resolve: (r) => r.chain_id ?? null,
    }),
  }),
});

builder.node(LedgerEntryRef, {
  description: 'The lifecycle of one patch (docs/domain.md#patch-ledger): its state and history, validation, apply attempts, quarantine and relations.',
  id: { resolve: (entry) => entry.id },
  loadOne: (id, ctx) => ctx.loaders.ledgerEntry.load(id),
  fields: (t) => ({
    patch: t.field({
      type: PatchRef,
      description: 'The patch it tracks.',
      resolve: async (e, _, ctx) => (await ctx.loaders.patch.load(e.patchId))!,
    }),
    projectId: t.exposeString('projectId', { description: "The patch's project." }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: "The patch's run: its log records every transition, and its test gates decide verifyPatch and commitPatch; null without one.",
      resolve: (e, _, ctx) => (e.runId ? ctx.loaders.run.load(e.runId) : null),
    }),
    phaseId: t.exposeString('phaseId', {
      nullable: true,
      description: "The phase (given to createPatch, else the run's), which picks the effective policy; null when neither names one.",
    }),
    workstreamId: t.exposeString('workstreamId', {
      nullable: true,
      description: "The workstream (given to createPatch, else the run's); null when neither names one.",
    }),
    executionRequestId: t.exposeString('executionRequestId', {
      nullable: true,
      description: "The execution request (given to createPatch, else the run's); null when neither names one.",
    }),
    state: t.expose('state', { type: PatchStateEnum, description: 'Where the patch stands in its lifecycle.' }),
    stateHistory: t.field({
      type: [StateHistoryItemRef],
      description: 'Every state it entered, oldest first, starting with CREATED.',
      resolve: (e) => e.stateHistory,
    }),
    validation: t.field({ type: ValidationRef, description: 'What validation and verification found.', resolve: (e) => e.validation }),
    apply: t.field({ type: ApplyRef, description: 'Its apply attempts and how the latest went.', resolve: (e) => e.apply }),
    quarantine: t.field({ type: QuarantineRef, description: 'Whether and why it was quarantined.', resolve: (e) => e.quarantine }),
    relations: t.field({ type: RelationsRef, description: 'The patches it replaces or rolls back, and its chain.', resolve: (e) => e.relations }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it (and its patch) was recorded.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When its state last changed (createdAt until then).' }),
  }),
});

const ConstraintsRef = builder.objectRef<PatchPolicy['constraints']>('PatchConstraints').implement({
  description: 'The rules validatePatch checks a patch against; each one it breaks adds a message to validationErrors.',
  fields: (t) => ({
    allowedFormats: t.stringList({ description: 'Patch formats accepted; "unified_diff" is the only one.', resolve: (c) => c.allowed_formats }),
    maxLinesChanged: t.int({ description: 'Most lines a patch may change: insertions plus deletions.', resolve: (c) => c.max_lines_changed }),
    maxFilesChanged: t.int({ description: 'Most files a patch may change (a rename counts as one).', resolve: (c) => c.max_files_changed }),
    forbidBinaryPatches: t.boolean({ description: 'Whether a binary file in the patch breaks the policy.', resolve: (c) => c.forbid_binary_patches }),
    forbidTouchingPaths: t.stringList({
      description: 'Globs (picomatch, dot files included) that no path the patch touches may match, on either side of a rename.',
      resolve: (c) => c.forbid_touching_paths,
    }),
    requireTestsForPaths: t.stringList({
      description:
        'Globs: a patch touching a matching path must also touch a test (under test/, tests/, __tests__/ or spec/, ' +
        'or named *.test.*, *.spec.*, test_*.py, *_test.py, *_test.go, *Test.java or *Tests.cs).',
      resolve: (c) => c.require_tests_for_paths,
    }),
    requireIssueRef: t.boolean({
      description: 'Whether the summary must name an issue: #123, ABC-123, or an .../issues/N or .../pull/N link.',
      resolve: (c) => c.require_issue_ref,
    }),
    minReviewers: t.int({ description: 'Fewest reviewers a patch must list.', resolve: (c) => c.min_reviewers }),
    oscillationWindow: t.int({
      description: "How many of a file's latest changes in the project (this one included, earlier patches in any state) are examined.",
      resolve: (c) => c.oscillation_window,
    }),
    oscillationThreshold: t.int({
      description: 'Flips within the window at which a file counts as oscillating; a flip is a change that removes a line the change before it added, or adds back one it removed.',
      resolve: (c) => c.oscillation_threshold,
    }),
  }),
});

export const PatchPolicyRef = builder.objectRef<PatchPolicy>('PatchPolicy').implement({
  description: 'The constraints patch validation checks, set by setPatchPolicy for one level and place; the most specific one that applies wins.',
  fields: (t) => ({
    id: t.id({
      description: 'Opaque id of the policy. PatchPolicy is not a Node: node(id:) does not load it.',
      resolve: (p) => encodeGlobalId('PatchPolicy', p.id),
    }),
    level: t.expose('level', { type: PolicyLevelEnum, description: 'Where it applies.' }),
    projectId: t.exposeString('projectId', { nullable: true, description: 'The project, for PROJECT and PHASE policies; null for GLOBAL.' }),
    phaseId: t.exposeString('phaseId', { nullable: true, description: 'The phase, for PHASE policies; null otherwise.' }),
    constraints: t.field({ type: ConstraintsRef, description: 'What it requires of a patch.', resolve: (p) => p.constraints }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first set.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When setPatchPolicy last replaced its constraints.' }),
  }),
});

export const PatchConstraintsInput = builder.inputType('PatchConstraintsInput', {
  description: "A policy's full constraint set: any left out take their defaults (not the current policy's values), which limit nothing in practice. " + 'A value out of range is BAD_USER_INPUT.',
  fields: (t) => ({
    allowedFormats: t.stringList({ description: 'Formats to accept: at least one, and "unified_diff" is the only one. Default ["unified_diff"].' }),
    maxLinesChanged: t.int({ description: 'Most lines (insertions plus deletions) a patch may change; at least 1, default 1,000,000.' }),
    maxFilesChanged: t.int({ description: 'Most files a patch may change (a rename counts as one); at least 1, default 100,000.' }),
    forbidBinaryPatches: t.boolean({ description: 'Refuse patches with a binary file; default false.' }),
    forbidTouchingPaths: t.stringList({
      description:
        'Globs (picomatch, dot files included) that no path the patch touches may match; default none. A negation (!x, !(x)) is BAD_USER_INPUT: globs are matched in linear time, without lookarounds.',
    }),
    requireTestsForPaths: t.stringList({ description: 'Globs (as forbidTouchingPaths): a change there must also touch a test file; default none.' }),
    requireIssueRef: t.boolean({ description: 'The summary must name an issue: #123, ABC-123 or an issue link; default false.' }),
    minReviewers: t.int({ description: 'Fewest reviewers the patch must list (its reviewers); at least 0, default 0.' }),
    oscillationWindow: t.int({ description: "How many of a file's latest changes (this one included) are examined; at least 1, default 10." }),
    oscillationThreshold: t.int({ description: 'Flips within the window that count as oscillation; at least 1, default 5.' }),
  }),
});

export const PatchRelationsInput = builder.inputType('PatchRelationsInput', {
  description: 'How a new patch relates to others; stored as given (the patches named are not checked to exist).',
  fields: (t) => ({
    replacesPatchId: t.id({ description: 'The Patch global id of the patch this one replaces; any other kind of id is BAD_USER_INPUT.' }),
    rollbackOfPatchId: t.id({ description: 'The Patch global id of the patch this one undoes; any other kind of id is BAD_USER_INPUT.' }),
    chainId: t.string({ description: 'Your id for a chain of related patches (at most 200 characters).' }),
  }),
});

export const LedgerFilterInput = builder.inputType('PatchLedgerFilter', {
  description: 'Narrows patchLedger: every condition given must hold.',
  fields: (t) => ({
    projectId: t.string({ description: 'Only entries of this project.' }),
    runId: t.id({ description: 'Only entries of this run (a Run global id; any other kind of id is BAD_USER_INPUT).' }),
    workstreamId: t.string({ description: 'Only entries of this workstream.' }),
    states: t.field({ type: [PatchStateEnum], description: 'Only entries in one of these states.' }),
  }),
});

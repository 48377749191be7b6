import { isUlid } from '../engine/core/ids.js';
import type { LedgerEntry } from '../engine/patches/entities.js';
import { PATCH_STATES } from '../engine/patches/patch-queries.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import type { GatewayContext } from '../schema/context.js';
import { liveSubscription } from '../schema/field-policy.js';
import { LedgerEntryRef, LedgerFilterInput, PatchConstraintsInput, PatchStateCountRef, PatchPolicyRef, PatchRef, PatchRelationsInput, PolicyLevelEnum } from '../schema/patches.js';
import { ADMIN, OPERATE, REPORT, workerActor } from './scopes.js';

builder.queryFields((t) => ({
  patch: t.field({
    type: PatchRef,
    nullable: true,
    description: 'A patch by its global id; null when none has it.',
    args: { id: t.arg.id({ required: true, description: 'A Patch global id; any other kind of id is BAD_USER_INPUT.' }) },
    resolve: (_, args, ctx) => ctx.loaders.patch.load(parseId(args.id, 'Patch', 'id')),
  }),
  ledgerEntry: t.field({
    type: LedgerEntryRef,
    nullable: true,
    description: 'A ledger entry by its global id; null when none has it.',
    args: { id: t.arg.id({ required: true, description: 'A LedgerEntry global id (not its Patch id); any other kind of id is BAD_USER_INPUT.' }) },
    resolve: (_, args, ctx) => ctx.loaders.ledgerEntry.load(parseId(args.id, 'LedgerEntry', 'id')),
  }),
  patchLedger: t.connection(
    {
      type: LedgerEntryRef,
      description: 'Ledger entries, newest first.',
      args: { filter: t.arg({ type: LedgerFilterInput, description: 'Which entries to list; every entry when left out.' }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.patchQueries.ledger({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }, page);
        for (const { node } of result.edges) ctx.loaders.ledgerEntry.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'PatchLedgerConnection',
      description: 'A page of patch ledger entries, newest first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Entries matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'PatchLedgerEdge', description: 'A ledger entry and its cursor.' },
  ),
  patchLedgerCounts: t.field({
    type: [PatchStateCountRef],
    description:
      'How many ledger entries stand in each state: every state, zero included, in lifecycle order (CREATED, VALIDATED, QUEUED, APPLIED, APPLY_FAILED, VERIFIED, ' +
      'COMMITTED, ROLLED_BACK, QUARANTINED, DROPPED). The counts patchLedger(filter:) { totalCount } would give state by state, in one read.',
    args: { filter: t.arg({ type: LedgerFilterInput, description: 'Which entries to count; every entry when left out.' }) },
    extensions: { listSize: PATCH_STATES.length },
    resolve: (_, { filter }, ctx) => ctx.engine.patchQueries.countsByState({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }),
  }),
  patchPolicies: t.field({
    type: [PatchPolicyRef],
    description:
      "Every patch policy (with projectId: the global one and that project's project and phase policies), ordered by project, " +
      'each PROJECT policy before its PHASE ones; the GLOBAL one comes first.',
    args: { projectId: t.arg.string({ description: "Only the global policy and this project's." }) },
    resolve: (_, args, ctx) => ctx.engine.policies.list({ projectId: args.projectId }),
  }),
  effectivePatchPolicy: t.field({
    type: PatchPolicyRef,
    nullable: true,
    description: "The policy validation applies: the phase's, else the project's, else the global one; null when none is set (validation then uses the default constraints).",
    args: {
      projectId: t.arg.string({ required: true, description: 'The project whose patches are validated.' }),
      phaseId: t.arg.string({ description: "The patch's phase; left out, only the project's and the global policy are considered." }),
    },
    resolve: (_, args, ctx) => ctx.engine.policies.effective(args.projectId, args.phaseId ?? null),
  }),
}));

builder.relayMutationField(
  'createPatch',
  {
    description: 'A patch to record: its diff, where it is meant to go, and where it came from.',
    inputFields: (t) => ({
      projectId: t.string({ required: true, description: "The project it belongs to; with runId, it must be the run's project (else BAD_USER_INPUT)." }),
      runId: t.id({
        description: 'The Run global id of the run that produced it: its log records every transition, and its gates decide verification. NOT_FOUND when no run has it.',
      }),
      phaseId: t.string({ description: "The phase, which picks the effective policy at validation; defaults to the run's." }),
      workstreamId: t.string({ description: "Defaults to the run's." }),
      executionRequestId: t.string({
        description:
          "The execution request it serves: its request_id (the ULID LedgerEntry.executionRequestId shows) or its ExecutionRequest global id; defaults to the run's. " +
          "Given here, it must exist (else NOT_FOUND; BAD_USER_INPUT when it is not an id) and belong to the patch's project and run (else BAD_USER_INPUT); " +
          "validation then checks the diff against its resource scope instead of the run's.",
      }),
      targetRepo: t.string({ required: true, description: 'The repository it is meant for (at most 1,000 characters).' }),
      baseRef: t.string({ description: 'The branch or ref the diff was taken against (at most 1,000 characters).' }),
      baseCommit: t.string({ description: 'The commit the diff was taken against: 7 to 64 lower-case hex digits.' }),
      diffText: t.string({
        required: true,
        description:
          'A unified diff (git diff, format-patch or diff -u output; at most 20,000,000 characters); its scope is computed from it. ' +
          'Text that does not parse (or a combined merge diff) is BAD_USER_INPUT naming the line.',
      }),
      summary: t.string({ description: 'What the patch does, in free text (where requireIssueRef looks for an issue).' }),
      origin: t.field({
        type: 'JSON',
        description:
          'patch_artifact origin fields (snake_case: execution_request_id, prompt_id, phase_id, workstream_id, tool_id, tool_run_id); ' +
          'created_at is set by the gateway, and any other key is BAD_USER_INPUT.',
      }),
      relations: t.field({ type: PatchRelationsInput, description: 'The patches it replaces or rolls back, and its chain.' }),
      reviewers: t.stringList({ description: "Who reviewed it (a policy's minReviewers counts them)." }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'Records a patch and opens its ledger entry, CREATED (operate or worker scope; a WORKER-only token only on the run of a task one of its workers holds now, naming no execution request of another task, else FORBIDDEN). BAD_USER_INPUT for a diff that does not parse or a bad field; ' +
      'NOT_FOUND for an unknown run or execution request.',
    resolve: async (_, { input }, ctx) => {
      const { patch, entry } = await ctx.engine.patches.create(workerActor(ctx, true), {
        ...input,
        runId: parseOptionalId(input.runId, 'Run', 'runId'),
        executionRequestId: requestIdOf(input.executionRequestId),
        relations: input.relations && {
          chainId: input.relations.chainId,
          replacesPatchId: parseOptionalId(input.relations.replacesPatchId, 'Patch', 'relations.replacesPatchId'),
          rollbackOfPatchId: parseOptionalId(input.relations.rollbackOfPatchId, 'Patch', 'relations.rollbackOfPatchId'),
        },
      });
      return { patch, ledgerEntry: entry };
    },
  },
  {
    description: 'The recorded patch and its new ledger entry.',
    outputFields: (t) => ({
      patch: t.field({ type: PatchRef, description: 'The patch, with its computed scope.', resolve: (p) => p.patch }),
      ledgerEntry: t.field({ type: LedgerEntryRef, description: 'Its ledger entry, CREATED.', resolve: (p) => p.ledgerEntry }),
    }),
  },
);

/** Who may make the ledger transitions a worker makes on its own patch (validatePatch, queuePatch, recordPatchApply). */
const WORKER_OWN_PATCH =
  "Operate or worker scope; a WORKER-only token only on a patch whose run has a task one of its workers holds now (and that task's execution request, if the patch names one), else FORBIDDEN";

/** A ledger transition: input {ledgerId, ...}, payload {ledgerEntry}. */
function ledgerMutation<Extra extends object>(
  name: string,
  options: {
    description: string;
    /** The input type's description. */
    input: string;
    scopes: typeof OPERATE | typeof REPORT;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Pothos's input field builder, whose type names the input's own shape
    extra?: (t: any) => Record<string, unknown>;
    run: (ctx: GatewayContext, ledgerId: string, input: Extra) => Promise<LedgerEntry>;
  },
) {
  builder.relayMutationField(
    name,
    {
      description: options.input,
      inputFields: (t) => ({
        ledgerId: t.id({
          required: true,
          description: 'The LedgerEntry global id (not its Patch id): any other kind of id is BAD_USER_INPUT, one that names no entry NOT_FOUND.',
        }),
        ...(options.extra?.(t) ?? {}),
      }),
    },
    {
      authScopes: options.scopes,
      description: options.description,
      resolve: async (_, { input }, ctx) => ({
        ledgerEntry: await options.run(ctx, parseId(input.ledgerId as string, 'LedgerEntry', 'ledgerId'), input as unknown as Extra),
      }),
    },
    {
      description: `The ledger entry after ${name}.`,
      outputFields: (t) => ({
        ledgerEntry: t.field({ type: LedgerEntryRef, description: 'The ledger entry, in its new state.', resolve: (p) => p.ledgerEntry }),
      }),
    },
  );
}

ledgerMutation('validatePatch', {
  description:
    "CREATED -> VALIDATED when format, the run's resource scope and the effective policy all hold; else -> APPLY_FAILED with validationErrors " +
    `(not an error). ${WORKER_OWN_PATCH}; INVALID_TRANSITION unless CREATED.`,
  input: 'The ledger entry to validate.',
  scopes: REPORT,
  run: (ctx, id) => ctx.engine.patches.validate(workerActor(ctx, true), id),
});
ledgerMutation('queuePatch', {
  description: `VALIDATED -> QUEUED, ready for an apply attempt. ${WORKER_OWN_PATCH}; INVALID_TRANSITION from any other state.`,
  input: 'The ledger entry to queue.',
  scopes: REPORT,
  run: (ctx, id) => ctx.engine.patches.queue(workerActor(ctx, true), id),
});
ledgerMutation('retryPatch', {
  description: 'APPLY_FAILED -> QUEUED for another apply attempt. Operate scope; INVALID_TRANSITION from any other state.',
  input: 'The ledger entry to queue again.',
  scopes: OPERATE,
  run: (ctx, id) => ctx.engine.patches.retry(id),
});
ledgerMutation('commitPatch', {
  description: 'VERIFIED -> COMMITTED, final; refused while a gate of its run is open (GATES_PENDING) or did not pass (GATES_FAILED). ' + 'Operate scope; INVALID_TRANSITION unless VERIFIED.',
  input: 'The ledger entry to commit.',
  scopes: OPERATE,
  run: (ctx, id) => ctx.engine.patches.commit(id),
});
ledgerMutation<{ success: boolean; workspacePath?: string | null; appliedFiles?: string[] | null; errorCode?: string | null; errorMessage?: string | null }>('recordPatchApply', {
  description:
    `Counts an apply attempt of a QUEUED patch: -> APPLIED with its files, or -> APPLY_FAILED with its error. ${WORKER_OWN_PATCH}; ` +
    'INVALID_TRANSITION unless QUEUED, BAD_USER_INPUT for a failure with neither errorCode nor errorMessage.',
  input: 'The outcome of one apply attempt.',
  scopes: REPORT,
  extra: (t) => ({
    success: t.boolean({ required: true, description: 'Whether the patch applied: true -> APPLIED, false -> APPLY_FAILED.' }),
    workspacePath: t.string({ description: 'Where it was applied (at most 4,096 characters); left out, the one reported before is kept.' }),
    appliedFiles: t.stringList({ description: 'On success, the files written (each at most 4,096 characters); ignored on failure.' }),
    errorCode: t.string({ description: 'On failure, a short error code (at most 200 characters); ignored on success.' }),
    errorMessage: t.string({ description: 'On failure, what went wrong; a failure needs this or errorCode. Ignored on success.' }),
  }),
  run: (ctx, ledgerId, input) => ctx.engine.patches.recordApply(workerActor(ctx, true), { ...input, ledgerId }),
});
ledgerMutation<{ testsPassed?: boolean | null }>('verifyPatch', {
  description:
    'APPLIED -> VERIFIED or APPLY_FAILED. A run with gates decides (all passed, or one did not; GATES_PENDING while one is open); only a run without gates takes testsPassed. ' +
    'Operate scope; INVALID_TRANSITION unless APPLIED.',
  input: 'The applied ledger entry to judge, and (without gates) whether its tests passed.',
  scopes: OPERATE,
  extra: (t) => ({
    testsPassed: t.boolean({
      description: 'Whether the tests passed: required (else BAD_USER_INPUT) when the patch has no run or its run has no gates, ignored otherwise.',
    }),
  }),
  run: (ctx, ledgerId, input) => ctx.engine.patches.verify({ ledgerId, testsPassed: input.testsPassed }),
});
ledgerMutation<{ reason: string }>('rollbackPatch', {
  description: 'APPLIED or VERIFIED -> ROLLED_BACK, final. Operate scope; INVALID_TRANSITION from any other state.',
  input: 'The ledger entry to roll back, and why.',
  scopes: OPERATE,
  extra: (t) => ({ reason: t.string({ required: true, description: 'Why; recorded in stateHistory (at most 1,000,000 characters).' }) }),
  run: (ctx, id, input) => ctx.engine.patches.rollback(id, input.reason),
});
ledgerMutation<{ reason: string }>('dropPatch', {
  description: 'Any state but COMMITTED, ROLLED_BACK and DROPPED -> DROPPED, final. Operate scope; INVALID_TRANSITION from those.',
  input: 'The ledger entry to drop, and why.',
  scopes: OPERATE,
  extra: (t) => ({ reason: t.string({ required: true, description: 'Why; recorded in stateHistory (at most 1,000,000 characters).' }) }),
  run: (ctx, id, input) => ctx.engine.patches.drop(id, input.reason),
});
ledgerMutation<{ reason: string; quarantinePath?: string | null }>('quarantinePatch', {
  description:
    'Sets the patch aside (-> QUARANTINED) with a reason, recorded in quarantine; only dropPatch may follow. ' +
    'Operate scope; INVALID_TRANSITION when already QUARANTINED, COMMITTED, ROLLED_BACK or DROPPED.',
  input: 'The ledger entry to quarantine, why, and where it was put.',
  scopes: OPERATE,
  extra: (t) => ({
    reason: t.string({ required: true, description: 'Why; recorded in quarantine and stateHistory (at most 1,000,000 characters).' }),
    quarantinePath: t.string({ description: 'Where the patch was put aside (at most 4,096 characters).' }),
  }),
  run: (ctx, ledgerId, input) => ctx.engine.patches.quarantine({ ...input, ledgerId }),
});

builder.relayMutationField(
  'setPatchPolicy',
  {
    description: "A policy's level, place and constraints.",
    inputFields: (t) => ({
      level: t.field({ type: PolicyLevelEnum, required: true, description: 'Where the policy applies.' }),
      projectId: t.string({ description: 'Required for PROJECT and PHASE; left out for GLOBAL.' }),
      phaseId: t.string({ description: 'Required for PHASE; left out otherwise.' }),
      constraints: t.field({
        type: PatchConstraintsInput,
        required: true,
        description: "The whole constraint set: any left out take their defaults, not the current policy's values.",
      }),
    }),
  },
  {
    authScopes: ADMIN,
    description:
      'Creates or replaces (constraints and all) the policy of one level and place. Admin scope; BAD_USER_INPUT when projectId or phaseId ' +
      'does not fit the level, or a constraint is out of range.',
    resolve: async (_, { input }, ctx) => ({ policy: await ctx.engine.policies.set(input) }),
  },
  {
    description: 'The policy as set.',
    outputFields: (t) => ({
      policy: t.field({ type: PatchPolicyRef, description: 'The policy, its constraints with the defaults filled in.', resolve: (p) => p.policy }),
    }),
  },
);

builder.subscriptionField('patchStateChanged', (t) =>
  t.field({
    ...liveSubscription(LedgerEntryRef),
    description: 'Each ledger entry when it is created and each time it changes state (as it stands when delivered), filtered on the server; ' + 'without arguments, every entry.',
    args: {
      projectId: t.arg.id({ description: 'Only entries of this project (a project id, not a global id).' }),
      runId: t.arg.id({ description: 'Only entries of this run (a Run global id; any other kind of id is BAD_USER_INPUT).' }),
    },
    subscribe: (_, args, ctx) => ctx.engine.patches.stateChanges({ projectId: args.projectId, runId: parseOptionalId(args.runId, 'Run', 'runId') }),
  }),
);

/** An execution request as createPatch names it (its request_id, or its ExecutionRequest global id): its request_id. */
function requestIdOf(value: string | null | undefined): string | null | undefined {
  return value == null || isUlid(value) ? value : parseId(value, 'ExecutionRequest', 'executionRequestId');
}

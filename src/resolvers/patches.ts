import type { LedgerEntry } from '../engine/db/patch-entities.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import type { GatewayContext } from '../schema/context.js';
import { refreshLoaders } from '../schema/loaders.js';
import {
  LedgerEntryRef,
  LedgerFilterInput,
  PatchConstraintsInput,
  PatchPolicyRef,
  PatchRef,
  PatchRelationsInput,
  PolicyLevelEnum,
} from '../schema/patches.js';
import { ADMIN, OPERATE, REPORT } from './scopes.js';

builder.queryFields((t) => ({
  patch: t.field({
    type: PatchRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.patch.load(parseId(args.id, 'Patch', 'id')),
  }),
  ledgerEntry: t.field({
    type: LedgerEntryRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.ledgerEntry.load(parseId(args.id, 'LedgerEntry', 'id')),
  }),
  patchLedger: t.connection(
    {
      type: LedgerEntryRef,
      description: 'Ledger entries, newest first.',
      args: { filter: t.arg({ type: LedgerFilterInput }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.patchQueries.ledger({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') }, page);
        for (const { node } of result.edges) ctx.loaders.ledgerEntry.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'PatchLedgerConnection',
      fields: (c) => ({ totalCount: c.int({ description: 'Entries matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'PatchLedgerEdge' },
  ),
  patchPolicies: t.field({
    type: [PatchPolicyRef],
    description: "Every patch policy (with projectId: that project's and the global one).",
    args: { projectId: t.arg.string() },
    resolve: (_, args, ctx) => ctx.engine.policies.list({ projectId: args.projectId }),
  }),
  effectivePatchPolicy: t.field({
    type: PatchPolicyRef,
    nullable: true,
    description: "The policy validation applies: the phase's, else the project's, else the global one; null when none is set.",
    args: { projectId: t.arg.string({ required: true }), phaseId: t.arg.string() },
    resolve: (_, args, ctx) => ctx.engine.policies.effective(args.projectId, args.phaseId ?? null),
  }),
}));

builder.relayMutationField(
  'createPatch',
  {
    inputFields: (t) => ({
      projectId: t.string({ required: true }),
      runId: t.id({ description: 'The run that produced it: its log records every transition, and its gates decide verification.' }),
      phaseId: t.string({ description: "Defaults to the run's." }),
      workstreamId: t.string(),
      executionRequestId: t.string(),
      targetRepo: t.string({ required: true }),
      baseRef: t.string(),
      baseCommit: t.string(),
      diffText: t.string({ required: true, description: 'A unified diff (git diff output included); its scope is computed from it.' }),
      summary: t.string(),
      origin: t.field({ type: 'JSON', description: 'patch_artifact origin fields (snake_case); created_at is set by the gateway.' }),
      relations: t.field({ type: PatchRelationsInput }),
      reviewers: t.stringList({ description: "Who reviewed it (a policy's minReviewers counts them)." }),
    }),
  },
  {
    authScopes: REPORT,
    description: 'Records a patch and opens its ledger entry, CREATED.',
    resolve: async (_, { input }, ctx) => {
      const { patch, entry } = await ctx.engine.patches.create({
        ...input,
        runId: parseOptionalId(input.runId, 'Run', 'runId'),
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
    outputFields: (t) => ({
      patch: t.field({ type: PatchRef, resolve: (p) => p.patch }),
      ledgerEntry: t.field({ type: LedgerEntryRef, resolve: (p) => p.ledgerEntry }),
    }),
  },
);

/** A ledger transition: input {ledgerId, ...}, payload {ledgerEntry}. */
function ledgerMutation<Extra extends object>(
  name: string,
  options: {
    description: string;
    scopes: typeof OPERATE | typeof REPORT;
    extra?: (t: any) => Record<string, unknown>;
    run: (ctx: GatewayContext, ledgerId: string, input: Extra) => Promise<LedgerEntry>;
  },
) {
  builder.relayMutationField(
    name,
    { inputFields: (t) => ({ ledgerId: t.id({ required: true }), ...(options.extra?.(t) ?? {}) }) },
    {
      authScopes: options.scopes,
      description: options.description,
      resolve: async (_, { input }, ctx) => ({
        ledgerEntry: await options.run(ctx, parseId(input.ledgerId as string, 'LedgerEntry', 'ledgerId'), input as unknown as Extra),
      }),
    },
    { outputFields: (t) => ({ ledgerEntry: t.field({ type: LedgerEntryRef, resolve: (p) => p.ledgerEntry }) }) },
  );
}

ledgerMutation('validatePatch', {
  description: "CREATED -> VALIDATED when format, the run's resource scope and the effective policy all hold; else -> APPLY_FAILED with validationErrors.",
  scopes: OPERATE,
  run: (ctx, id) => ctx.engine.patches.validate(id),
});
ledgerMutation('queuePatch', { description: 'VALIDATED -> QUEUED.', scopes: OPERATE, run: (ctx, id) => ctx.engine.patches.queue(id) });
ledgerMutation('retryPatch', { description: 'APPLY_FAILED -> QUEUED.', scopes: OPERATE, run: (ctx, id) => ctx.engine.patches.retry(id) });
ledgerMutation('commitPatch', {
  description: 'VERIFIED -> COMMITTED; refused while a gate of its run is open (GATES_PENDING) or did not pass (GATES_FAILED).',
  scopes: OPERATE,
  run: (ctx, id) => ctx.engine.patches.commit(id),
});
ledgerMutation<{ success: boolean; workspacePath?: string | null; appliedFiles?: string[] | null; errorCode?: string | null; errorMessage?: string | null }>(
  'recordPatchApply',
  {
    description: 'Counts an apply attempt of a QUEUED patch: -> APPLIED with its files, or -> APPLY_FAILED with its error.',
    scopes: REPORT,
    extra: (t) => ({
      success: t.boolean({ required: true }),
      workspacePath: t.string(),
      appliedFiles: t.stringList(),
      errorCode: t.string(),
      errorMessage: t.string(),
    }),
    run: (ctx, ledgerId, input) => ctx.engine.patches.recordApply({ ...input, ledgerId }),
  },
);
ledgerMutation<{ testsPassed?: boolean | null }>('verifyPatch', {
  description:
    "APPLIED -> VERIFIED or APPLY_FAILED. A run with gates decides (all passed, or one did not; GATES_PENDING while one is open); only a run without gates takes testsPassed.",
  scopes: OPERATE,
  extra: (t) => ({ testsPassed: t.boolean() }),
  run: (ctx, ledgerId, input) => ctx.engine.patches.verify({ ledgerId, testsPassed: input.testsPassed }),
});
ledgerMutation<{ reason: string }>('rollbackPatch', {
  description: 'APPLIED or VERIFIED -> ROLLED_BACK.',
  scopes: OPERATE,
  extra: (t) => ({ reason: t.string({ required: true }) }),
  run: (ctx, id, input) => ctx.engine.patches.rollback(id, input.reason),
});
ledgerMutation<{ reason: string }>('dropPatch', {
  description: 'Any non-final state -> DROPPED.',
  scopes: OPERATE,
  extra: (t) => ({ reason: t.string({ required: true }) }),
  run: (ctx, id, input) => ctx.engine.patches.drop(id, input.reason),
});
ledgerMutation<{ reason: string; quarantinePath?: string | null }>('quarantinePatch', {
  description: 'Sets the patch aside (QUARANTINED) with a reason; only dropping it follows.',
  scopes: OPERATE,
  extra: (t) => ({ reason: t.string({ required: true }), quarantinePath: t.string() }),
  run: (ctx, ledgerId, input) => ctx.engine.patches.quarantine({ ...input, ledgerId }),
});

builder.relayMutationField(
  'setPatchPolicy',
  {
    inputFields: (t) => ({
      level: t.field({ type: PolicyLevelEnum, required: true }),
      projectId: t.string({ description: 'For PROJECT and PHASE.' }),
      phaseId: t.string({ description: 'For PHASE.' }),
      constraints: t.field({ type: PatchConstraintsInput, required: true }),
    }),
  },
  {
    authScopes: ADMIN,
    description: 'Creates or replaces the policy of one level and place.',
    resolve: async (_, { input }, ctx) => ({ policy: await ctx.engine.policies.set(input) }),
  },
  { outputFields: (t) => ({ policy: t.field({ type: PatchPolicyRef, resolve: (p) => p.policy }) }) },
);

builder.subscriptionField('patchStateChanged', (t) =>
  t.field({
    type: LedgerEntryRef,
    description: 'Ledger entries as they are created and change state, filtered on the server.',
    args: { projectId: t.arg.id(), runId: t.arg.id() },
    subscribe: (_, args, ctx) =>
      ctx.engine.patches.stateChanges({ projectId: args.projectId, runId: parseOptionalId(args.runId, 'Run', 'runId') }),
    resolve: (entry, _, ctx) => {
      refreshLoaders(ctx);
      return entry;
    },
  }),
);

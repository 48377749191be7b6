import type { CostFilter } from '../engine/costs/cost-queries.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import {
  BudgetActionEnum,
  BudgetAlertRef,
  BudgetFilterInput,
  BudgetRef,
  BudgetScopeEnum,
  CostFilterInput,
  CostMetadataInput,
  CostRecordRef,
  CurrencySpendRef,
  ResourceTypeEnum,
  UsageInput,
} from '../schema/costs.js';
import { refreshLoaders } from '../schema/loaders.js';
import { ADMIN, REPORT } from './scopes.js';

type FilterArg = { runId?: string | null; from?: Date | null; to?: Date | null } & Omit<CostFilter, 'runId' | 'from' | 'to'>;
const costFilter = (filter: FilterArg | null | undefined): CostFilter => ({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') });

builder.queryFields((t) => ({
  cost: t.field({
    type: CostRecordRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_, args, ctx) => ctx.loaders.cost.load(parseId(args.id, 'CostRecord', 'id')),
  }),
  costs: t.connection(
    {
      type: CostRecordRef,
      description: 'Cost records, newest first.',
      args: { filter: t.arg({ type: CostFilterInput }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.costQueries.list(costFilter(filter), page);
        for (const { node } of result.edges) ctx.loaders.cost.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'CostRecordConnection',
      fields: (c) => ({ totalCount: c.int({ description: 'Records matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'CostRecordEdge' },
  ),
  costSummary: t.field({
    type: [CurrencySpendRef],
    description: 'Spend per currency with its breakdowns, all summed by the database, exactly.',
    args: { filter: t.arg({ type: CostFilterInput }) },
    resolve: async (_, args, ctx) => {
      const filter = costFilter(args.filter);
      const shared = new Map();
      return (await ctx.engine.costQueries.totals(filter)).map((total) => ({ ...total, filter, shared }));
    },
  }),
  budgets: t.field({
    type: [BudgetRef],
    args: { filter: t.arg({ type: BudgetFilterInput }) },
    resolve: (_, args, ctx) => ctx.engine.costs.list({ projectId: args.filter?.projectId, runId: parseOptionalId(args.filter?.runId, 'Run', 'filter.runId') }),
  }),
}));

builder.relayMutationField(
  'recordCost',
  {
    inputFields: (t) => ({
      runId: t.id({ description: "The run it belongs to (its project is the run's)." }),
      executionRequestId: t.id({ description: 'The task attempt it was spent on.' }),
      projectId: t.string({ description: 'Needed when no run is given.' }),
      resourceType: t.field({ type: ResourceTypeEnum, required: true }),
      resourceName: t.string(),
      amount: t.field({ type: 'Decimal', description: 'Exact, >= 0; or give usage and it is quantity x rate.' }),
      currency: t.string({ required: true, description: 'ISO 4217: three upper-case letters.' }),
      usage: t.field({ type: UsageInput }),
      metadata: t.field({ type: CostMetadataInput }),
    }),
  },
  {
    authScopes: REPORT,
    description: 'Records a cost and counts it against the budgets of its run and project; crossing a threshold is announced once.',
    resolve: async (_, { input }, ctx) => ({
      cost: await ctx.engine.costs.record({
        ...input,
        runId: parseOptionalId(input.runId, 'Run', 'runId'),
        executionRequestId: parseOptionalId(input.executionRequestId, 'ExecutionRequest', 'executionRequestId'),
      }),
    }),
  },
  { outputFields: (t) => ({ cost: t.field({ type: CostRecordRef, resolve: (p) => p.cost }) }) },
);

builder.relayMutationField(
  'setBudget',
  {
    inputFields: (t) => ({
      scope: t.field({ type: BudgetScopeEnum, required: true }),
      projectId: t.string(),
      runId: t.id(),
      currency: t.string({ required: true }),
      limit: t.field({ type: 'Decimal', required: true }),
      thresholds: t.intList({ description: 'Percentages of the limit to announce; [80, 100] when not given.' }),
      action: t.field({ type: BudgetActionEnum, required: true }),
    }),
  },
  {
    authScopes: ADMIN,
    description: 'Creates or replaces the budget of a project or run in one currency; what was already spent counts at once.',
    resolve: async (_, { input }, ctx) => ({
      budget: await ctx.engine.costs.set({ ...input, runId: parseOptionalId(input.runId, 'Run', 'runId') }),
    }),
  },
  { outputFields: (t) => ({ budget: t.field({ type: BudgetRef, resolve: (p) => p.budget }) }) },
);

builder.subscriptionField('costRecorded', (t) =>
  t.field({
    type: CostRecordRef,
    description: 'Cost records as they are recorded, filtered on the server.',
    args: { projectId: t.arg.id(), runId: t.arg.id() },
    subscribe: (_, args, ctx) => ctx.engine.costs.recorded({ projectId: args.projectId, runId: parseOptionalId(args.runId, 'Run', 'runId') }),
    resolve: (cost, _, ctx) => {
      refreshLoaders(ctx);
      return cost;
    },
  }),
);

builder.subscriptionField('budgetAlerts', (t) =>
  t.field({
    type: BudgetAlertRef,
    description: 'One event per budget threshold crossed (each crossed once), filtered on the server.',
    args: { projectId: t.arg.id() },
    subscribe: (_, args, ctx) => ctx.engine.costs.alerts({ projectId: args.projectId }),
    resolve: (alert, _, ctx) => {
      refreshLoaders(ctx);
      return alert;
    },
  }),
);

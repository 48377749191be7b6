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
import { liveSubscription } from '../schema/field-policy.js';
import { ADMIN, REPORT, workerActor } from './scopes.js';

type FilterArg = { runId?: string | null; from?: Date | null; to?: Date | null } & Omit<CostFilter, 'runId' | 'from' | 'to'>;
const costFilter = (filter: FilterArg | null | undefined): CostFilter => ({ ...filter, runId: parseOptionalId(filter?.runId, 'Run', 'filter.runId') });

builder.queryFields((t) => ({
  cost: t.field({
    type: CostRecordRef,
    nullable: true,
    description: 'One cost record by its global id; null when none has that id.',
    args: { id: t.arg.id({ required: true, description: 'A CostRecord id; an id of another type is BAD_USER_INPUT.' }) },
    resolve: (_, args, ctx) => ctx.loaders.cost.load(parseId(args.id, 'CostRecord', 'id')),
  }),
  costs: t.connection(
    {
      type: CostRecordRef,
      description: 'Cost records, newest first.',
      args: { filter: t.arg({ type: CostFilterInput, description: 'Only the records that match; all records when not given.' }) },
      resolve: async (_, { filter, ...page }, ctx) => {
        const result = await ctx.engine.costQueries.list(costFilter(filter), page);
        for (const { node } of result.edges) ctx.loaders.cost.prime(node.id, node);
        return result;
      },
    },
    {
      name: 'CostRecordConnection',
      description: 'A page of cost records, newest first.',
      fields: (c) => ({ totalCount: c.int({ description: 'Records matching the filter.', resolve: (conn) => conn.totalCount() }) }),
    },
    { name: 'CostRecordEdge', description: 'One cost record of a page, with its cursor.' },
  ),
  costSummary: t.field({
    type: [CurrencySpendRef],
    description: 'Spend per currency with its breakdowns, all summed by the database, exactly.',
    args: {
      filter: t.arg({
        type: CostFilterInput,
        description: 'Only the costs that match; all costs when not given. No matching cost: an empty list.',
      }),
    },
    resolve: async (_, args, ctx) => {
      const filter = costFilter(args.filter);
      const shared = new Map();
      return (await ctx.engine.costQueries.totals(filter)).map((total) => ({ ...total, filter, shared }));
    },
  }),
  budgets: t.field({
    type: [BudgetRef],
    description: 'Budgets, oldest first.',
    args: { filter: t.arg({ type: BudgetFilterInput, description: 'Only the budgets that match; all budgets when not given.' }) },
    resolve: (_, args, ctx) => ctx.engine.costs.list({ projectId: args.filter?.projectId, runId: parseOptionalId(args.filter?.runId, 'Run', 'filter.runId') }),
  }),
}));

builder.relayMutationField(
  'recordCost',
  {
    description: 'A cost to record: for a run or a project, with an amount or the usage it is priced from.',
    inputFields: (t) => ({
      runId: t.id({ description: "The run it belongs to, a Run id (its project is the run's)." }),
      executionRequestId: t.id({ description: 'The task attempt it was spent on, an ExecutionRequest id.' }),
      projectId: t.string({ description: "Needed when no run is given; with a run it must be the run's project." }),
      resourceType: t.field({ type: ResourceTypeEnum, required: true, description: 'What kind of resource it paid for.' }),
      resourceName: t.string({ description: 'Which resource, e.g. a provider or tool name.' }),
      amount: t.field({
        type: 'Decimal',
        description: 'Exact, >= 0, at most 9 decimal places; or give usage and it is quantity x rate (given both, they must agree).',
      }),
      currency: t.string({ required: true, description: 'ISO 4217: three upper-case letters.' }),
      usage: t.field({ type: UsageInput, description: 'The metered usage it is priced from; needed when no amount is given.' }),
      metadata: t.field({ type: CostMetadataInput, description: 'Model, tokens and duration, where known.' }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'Records a cost (operate or worker scope; a WORKER-only token only on the run of a task one of its workers holds now, naming no execution request of another task, never for a project alone, and at most UET_WORKER_COST_PER_TASK (100 by default, all currencies summed) through one task, else FORBIDDEN) and counts it against the budgets of its run and project in its currency; crossing a threshold is announced once, and a HALT budget at 100 % stops the run. ' +
      'BAD_USER_INPUT for an invalid amount, currency or project, NOT_FOUND for an unknown run.',
    resolve: async (_, { input }, ctx) => ({
      cost: await ctx.engine.costs.record(workerActor(ctx, true), {
        ...input,
        runId: parseOptionalId(input.runId, 'Run', 'runId'),
        executionRequestId: parseOptionalId(input.executionRequestId, 'ExecutionRequest', 'executionRequestId'),
      }),
    }),
  },
  {
    description: 'The result of recordCost.',
    outputFields: (t) => ({ cost: t.field({ type: CostRecordRef, description: 'The cost recorded.', resolve: (p) => p.cost }) }),
  },
);

builder.relayMutationField(
  'setBudget',
  {
    description: 'A budget to create or replace: its place (a project or a run), currency, limit, thresholds and action.',
    inputFields: (t) => ({
      scope: t.field({ type: BudgetScopeEnum, required: true, description: 'Whether it counts the costs of a project or of one run.' }),
      projectId: t.string({ description: "The project: required for PROJECT; for RUN optional, and then it must be the run's project." }),
      runId: t.id({ description: 'The run, a Run id: required for RUN, refused for PROJECT.' }),
      currency: t.string({ required: true, description: 'ISO 4217: three upper-case letters; only costs in this currency count.' }),
      limit: t.field({
        type: 'Decimal',
        required: true,
        description:
          'The most it may spend, in its currency: more than 0, at most 9 decimal places, at most 922337203.68547758 ' +
          '(a tenth of the largest 64-bit integer of nano-units, so that sums of spend cannot overflow); else BAD_USER_INPUT.',
      }),
      thresholds: t.intList({
        description: 'Percentages of the limit to announce, whole numbers from 1 to 1000 (duplicates dropped); [80, 100] when not given. A HALT budget announces 100 % in any case.',
      }),
      action: t.field({
        type: BudgetActionEnum,
        required: true,
        description: 'NOTIFY only announces; HALT also stops spending at 100 % (turning a spent budget to HALT halts, and announces it, at once).',
      }),
    }),
  },
  {
    authScopes: ADMIN,
    description:
      'Creates or replaces the budget of a project or run in one currency (admin scope); what was already spent counts at once, so thresholds already reached are announced (and a HALT budget halts) right away. ' +
      'BAD_USER_INPUT for invalid input, NOT_FOUND for an unknown run.',
    resolve: async (_, { input }, ctx) => ({
      budget: await ctx.engine.costs.set({ ...input, runId: parseOptionalId(input.runId, 'Run', 'runId') }),
    }),
  },
  {
    description: 'The result of setBudget.',
    outputFields: (t) => ({ budget: t.field({ type: BudgetRef, description: 'The budget as set, its spend already counted.', resolve: (p) => p.budget }) }),
  },
);

builder.subscriptionField('costRecorded', (t) =>
  t.field({
    ...liveSubscription(CostRecordRef),
    description: 'Cost records as they are recorded, filtered on the server.',
    args: {
      projectId: t.arg.id({ description: 'Only costs of this project (its name, not a global id).' }),
      runId: t.arg.id({ description: 'Only costs of this run (a Run id).' }),
    },
    subscribe: (_, args, ctx) => ctx.engine.costs.recorded({ projectId: args.projectId, runId: parseOptionalId(args.runId, 'Run', 'runId') }),
  }),
);

builder.subscriptionField('budgetAlerts', (t) =>
  t.field({
    ...liveSubscription(BudgetAlertRef),
    description: 'One event per budget threshold crossed (each crossed once), filtered on the server.',
    args: { projectId: t.arg.id({ description: "Only alerts of this project's budgets, its runs' budgets included (its name, not a global id)." }) },
    subscribe: (_, args, ctx) => ctx.engine.costs.alerts({ projectId: args.projectId }),
  }),
);

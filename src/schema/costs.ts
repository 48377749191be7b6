import type { Budget } from '../engine/budgets/entities.js';
import type { CostRecord } from '../engine/costs/entities.js';
import { formatNanos } from '../engine/budgets/money.js';
import type { BudgetAlert } from '../engine/costs/cost-service.js';
import { MAX_SERIES_BUCKETS, type Bucket, type CostFilter, type Spend } from '../engine/costs/cost-queries.js';
import { builder, encodeGlobalId } from './builder.js';
import { RunRef } from './runs.js';

export const ResourceTypeEnum = builder.enumType('ResourceType', {
  description: 'What kind of resource a cost paid for.',
  values: {
    API_CALL: { value: 'api_call', description: 'A call to a paid API, such as a model provider (tokens in metadata).' },
    COMPUTE_TIME: { value: 'compute_time', description: 'Compute time, such as CPU or GPU seconds.' },
    STORAGE: { value: 'storage', description: 'Stored data, such as artifacts or logs.' },
    NETWORK: { value: 'network', description: 'Data transfer.' },
    TOOL_USAGE: { value: 'tool_usage', description: 'Use of a tool, such as a licensed CLI or a hosted service billed per call.' },
    CUSTOM: { value: 'custom', description: 'Anything else; say what in resourceName.' },
  } as const,
});

export const BudgetScopeEnum = builder.enumType('BudgetScope', {
  description: 'What a budget counts: the costs of a whole project or of one run.',
  values: {
    PROJECT: { value: 'project', description: "Every cost of the project in the budget's currency, with or without a run." },
    RUN: { value: 'run', description: "The costs of one run in the budget's currency." },
  } as const,
});

export const BudgetActionEnum = builder.enumType('BudgetAction', {
  description: 'What a budget does besides announcing its thresholds.',
  values: {
    NOTIFY: { value: 'notify', description: 'Announce each threshold crossed.' },
    HALT: {
      value: 'halt',
      description:
        'Announce, and at 100 % cancel the run (a project budget: its active runs); new steps and tasks for them are refused with BUDGET_EXCEEDED. ' +
        '100 % is always announced for a HALT budget (with halted true), even when its thresholds leave it out.',
    },
  } as const,
});

export const CostBucketEnum = builder.enumType('CostBucket', {
  description: 'The width of one bucket of a spend time series (UTC).',
  values: {
    HOUR: { value: 'hour', description: 'One hour, starting on the hour (UTC).' },
    DAY: { value: 'day', description: 'One day, starting at midnight UTC.' },
  } as const,
});

export const CostRecordRef = builder.objectRef<CostRecord>('CostRecord');

const UsageRef = builder.objectRef<NonNullable<CostRecord['usage']>>('CostUsage').implement({
  description: 'The metered usage behind a cost: its amount is quantity x rate, exactly.',
  fields: (t) => ({
    quantity: t.field({ type: 'Decimal', description: 'How many units were used.', resolve: (u) => u.quantity }),
    unit: t.exposeString('unit', { description: 'The unit counted, as the reporter named it (e.g. "tokens", "seconds").' }),
    rate: t.field({ type: 'Decimal', description: "The price of one unit, in the cost's currency.", resolve: (u) => u.rate }),
  }),
});

const CostMetadataRef = builder.objectRef<CostRecord['metadata']>('CostMetadata').implement({
  description: 'Optional details of a cost; each field is null when the reporter did not give it.',
  fields: (t) => ({
    model: t.string({
      nullable: true,
      description: 'The model the cost was spent on (what spend by model groups on).',
      resolve: (m) => (m.model as string | undefined) ?? null,
    }),
    tokensInput: t.int({ nullable: true, description: 'Input (prompt) tokens.', resolve: (m) => (m.tokens_input as number | undefined) ?? null }),
    tokensOutput: t.int({ nullable: true, description: 'Output (completion) tokens.', resolve: (m) => (m.tokens_output as number | undefined) ?? null }),
    durationSeconds: t.float({
      nullable: true,
      description: 'How long the call or work took, in seconds.',
      resolve: (m) => (m.duration_seconds as number | undefined) ?? null,
    }),
  }),
});

builder.node(CostRecordRef, {
  description: 'What one call or run cost (docs/domain.md#costs-and-budgets).',
  id: { resolve: (cost) => cost.id },
  loadOne: (id, ctx) => ctx.loaders.cost.load(id),
  fields: (t) => ({
    run: t.field({
      type: RunRef,
      nullable: true,
      description: 'The run it was spent in; null for a cost recorded against a project only.',
      resolve: (c, _, ctx) => (c.runId ? ctx.loaders.run.load(c.runId) : null),
    }),
    projectId: t.exposeString('projectId', { nullable: true, description: "The project it counts against (its run's project when it has a run)." }),
    executionRequestId: t.exposeString('executionRequestId', { nullable: true, description: 'The execution request (ULID) of the attempt it was spent on.' }),
    resourceType: t.expose('resourceType', { type: ResourceTypeEnum, description: 'What kind of resource it paid for.' }),
    resourceName: t.exposeString('resourceName', { nullable: true, description: 'Which resource, as the reporter named it (e.g. a provider or tool); null when not given.' }),
    amount: t.field({ type: 'Decimal', description: 'What it cost in its currency, exactly (>= 0, at most 9 decimal places).', resolve: (c) => formatNanos(BigInt(c.amountNanos)) }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code of the amount (e.g. "USD"); amounts in different currencies are never converted.' }),
    usage: t.field({ type: UsageRef, nullable: true, description: 'The usage it was priced from; null when an amount was given without usage.', resolve: (c) => c.usage ?? null }),
    recordedAt: t.expose('recordedAt', { type: 'DateTime', description: 'When the server recorded it.' }),
    metadata: t.field({ type: CostMetadataRef, description: 'Model, tokens and duration, where reported.', resolve: (c) => c.metadata }),
  }),
});

/** Without `last`: a week of hours and more, or over half a year of days. */
const DEFAULT_SERIES_BUCKETS = 200;

const money = (spend: Spend) => formatNanos(BigInt(spend.totalNanos));

const ResourceSpendRef = builder.objectRef<Spend & { key: string | null }>('ResourceTypeSpend').implement({
  description: 'Spend on one resource type, in the currency of the summary it belongs to.',
  fields: (t) => ({
    resourceType: t.field({ type: ResourceTypeEnum, description: 'The resource type.', resolve: (s) => s.key as CostRecord['resourceType'] }),
    total: t.field({ type: 'Decimal', description: 'The sum of its costs, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
  }),
});

const ModelSpendRef = builder.objectRef<Spend & { key: string | null }>('ModelSpend').implement({
  description: 'Spend on one model (metadata.model), in the currency of the summary it belongs to.',
  fields: (t) => ({
    model: t.string({ nullable: true, description: 'Null: costs that name no model.', resolve: (s) => s.key }),
    total: t.field({ type: 'Decimal', description: 'The sum of its costs, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
  }),
});

const RunSpendRef = builder.objectRef<Spend & { key: string }>('RunSpend').implement({
  description: 'Spend of one run, in the currency of the summary it belongs to.',
  fields: (t) => ({
    run: t.field({ type: RunRef, description: 'The run.', resolve: async (s, _, ctx) => (await ctx.loaders.run.load(s.key))! }),
    total: t.field({ type: 'Decimal', description: 'The sum of its costs, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
  }),
});

const ProjectSpendRef = builder.objectRef<Spend & { key: string }>('ProjectSpend').implement({
  description: 'Spend of one project, in the currency of the summary it belongs to.',
  fields: (t) => ({
    projectId: t.exposeString('key', { description: 'The project (its name, as in CostRecord.projectId).' }),
    total: t.field({ type: 'Decimal', description: 'The sum of its costs, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
  }),
});

const ToolSpendRef = builder.objectRef<Spend & { key: string | null }>('ToolSpend').implement({
  description: 'Spend on one tool, in the currency of the summary it belongs to: the costs recorded with an executionRequestId whose attempt the router gave that tool.',
  fields: (t) => ({
    toolId: t.string({
      nullable: true,
      description: 'The tool (as in Tool.id and ExecutionRequest.toolId). Null: costs that name no execution request, or one without a tool.',
      resolve: (s) => s.key,
    }),
    total: t.field({ type: 'Decimal', description: 'The sum of its costs, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
  }),
});

const BucketSpendRef = builder.objectRef<Spend & { start: Date }>('CostBucketSpend').implement({
  description: 'Spend in one hour or day, in the currency of the summary it belongs to.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: 'The bucket starts here (UTC) and lasts an hour or a day.' }),
    total: t.field({ type: 'Decimal', description: 'The sum of the costs recorded in the bucket, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
  }),
});

/** One currency of a summary; its breakdowns are read once for all currencies and shared. */
export interface CurrencySpend extends Spend {
  currency: string;
  filter: CostFilter;
  shared: Map<string, Promise<(Spend & { currency: string })[]>>;
}

function sharedRead<T extends Spend & { currency: string }>(summary: CurrencySpend, key: string, read: () => Promise<T[]>): Promise<T[]> {
  let rows = summary.shared.get(key) as Promise<T[]> | undefined;
  if (!rows) {
    rows = read();
    summary.shared.set(key, rows);
  }
  return rows.then((all) => all.filter((row) => row.currency === summary.currency));
}

export const CurrencySpendRef = builder.objectRef<CurrencySpend>('CurrencyCostSummary').implement({
  description: 'Spend in one currency (totals never mix currencies).',
  fields: (t) => ({
    currency: t.exposeString('currency', { description: 'ISO 4217 code that every amount of this summary is in.' }),
    total: t.field({ type: 'Decimal', description: 'The sum of the matching costs in this currency, exactly.', resolve: money }),
    count: t.exposeInt('count', { description: 'How many cost records it sums.' }),
    byResourceType: t.field({
      type: [ResourceSpendRef],
      description: 'Spend per resource type; types without spend are left out.',
      resolve: (s, _, ctx) => sharedRead(s, 'resource_type', () => ctx.engine.costQueries.by(s.filter, 'resource_type')),
    }),
    byModel: t.field({
      type: [ModelSpendRef],
      description: 'Spend per model (metadata.model), with one entry of model null for costs that name none.',
      resolve: (s, _, ctx) => sharedRead(s, 'model', () => ctx.engine.costQueries.by(s.filter, 'model')),
    }),
    byRun: t.field({
      type: [RunSpendRef],
      description: 'The runs that spent the most, largest first.',
      args: { top: t.arg.int({ defaultValue: 10, description: 'How many runs: 1 to 100 (else BAD_USER_INPUT).' }) },
      extensions: { listSizeArg: 'top' },
      resolve: (s, args, ctx) => sharedRead(s, `runs:${args.top}`, () => ctx.engine.costQueries.top(s.filter, 'run_id', args.top ?? 10)),
    }),
    byProject: t.field({
      type: [ProjectSpendRef],
      description: 'The projects that spent the most, largest first (ties by project name).',
      args: { top: t.arg.int({ defaultValue: 10, description: 'How many projects: 1 to 100 (else BAD_USER_INPUT).' }) },
      extensions: { listSizeArg: 'top' },
      resolve: (s, args, ctx) => sharedRead(s, `projects:${args.top}`, () => ctx.engine.costQueries.top(s.filter, 'project_id', args.top ?? 10)),
    }),
    byTool: t.field({
      type: [ToolSpendRef],
      description:
        'Spend per tool: the tool the router chose for the attempt (executionRequestId) each cost names, ordered by tool id, with one entry of toolId null ' +
        'for costs that name none. Tools without spend are left out.',
      resolve: (s, _, ctx) => sharedRead(s, 'tool', () => ctx.engine.costQueries.by(s.filter, 'tool_id')),
    }),
    series: t.field({
      type: [BucketSpendRef],
      description: 'Spend per hour or day: the latest buckets with spend, oldest first; buckets without spend are left out.',
      args: {
        bucket: t.arg({ type: CostBucketEnum, required: true, description: 'The width of each bucket.' }),
        last: t.arg.int({
          defaultValue: DEFAULT_SERIES_BUCKETS,
          description: `How many of the latest buckets with spend: 1 to ${MAX_SERIES_BUCKETS} (else BAD_USER_INPUT); narrow the filter's from/to for older ones.`,
        }),
      },
      extensions: { listSizeArg: 'last', maxListSize: MAX_SERIES_BUCKETS },
      resolve: (s, args, ctx) => sharedRead(s, `series:${args.bucket}:${args.last}`, () => ctx.engine.costQueries.series(s.filter, args.bucket as Bucket, args.last ?? DEFAULT_SERIES_BUCKETS)),
    }),
  }),
});

export const BudgetRef = builder.objectRef<Budget>('Budget').implement({
  description: 'A spending limit for a project or a run in one currency, with thresholds announced once each.',
  fields: (t) => ({
    id: t.id({
      description: 'Opaque id of the budget; setBudget for the same scope, place and currency keeps it (not loadable with node(id:)).',
      resolve: (b) => encodeGlobalId('Budget', b.id),
    }),
    scope: t.expose('scope', { type: BudgetScopeEnum, description: 'Whether it counts the costs of a project or of one run.' }),
    projectId: t.exposeString('projectId', {
      nullable: true,
      description: "The project: a PROJECT budget's own, or the project of a RUN budget's run.",
    }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: 'The run of a RUN budget; null for a PROJECT budget.',
      resolve: (b, _, ctx) => (b.runId ? ctx.loaders.run.load(b.runId) : null),
    }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code; only costs in this currency count against it.' }),
    limit: t.field({ type: 'Decimal', description: 'The most it may spend, in its currency.', resolve: (b) => formatNanos(BigInt(b.limitNanos)) }),
    spent: t.field({
      type: 'Decimal',
      description: 'What its project or run has spent in its currency, including costs recorded before the budget was set.',
      resolve: (b) => formatNanos(BigInt(b.spentNanos)),
    }),
    remaining: t.field({
      type: 'Decimal',
      description: '0 once spent reaches the limit.',
      resolve: (b) => {
        const left = BigInt(b.limitNanos) - BigInt(b.spentNanos);
        return formatNanos(left > 0n ? left : 0n);
      },
    }),
    thresholds: t.exposeIntList('thresholds', { description: 'Percentages of the limit, as set (a HALT budget announces 100 % as well, listed or not).' }),
    crossedThresholds: t.intList({
      description: 'The thresholds already crossed and announced, ascending (for a HALT budget 100 % too); a raised limit re-arms those the spend is now below.',
      resolve: (b) => b.crossed,
    }),
    action: t.expose('action', { type: BudgetActionEnum, description: 'Whether reaching the limit only notifies or also halts.' }),
    exhausted: t.boolean({ description: 'Whether spent has reached the limit.', resolve: (b) => BigInt(b.spentNanos) >= BigInt(b.limitNanos) }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first set.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed: set again, or a cost counted against it.' }),
  }),
});

export const BudgetAlertRef = builder.objectRef<BudgetAlert>('BudgetAlert').implement({
  description: 'A budget threshold crossed, sent once per threshold; when it concerns a run it is also logged as a budget_threshold_crossed run event.',
  fields: (t) => ({
    budget: t.field({ type: BudgetRef, description: 'The budget, as it is now.', resolve: async (a, _, ctx) => (await ctx.loaders.budget.load(a.budgetId))! }),
    threshold: t.exposeInt('threshold', { description: 'The percentage of the limit crossed.' }),
    currency: t.exposeString('currency', { description: "The budget's currency (ISO 4217)." }),
    spent: t.field({ type: 'Decimal', description: 'Spent when it was crossed.', resolve: (a) => formatNanos(BigInt(a.spentNanos)) }),
    limit: t.field({ type: 'Decimal', description: 'The limit when it was crossed.', resolve: (a) => formatNanos(BigInt(a.limitNanos)) }),
    run: t.field({
      type: RunRef,
      nullable: true,
      description: "The run whose cost crossed it, or a RUN budget's run; null when a project budget was crossed without a run (e.g. by setBudget).",
      resolve: (a, _, ctx) => (a.runId ? ctx.loaders.run.load(a.runId) : null),
    }),
    halted: t.exposeBoolean('halted', {
      description:
        'True only for the crossing that halted: 100 % of a HALT budget, announced even when its thresholds leave 100 out, which stops the run ' +
        '(a project budget: its active runs). False for every other threshold, before or after it (e.g. 150 %), and for NOTIFY budgets.',
    }),
    at: t.field({ type: 'DateTime', description: 'When it was crossed.', resolve: (a) => new Date(a.at) }),
  }),
});

export const CostFilterInput = builder.inputType('CostFilter', {
  description: 'Which cost records to read; the conditions given must all hold.',
  fields: (t) => ({
    runId: t.id({ description: 'Only costs of this run (a Run id).' }),
    projectId: t.string({ description: 'Only costs of this project.' }),
    resourceType: t.field({ type: ResourceTypeEnum, description: 'Only costs of this resource type.' }),
    model: t.string({ description: 'Only costs whose metadata names this model, exactly.' }),
    from: t.field({ type: 'DateTime', description: 'Recorded at or after.' }),
    to: t.field({ type: 'DateTime', description: 'Recorded before.' }),
  }),
});

export const UsageInput = builder.inputType('CostUsageInput', {
  description: 'Metered usage to price a cost from: the amount is quantity x rate, computed exactly.',
  fields: (t) => ({
    quantity: t.field({ type: 'Decimal', required: true, description: 'How many units were used (>= 0).' }),
    unit: t.string({ required: true, description: 'The unit counted, e.g. "tokens" or "seconds" (at most 50 characters).' }),
    rate: t.field({ type: 'Decimal', required: true, description: 'Per unit; quantity x rate must come out in at most 9 decimal places.' }),
  }),
});

export const CostMetadataInput = builder.inputType('CostMetadataInput', {
  description: 'Optional details of a cost; leave out what you do not know.',
  fields: (t) => ({
    model: t.string({ description: 'The model the cost was spent on; spend by model groups on it.' }),
    tokensInput: t.int({ description: 'Input (prompt) tokens, a whole number >= 0.' }),
    tokensOutput: t.int({ description: 'Output (completion) tokens, a whole number >= 0.' }),
    durationSeconds: t.float({ description: 'How long the call or work took, in seconds (>= 0).' }),
  }),
});

export const BudgetFilterInput = builder.inputType('BudgetFilter', {
  description: 'Which budgets to list; the conditions given must all hold.',
  fields: (t) => ({
    projectId: t.string({ description: "Only this project's budgets, its runs' budgets included." }),
    runId: t.id({ description: 'Only the budgets of this run (a Run id).' }),
  }),
});

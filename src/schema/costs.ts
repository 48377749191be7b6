import type { Budget, CostRecord } from '../engine/db/cost-entities.js';
import { formatNanos } from '../engine/costs/money.js';
import type { BudgetAlert } from '../engine/costs/cost-service.js';
import type { Bucket, CostFilter, Spend } from '../engine/costs/cost-queries.js';
import { builder, encodeGlobalId } from './builder.js';
import { RunRef } from './runs.js';

export const ResourceTypeEnum = builder.enumType('ResourceType', {
  values: {
    API_CALL: { value: 'api_call' },
    COMPUTE_TIME: { value: 'compute_time' },
    STORAGE: { value: 'storage' },
    NETWORK: { value: 'network' },
    TOOL_USAGE: { value: 'tool_usage' },
    CUSTOM: { value: 'custom' },
  } as const,
});

export const BudgetScopeEnum = builder.enumType('BudgetScope', {
  values: { PROJECT: { value: 'project' }, RUN: { value: 'run' } } as const,
});

export const BudgetActionEnum = builder.enumType('BudgetAction', {
  values: {
    NOTIFY: { value: 'notify', description: 'Announce each threshold crossed.' },
    HALT: { value: 'halt', description: 'Announce, and at 100 % cancel the run (a project budget: its active runs); no new steps or tasks.' },
  } as const,
});

export const CostBucketEnum = builder.enumType('CostBucket', { values: { HOUR: { value: 'hour' }, DAY: { value: 'day' } } as const });

export const CostRecordRef = builder.objectRef<CostRecord>('CostRecord');

const UsageRef = builder.objectRef<NonNullable<CostRecord['usage']>>('CostUsage').implement({
  fields: (t) => ({
    quantity: t.field({ type: 'Decimal', resolve: (u) => u.quantity }),
    unit: t.exposeString('unit'),
    rate: t.field({ type: 'Decimal', resolve: (u) => u.rate }),
  }),
});

const CostMetadataRef = builder.objectRef<CostRecord['metadata']>('CostMetadata').implement({
  fields: (t) => ({
    model: t.string({ nullable: true, resolve: (m) => (m.model as string | undefined) ?? null }),
    tokensInput: t.int({ nullable: true, resolve: (m) => (m.tokens_input as number | undefined) ?? null }),
    tokensOutput: t.int({ nullable: true, resolve: (m) => (m.tokens_output as number | undefined) ?? null }),
    durationSeconds: t.float({ nullable: true, resolve: (m) => (m.duration_seconds as number | undefined) ?? null }),
  }),
});

builder.node(CostRecordRef, {
  description: 'What one call or run cost (DOMAIN.md 5).',
  id: { resolve: (cost) => cost.id },
  loadOne: (id, ctx) => ctx.loaders.cost.load(id),
  fields: (t) => ({
    run: t.field({ type: RunRef, nullable: true, resolve: (c, _, ctx) => (c.runId ? ctx.loaders.run.load(c.runId) : null) }),
    projectId: t.exposeString('projectId', { nullable: true }),
    executionRequestId: t.exposeString('executionRequestId', { nullable: true, description: 'The execution request (ULID) of the attempt it was spent on.' }),
    resourceType: t.expose('resourceType', { type: ResourceTypeEnum }),
    resourceName: t.exposeString('resourceName', { nullable: true }),
    amount: t.field({ type: 'Decimal', resolve: (c) => formatNanos(BigInt(c.amountNanos)) }),
    currency: t.exposeString('currency'),
    usage: t.field({ type: UsageRef, nullable: true, resolve: (c) => c.usage ?? null }),
    recordedAt: t.expose('recordedAt', { type: 'DateTime' }),
    metadata: t.field({ type: CostMetadataRef, resolve: (c) => c.metadata }),
  }),
});

const money = (spend: Spend) => formatNanos(BigInt(spend.totalNanos));

const ResourceSpendRef = builder.objectRef<Spend & { key: string | null }>('ResourceTypeSpend').implement({
  fields: (t) => ({
    resourceType: t.field({ type: ResourceTypeEnum, resolve: (s) => s.key as CostRecord['resourceType'] }),
    total: t.field({ type: 'Decimal', resolve: money }),
    count: t.exposeInt('count'),
  }),
});

const ModelSpendRef = builder.objectRef<Spend & { key: string | null }>('ModelSpend').implement({
  fields: (t) => ({
    model: t.string({ nullable: true, description: 'Null: costs that name no model.', resolve: (s) => s.key }),
    total: t.field({ type: 'Decimal', resolve: money }),
    count: t.exposeInt('count'),
  }),
});

const RunSpendRef = builder.objectRef<Spend & { runId: string }>('RunSpend').implement({
  fields: (t) => ({
    run: t.field({ type: RunRef, resolve: async (s, _, ctx) => (await ctx.loaders.run.load(s.runId))! }),
    total: t.field({ type: 'Decimal', resolve: money }),
    count: t.exposeInt('count'),
  }),
});

const BucketSpendRef = builder.objectRef<Spend & { start: Date }>('CostBucketSpend').implement({
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime', description: 'The bucket starts here (UTC) and lasts an hour or a day.' }),
    total: t.field({ type: 'Decimal', resolve: money }),
    count: t.exposeInt('count'),
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
    currency: t.exposeString('currency'),
    total: t.field({ type: 'Decimal', resolve: money }),
    count: t.exposeInt('count'),
    byResourceType: t.field({
      type: [ResourceSpendRef],
      resolve: (s, _, ctx) => sharedRead(s, 'resource_type', () => ctx.engine.costQueries.by(s.filter, 'resource_type')),
    }),
    byModel: t.field({ type: [ModelSpendRef], resolve: (s, _, ctx) => sharedRead(s, 'model', () => ctx.engine.costQueries.by(s.filter, 'model')) }),
    byRun: t.field({
      type: [RunSpendRef],
      description: 'The runs that spent the most, largest first.',
      args: { top: t.arg.int({ defaultValue: 10 }) },
      resolve: (s, args, ctx) => sharedRead(s, `runs:${args.top}`, () => ctx.engine.costQueries.topRuns(s.filter, args.top ?? 10)),
    }),
    series: t.field({
      type: [BucketSpendRef],
      description: 'Spend per hour or day, oldest first; buckets without spend are left out.',
      args: { bucket: t.arg({ type: CostBucketEnum, required: true }) },
      resolve: (s, args, ctx) => sharedRead(s, `series:${args.bucket}`, () => ctx.engine.costQueries.series(s.filter, args.bucket as Bucket)),
    }),
  }),
});

export const BudgetRef = builder.objectRef<Budget>('Budget').implement({
  description: 'A spending limit for a project or a run in one currency, with thresholds announced once each.',
  fields: (t) => ({
    id: t.id({ resolve: (b) => encodeGlobalId('Budget', b.id) }),
    scope: t.expose('scope', { type: BudgetScopeEnum }),
    projectId: t.exposeString('projectId', { nullable: true }),
    run: t.field({ type: RunRef, nullable: true, resolve: (b, _, ctx) => (b.runId ? ctx.loaders.run.load(b.runId) : null) }),
    currency: t.exposeString('currency'),
    limit: t.field({ type: 'Decimal', resolve: (b) => formatNanos(BigInt(b.limitNanos)) }),
    spent: t.field({ type: 'Decimal', resolve: (b) => formatNanos(BigInt(b.spentNanos)) }),
    remaining: t.field({
      type: 'Decimal',
      description: '0 once spent reaches the limit.',
      resolve: (b) => {
        const left = BigInt(b.limitNanos) - BigInt(b.spentNanos);
        return formatNanos(left > 0n ? left : 0n);
      },
    }),
    thresholds: t.exposeIntList('thresholds', { description: 'Percentages of the limit.' }),
    crossedThresholds: t.intList({ resolve: (b) => b.crossed }),
    action: t.expose('action', { type: BudgetActionEnum }),
    exhausted: t.boolean({ resolve: (b) => BigInt(b.spentNanos) >= BigInt(b.limitNanos) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const BudgetAlertRef = builder.objectRef<BudgetAlert>('BudgetAlert').implement({
  fields: (t) => ({
    budget: t.field({ type: BudgetRef, resolve: async (a, _, ctx) => (await ctx.loaders.budget.load(a.budgetId))! }),
    threshold: t.exposeInt('threshold', { description: 'The percentage of the limit crossed.' }),
    currency: t.exposeString('currency'),
    spent: t.field({ type: 'Decimal', description: 'Spent when it was crossed.', resolve: (a) => formatNanos(BigInt(a.spentNanos)) }),
    limit: t.field({ type: 'Decimal', resolve: (a) => formatNanos(BigInt(a.limitNanos)) }),
    run: t.field({ type: RunRef, nullable: true, description: 'The run whose cost crossed it.', resolve: (a, _, ctx) => (a.runId ? ctx.loaders.run.load(a.runId) : null) }),
    halted: t.exposeBoolean('halted', { description: 'A HALT budget stopped the run.' }),
    at: t.field({ type: 'DateTime', resolve: (a) => new Date(a.at) }),
  }),
});

export const CostFilterInput = builder.inputType('CostFilter', {
  fields: (t) => ({
    runId: t.id(),
    projectId: t.string(),
    resourceType: t.field({ type: ResourceTypeEnum }),
    model: t.string(),
    from: t.field({ type: 'DateTime', description: 'Recorded at or after.' }),
    to: t.field({ type: 'DateTime', description: 'Recorded before.' }),
  }),
});

export const UsageInput = builder.inputType('CostUsageInput', {
  fields: (t) => ({
    quantity: t.field({ type: 'Decimal', required: true }),
    unit: t.string({ required: true }),
    rate: t.field({ type: 'Decimal', required: true, description: 'Per unit; quantity x rate must come out in at most 9 decimal places.' }),
  }),
});

export const CostMetadataInput = builder.inputType('CostMetadataInput', {
  fields: (t) => ({ model: t.string(), tokensInput: t.int(), tokensOutput: t.int(), durationSeconds: t.float() }),
});

export const BudgetFilterInput = builder.inputType('BudgetFilter', {
  fields: (t) => ({ projectId: t.string(), runId: t.id() }),
});

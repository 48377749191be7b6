import type { EntityManager } from '@mikro-orm/knex';
import { LockMode } from '@mikro-orm/core';
import type { WorkerActor } from '../auth/identity.js';
import { badInput, notFound } from '../core/errors.js';
import { ulidTime } from '../core/ids.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import { jsonObject, optionalText, requireText } from '../core/validate.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import { BudgetSchema, type Budget, type BudgetAction, type BudgetScope } from '../budgets/entities.js';
import { CostRecordSchema, type CostRecord, type ResourceType } from './entities.js';
import { RunSchema, type Run } from '../runs/entities.js';
import { rowsByIds } from '../db/plain-rows.js';
import { recordForRun } from '../runs/record-for-run.js';
import { haltRunForBudget } from '../runs/run-service.js';
import { lockRow } from '../core/lock-row.js';
import { assertMayReport } from '../auth/report-access.js';
import { chargeTaskCost } from './worker-cost-cap.js';
import { digitSums, joinDigitSums } from './exact-sum.js';
import { MAX_BUDGET_NANOS, MAX_TOTAL_NANOS, formatExact, formatNanos, multiply, parseCurrency, parseDecimal, toNanos } from '../budgets/money.js';

export const RESOURCE_TYPES: readonly ResourceType[] = ['api_call', 'compute_time', 'storage', 'network', 'tool_usage', 'custom'];
const DEFAULT_THRESHOLDS = [80, 100];

export interface CostNotice {
  costId: string;
  projectId: string | null;
  runId: string | null;
}

/** A threshold crossing, as the bus carries it and subscribers receive it. */
export interface BudgetAlert {
  budgetId: string;
  projectId: string | null;
  runId: string | null;
  threshold: number;
  currency: string;
  spentNanos: string;
  limitNanos: string;
  /** Whether this is the crossing that halted: a HALT budget's 100 % (announced even when not among its thresholds). Later crossings are false. */
  halted: boolean;
  at: string;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'cost.recorded': CostNotice;
    'budget.alert': BudgetAlert;
  }
}

export interface RecordCostInput {
  runId?: string | null;
  projectId?: string | null;
  executionRequestId?: string | null;
  resourceType: ResourceType;
  resourceName?: string | null;
  amount?: unknown;
  currency: string;
  usage?: { quantity: unknown; unit: string; rate: unknown } | null;
  metadata?: { model?: string | null; tokensInput?: number | null; tokensOutput?: number | null; durationSeconds?: number | null } | null;
}

export interface SetBudgetInput {
  scope: BudgetScope;
  projectId?: string | null;
  runId?: string | null;
  currency: string;
  limit: unknown;
  thresholds?: number[] | null;
  action: BudgetAction;
}

/**
 * Cost records and budgets (docs/domain.md#costs-and-budgets). Recording a cost and moving the
 * budgets it counts against are one transaction, so each threshold is
 * crossed, announced and acted on exactly once, however many costs arrive
 * at the same time.
 */
export class CostService {
  constructor(
    private readonly transact: Transact,
    private readonly streams: NoticeStreams,
    private readonly fork: () => EntityManager,
    /** What WORKER-only tokens may record through one task, in nano-units (null: no bound). */
    private readonly workerCostPerTaskNanos: bigint | null = null,
  ) {}

  /**
   * `actor`: who reports it; a WORKER-only token only through a task its
   * workers hold now (never a project-level cost), and only up to the
   * per-task bound (report-access.ts).
   */
  async record(actor: WorkerActor, input: RecordCostInput): Promise<CostRecord> {
    if (!RESOURCE_TYPES.includes(input.resourceType)) throw badInput('resourceType', `must be one of ${RESOURCE_TYPES.join(', ')}`);
    const currency = parseCurrency('currency', input.currency);
    const { nanos, usage } = amountOf(input);
    const resourceName = optionalText('resourceName', input.resourceName);
    const metadata = metadataOf(input.metadata);
    const projectInput = optionalText('projectId', input.projectId);
    if (input.runId == null && projectInput === null) throw badInput('projectId', 'a cost belongs to a run or a project: give runId or projectId');
    return this.transact(async (scope) => {
      const task = await assertMayReport(scope.em, actor, { runId: input.runId ?? null, executionRequestId: input.executionRequestId ?? null, what: 'a cost' });
      const run = input.runId != null ? await lockRow(scope.em, RunSchema, input.runId) : null;
      if (task) await chargeTaskCost(scope.em, actor, task, nanos, this.workerCostPerTaskNanos);
      if (run && projectInput !== null && projectInput !== run.projectId) {
        throw badInput('projectId', `the run belongs to project ${run.projectId}, not ${projectInput}`);
      }
      const projectId = run?.projectId ?? projectInput;
      const id = scope.newId();
      const cost = scope.em.create(CostRecordSchema, {
        id,
        runId: run?.id ?? null,
        projectId,
        executionRequestId: input.executionRequestId ?? null,
        resourceType: input.resourceType,
        resourceName,
        amountNanos: nanos.toString(),
        currency,
        usage,
        recordedAt: new Date(ulidTime(id)),
        model: (metadata.model as string | undefined) ?? null,
        metadata,
      });
      scope.em.persist(cost);
      await this.charge(scope, cost, run);
      scope.announce('cost.recorded', { costId: id, projectId, runId: run?.id ?? null });
      return cost;
    });
  }

  /** Creates or replaces the budget of a project or run in one currency; spend already recorded counts at once. */
  async set(input: SetBudgetInput): Promise<Budget> {
    const currency = parseCurrency('currency', input.currency);
    const limit = toNanos('limit', parseDecimal('limit', input.limit), MAX_BUDGET_NANOS);
    if (limit === 0n) throw badInput('limit', 'must be more than 0');
    const thresholds = [...new Set(input.thresholds ?? DEFAULT_THRESHOLDS)].sort((a, b) => a - b);
    if (thresholds.length === 0 || thresholds.some((t) => !Number.isInteger(t) || t < 1 || t > 1000)) {
      throw badInput('thresholds', 'must be whole percentages from 1 to 1000');
    }
    if (input.action !== 'notify' && input.action !== 'halt') throw badInput('action', 'must be NOTIFY or HALT');
    return this.transact(async (scope) => {
      const target = await this.target(scope.em, input);
      const key = `${input.scope}:${target.id}:${currency}`;
      let budget = await scope.em.findOne(BudgetSchema, { scopeKey: key }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const spent = budget ? BigInt(budget.spentNanos) : await this.spentSoFar(scope.em, input.scope, target.id, currency);
      if (!budget) {
        budget = scope.em.create(BudgetSchema, {
          id: scope.newId(),
          scope: input.scope,
          projectId: target.projectId,
          runId: input.scope === 'run' ? target.id : null,
          currency,
          limitNanos: limit.toString(),
          spentNanos: spent.toString(),
          thresholds,
          crossed: [],
          action: input.action,
          scopeKey: key,
          createdAt: scope.now,
          updatedAt: scope.now,
        });
        scope.em.persist(budget);
      }
      const becomesHalt = input.action === 'halt' && budget.action !== 'halt';
      budget.limitNanos = limit.toString();
      budget.thresholds = thresholds;
      budget.action = input.action;
      budget.updatedAt = scope.now;
      // A raised limit re-arms the thresholds that the spend is now below; turning
      // to HALT re-arms 100 %, so that the crossing that halts is announced as such.
      const armed = announcedThresholds(budget);
      budget.crossed = budget.crossed.filter((t) => armed.includes(t) && !(becomesHalt && t === 100) && spent * 100n >= BigInt(t) * limit);
      await this.crossings(scope, budget, input.scope === 'run' ? await lockRow(scope.em, RunSchema, target.id) : null);
      return budget;
    });
  }

  /** Budgets, optionally of one project (its run budgets included) or one run. */
  list(filter: { projectId?: string | null; runId?: string | null }): Promise<Budget[]> {
    const where: Record<string, unknown> = {};
    if (filter.projectId != null) where.projectId = filter.projectId;
    if (filter.runId != null) where.runId = filter.runId;
    return this.fork().find(BudgetSchema, where, { orderBy: { id: 'asc' } });
  }

  budgetsByIds(ids: readonly string[]): Promise<Budget[]> {
    return rowsByIds(this.fork(), BudgetSchema, ids);
  }

  recorded(filter: { projectId?: string | null; runId?: string | null }): AsyncIterableIterator<CostRecord> {
    return this.streams.follow(
      'cost.recorded',
      (notice) => this.fork().findOne(CostRecordSchema, { id: notice.costId }),
      (notice) => (filter.projectId == null || notice.projectId === filter.projectId) && (filter.runId == null || notice.runId === filter.runId),
    );
  }

  alerts(filter: { projectId?: string | null }): AsyncIterableIterator<BudgetAlert> {
    return this.streams.follow(
      'budget.alert',
      (alert) => alert,
      (alert) => filter.projectId == null || alert.projectId === filter.projectId,
    );
  }

  /** Adds the cost to every budget it counts against (its run's and its project's, in its currency), under lock. */
  private async charge(scope: WriteScope, cost: CostRecord, run: Run | null): Promise<void> {
    const keys = [...(run ? [`run:${run.id}:${cost.currency}`] : []), ...(cost.projectId ? [`project:${cost.projectId}:${cost.currency}`] : [])];
    const budgets = await scope.em.find(BudgetSchema, { scopeKey: { $in: keys } }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } });
    // Every budget is checked before any moves, so that a refused cost changes nothing.
    const full = budgets.find((budget) => BigInt(budget.spentNanos) + BigInt(cost.amountNanos) > MAX_TOTAL_NANOS);
    if (full) {
      throw badInput('amount', `would take the spend of budget ${full.id} past ${formatNanos(MAX_TOTAL_NANOS)} ${cost.currency}, the largest total a budget keeps`);
    }
    for (const budget of budgets) {
      budget.spentNanos = (BigInt(budget.spentNanos) + BigInt(cost.amountNanos)).toString();
      budget.updatedAt = scope.now;
      await this.crossings(scope, budget, run);
    }
  }

  /**
   * Announces each threshold the spend has newly reached (once: it is
   * remembered on the budget), as a run event and a budget alert; at 100 %
   * a HALT budget stops the run that reached it, or for a project budget
   * every active run of the project, and its 100 % crossing (a threshold
   * of every HALT budget) is the one alert that says halted.
   */
  private async crossings(scope: WriteScope, budget: Budget, run: Run | null): Promise<void> {
    const spent = BigInt(budget.spentNanos);
    const limit = BigInt(budget.limitNanos);
    const exhausted = spent >= limit;
    const fresh = announcedThresholds(budget).filter((t) => !budget.crossed.includes(t) && spent * 100n >= BigInt(t) * limit);
    const reason = `budget ${budget.id} exceeded: spent ${formatNanos(spent)} of ${formatNanos(limit)} ${budget.currency}`;
    const halts = budget.action === 'halt' && exhausted;
    if (halts) await this.halt(scope, budget, run, reason);
    if (fresh.length === 0) return;
    budget.crossed = [...budget.crossed, ...fresh].sort((a, b) => a - b);
    for (const threshold of fresh) {
      const alert: BudgetAlert = {
        budgetId: budget.id,
        projectId: budget.projectId ?? null,
        runId: run?.id ?? budget.runId ?? null,
        threshold,
        currency: budget.currency,
        spentNanos: budget.spentNanos,
        limitNanos: budget.limitNanos,
        halted: halts && threshold === 100,
        at: scope.now.toISOString(),
      };
      if (alert.runId) {
        await recordForRun(scope, alert.runId, 'budget_threshold_crossed', {
          budgetId: budget.id,
          threshold,
          spent: formatNanos(spent),
          limit: formatNanos(limit),
          currency: budget.currency,
          halted: alert.halted,
        });
      }
      scope.announce('budget.alert', alert);
    }
  }

  /** Stops the runs a spent HALT budget covers (ending a run skips its pending tasks, so nothing takes them). */
  private async halt(scope: WriteScope, budget: Budget, run: Run | null, reason: string): Promise<void> {
    const runs =
      budget.scope === 'run'
        ? [run ?? (await lockRow(scope.em, RunSchema, budget.runId!))]
        : await scope.em.find(RunSchema, { projectId: budget.projectId!, state: { $in: ['pending', 'running'] } }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (run && !runs.includes(run)) runs.push(run);
    for (const target of runs) if (!target.haltedByBudgetId) await haltRunForBudget(scope, target, budget.id, reason);
  }

  private async target(em: EntityManager, input: SetBudgetInput): Promise<{ id: string; projectId: string | null }> {
    if (input.scope === 'run') {
      if (input.runId == null) throw badInput('runId', 'a RUN budget names its run');
      const run = await em.findOne(RunSchema, { id: input.runId }, { fields: ['id', 'projectId'] });
      if (!run) throw notFound('Run', input.runId);
      if (input.projectId != null && input.projectId !== run.projectId) throw badInput('projectId', `the run belongs to project ${run.projectId}`);
      return { id: run.id, projectId: run.projectId };
    }
    if (input.scope !== 'project') throw badInput('scope', 'must be PROJECT or RUN');
    if (input.runId != null) throw badInput('runId', 'a PROJECT budget names no run');
    const projectId = requireText('projectId', input.projectId);
    return { id: projectId, projectId };
  }

  /** What a new budget's place has already spent in its currency (summed by the database, exactly). */
  private async spentSoFar(em: EntityManager, scope: BudgetScope, id: string, currency: string): Promise<bigint> {
    const column = scope === 'run' ? 'run_id' : 'project_id';
    const row = await em.execute<Record<string, unknown>>(`select ${digitSums('text')} from cost_record where ${column} = ? and currency = ?`, [id, currency], 'get');
    return joinDigitSums(row ?? {});
  }
}

/** The thresholds a budget announces: its own, and for a HALT budget 100 % too, so that halting is never silent. */
function announcedThresholds(budget: Pick<Budget, 'thresholds' | 'action'>): number[] {
  if (budget.action !== 'halt' || budget.thresholds.includes(100)) return budget.thresholds;
  return [...budget.thresholds, 100].sort((a, b) => a - b);
}

/** Either an amount, or usage whose quantity x rate is the amount, exactly. */
function amountOf(input: RecordCostInput): { nanos: bigint; usage: CostRecord['usage'] } {
  if (input.usage != null) {
    const quantity = parseDecimal('usage.quantity', input.usage.quantity);
    const rate = parseDecimal('usage.rate', input.usage.rate);
    const unit = requireText('usage.unit', input.usage.unit, 50);
    const product = toNanos('usage', multiply(quantity, rate));
    if (input.amount != null) {
      const given = toNanos('amount', parseDecimal('amount', input.amount));
      if (given !== product) throw badInput('amount', `is not usage.quantity x usage.rate (${formatNanos(product)})`);
    }
    return { nanos: product, usage: { quantity: formatExact(quantity), unit, rate: formatExact(rate) } };
  }
  if (input.amount == null) throw badInput('amount', 'give an amount, or usage {quantity, unit, rate}');
  return { nanos: toNanos('amount', parseDecimal('amount', input.amount)), usage: null };
}

function metadataOf(raw: RecordCostInput['metadata']): Record<string, unknown> {
  const metadata = jsonObject('metadata', raw ?? {});
  const out: Record<string, unknown> = {};
  if (raw?.model != null) out.model = requireText('metadata.model', raw.model);
  for (const [from, to] of [
    ['tokensInput', 'tokens_input'],
    ['tokensOutput', 'tokens_output'],
  ] as const) {
    const value = metadata[from];
    if (value == null) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw badInput(`metadata.${from}`, 'must be a whole number >= 0');
    out[to] = value;
  }
  if (raw?.durationSeconds != null) {
    if (!Number.isFinite(raw.durationSeconds) || raw.durationSeconds < 0) throw badInput('metadata.durationSeconds', 'must be >= 0');
    out.duration_seconds = raw.durationSeconds;
  }
  return out;
}

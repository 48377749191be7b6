import type { EntityManager } from '@mikro-orm/knex';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../core/clock.js';
import { DomainError } from '../core/errors.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import type { ContractRegistry } from '../contracts/registry.js';
import { TaskSchema, type Task } from '../runs/entities.js';
import { RouteRotationSchema, RouterConfigSchema, ToolStateSchema, type RouterConfigRow, type ToolState } from './entities.js';
import { admit, currentState, keepTrials, newBreaker, normalBreaker, observe, recordFailure, recordSuccess, release, wouldAdmit, type Breaker, type CircuitState } from './circuit-breaker.js';
import { FALLBACK_ROTATION_KEY, NoRouteError, route, validateRouterConfig, type RouteDecision, type RouteRequest, type RouterConfig, type ToolView } from './router.js';

/** How many of a tool's latest durations its median is taken over. */
const LATENCY_SAMPLES = 100;

export interface ToolStateNotice {
  toolId: string;
  from: CircuitState;
  to: CircuitState;
  at: string;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'tool.state': ToolStateNotice;
    /** Anything Query.tools shows of the tool may have changed: an attempt was leased or ended, or its breaker changed. */
    'tool.changed': { toolId: string };
  }
}

/** A tool as the `tools` query shows it: its configuration and what the engine measured. */
export interface ToolSnapshot {
  id: string;
  command: string;
  capabilities: RouterConfig['apps'][string]['capabilities'];
  limits: RouterConfig['apps'][string]['limits'];
  circuitState: CircuitState;
  successRate: number | null;
  p50LatencyMs: number | null;
  inFlight: number;
}

const median = (values: number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  // mid, and mid - 1 for an even count, index into a non-empty list.
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Routing over stored state (docs/domain.md#routing-and-execution-requests and
 * docs/domain.md#circuit-breakers-and-retries): the router configuration
 * in force, each tool's circuit breaker and measurements, and the
 * round_robin rotations, all in the database so a restart changes nothing.
 */
export class RoutingService {
  constructor(
    private readonly transact: Transact,
    private readonly contracts: ContractRegistry,
    private readonly fork: () => EntityManager,
    private readonly clock: Clock,
    private readonly streams: NoticeStreams,
  ) {}

  /** Breakers as they change state (closed, open, half_open), of one tool or all. */
  circuitChanges(toolId: string | null): AsyncIterableIterator<ToolStateNotice> {
    return this.streams.follow(
      'tool.state',
      (notice) => notice,
      (notice) => toolId === null || notice.toolId === toolId,
    );
  }

  /**
   * A tool as Query.tools shows it, each time an attempt on it is leased or
   * ends or its breaker changes, and only when what it shows differs from
   * the last one this stream sent; of one tool or all. A tool that is no
   * longer configured sends nothing.
   */
  toolChanges(toolId: string | null): AsyncIterableIterator<ToolSnapshot> {
    const lastSent = new Map<string, string>();
    return this.streams.follow(
      'tool.changed',
      async (notice) => {
        const tool = (await this.tools()).find((t) => t.id === notice.toolId);
        if (!tool || lastSent.get(tool.id) === JSON.stringify(tool)) return null;
        lastSent.set(tool.id, JSON.stringify(tool));
        return tool;
      },
      (notice) => toolId === null || notice.toolId === toolId,
    );
  }

  /**
   * Validates (the contract, filling in its defaults, then every rule's tools) and puts the full
   * configuration in force; tasks waiting for a route are tried again.
   */
  async setConfig(document: unknown): Promise<RouterConfigRow> {
    const config = validateRouterConfig(this.contracts.accept<RouterConfig>('config', 'router_config', document));
    return this.transact(async (scope) => {
      const row = scope.em.create(RouterConfigSchema, { id: scope.newId(), config, createdAt: scope.now });
      scope.em.persist(row);
      for (const task of await scope.em.find(TaskSchema, { state: 'pending', routeError: { $ne: null } }, { lockMode: LockMode.PESSIMISTIC_WRITE })) {
        await routeTask(scope, task, config);
      }
      return row;
    });
  }

  /**
   * Stores (and announces on toolCircuitChanged, once per open period) every
   * breaker whose recovery timeout has passed as HALF_OPEN, then tries again
   * to route the tasks that found no tool; the server runs it with the
   * reaper. Returns how many got a tool.
   */
  async retryWaiting(limit = 200): Promise<number> {
    // Its own write, so that a problem routing a task cannot hold back the announcements.
    await this.transact(observeBreakers);
    return this.transact(async (scope) => {
      const waiting = await scope.em.find(TaskSchema, { state: 'pending', routeError: { $ne: null } }, { orderBy: { id: 'asc' }, limit, lockMode: LockMode.PESSIMISTIC_WRITE });
      for (const task of waiting) await routeTask(scope, task);
      return waiting.filter((task) => task.routeError === null).length;
    });
  }

  current(em: EntityManager = this.fork()): Promise<RouterConfigRow | null> {
    return currentConfig(em);
  }

  /** Which tool a task would be routed to now, and why; changes nothing (round_robin is not advanced). */
  async explain(request: RouteRequest): Promise<RouteDecision> {
    const em = this.fork();
    const row = await this.current(em);
    if (!row) throw new DomainError('NO_ROUTE', 'no router configuration is set (setRouterConfig)');
    const { view, rotation } = await routingState(em, row.config, this.clock.now().getTime());
    try {
      return route(row.config, request, view, rotation);
    } catch (error) {
      throw error instanceof NoRouteError ? new DomainError('NO_ROUTE', error.message, { candidates: error.candidates }) : error;
    }
  }

  async tools(): Promise<ToolSnapshot[]> {
    const em = this.fork();
    const row = await this.current(em);
    if (!row) return [];
    const states = new Map((await em.find(ToolStateSchema, {})).map((s) => [s.toolId, s]));
    const now = this.clock.now().getTime();
    // In id order: PostgreSQL's jsonb keeps object keys in its own order, not the document's.
    const apps = Object.entries(row.config.apps).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return apps.map(([id, app]) => {
      const state = states.get(id);
      const outcomes = state ? state.successes + state.failures : 0;
      return {
        id,
        command: app.command,
        capabilities: app.capabilities,
        limits: app.limits,
        circuitState: state ? currentState(state.breaker, now) : 'closed',
        successRate: outcomes > 0 ? state!.successes / outcomes : null,
        p50LatencyMs: state ? median(state.latencies) : null,
        inFlight: state?.inFlight ?? 0,
      };
    });
  }
}

export function currentConfig(em: EntityManager): Promise<RouterConfigRow | null> {
  return em.findOne(RouterConfigSchema, { id: { $ne: '' } }, { orderBy: { id: 'desc' } });
}

/**
 * Inside a write: chooses a workstream task's tool (once a configuration
 * is set), advancing round_robin; with no candidate the task waits,
 * unclaimable, with the reason on it, until a later configuration or a
 * breaker that recovers lets it through. Routing takes no trial call: a
 * half-open tool's trial slot is taken when an attempt is leased (toolLeased)
 * and given back when that attempt ends, however it ends. Breakers found past
 * their recovery timeout are stored HALF_OPEN, and announced, on the way.
 */
export async function routeTask(scope: WriteScope, task: Task, config?: RouterConfig): Promise<void> {
  if (!task.workstreamId) return;
  const inForce = config ?? (await currentConfig(scope.em))?.config;
  if (!inForce) return;
  const classification = (task.payload.classification ?? {}) as { risk_tier?: RouteRequest['riskTier']; complexity?: RouteRequest['complexity']; domain?: string };
  const request: RouteRequest = { taskKind: task.kind, riskTier: classification.risk_tier, complexity: classification.complexity, domain: classification.domain };
  const now = scope.now.getTime();
  const { view, rotation, recovered } = await routingState(scope.em, inForce, now);
  for (const toolId of recovered) await settleBreaker(scope, await lockToolState(scope, toolId));
  let decision: RouteDecision;
  try {
    decision = route(inForce, request, view, rotation);
  } catch (error) {
    if (!(error instanceof NoRouteError)) throw error;
    task.toolId = null;
    task.routeError = error.message;
    return;
  }
  task.toolId = decision.toolId;
  task.routeStrategy = decision.strategy;
  task.routeError = null;
  if (decision.nextRotation !== null) {
    const key = decision.ruleId ?? FALLBACK_ROTATION_KEY;
    const stored = await scope.em.findOne(RouteRotationSchema, { ruleKey: key }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (stored) stored.counter = decision.nextRotation;
    else scope.em.persist(scope.em.create(RouteRotationSchema, { ruleKey: key, counter: decision.nextRotation }));
  }
}

/**
 * Whether the tool would let a call through now (breaker closed, or half_open
 * with a trial slot free); checked before a lease so that a task whose tool
 * stopped admitting since it was routed is routed again instead. Stores the
 * breaker as observed (announcing OPEN -> HALF_OPEN when its time has come).
 */
export async function toolAdmits(scope: WriteScope, toolId: string): Promise<boolean> {
  const state = await lockToolState(scope, toolId);
  return wouldAdmit(await settleBreaker(scope, state), scope.now.getTime());
}

/**
 * An attempt of `taskId` on the tool is leased: it counts as in flight until
 * it ends, and on a half-open tool it takes a trial slot in the task's name
 * (NO_ROUTE, writing nothing, when the breaker admits no call: check
 * toolAdmits first).
 */
export async function toolLeased(scope: WriteScope, toolId: string, taskId: string): Promise<void> {
  const state = await lockToolState(scope, toolId);
  const { allowed, breaker } = admit(await settleBreaker(scope, state), scope.now.getTime(), taskId);
  if (!allowed) {
    const why = breaker.state === 'open' ? 'its circuit breaker is OPEN' : 'its circuit breaker is HALF_OPEN and its trial call is taken';
    throw new DomainError('NO_ROUTE', `Task ${taskId} is routed to tool ${toolId}, which takes no call now: ${why}`, {
      entity: 'Task',
      id: taskId,
      toolId,
      circuitState: breaker.state.toUpperCase(),
    });
  }
  changeBreaker(scope, state, breaker);
  state.inFlight += 1;
  scope.announce('tool.changed', { toolId });
}

/**
 * An attempt of `taskId` on a tool ended: a success or failure feeds its
 * breaker (a trial's decides a half-open one) and its measurements; an
 * interrupted one (its worker paused or shut down, the task handed back)
 * only frees its slot, and its trial slot if it held one.
 */
export async function toolAttemptEnded(scope: WriteScope, toolId: string, taskId: string, outcome: 'success' | 'failure' | 'interrupted', durationSeconds: number | null): Promise<void> {
  const state = await lockToolState(scope, toolId);
  state.inFlight = Math.max(0, state.inFlight - 1);
  scope.announce('tool.changed', { toolId });
  const breaker = await settleBreaker(scope, state);
  if (outcome === 'interrupted') {
    changeBreaker(scope, state, release(breaker, taskId));
    return;
  }
  const now = scope.now.getTime();
  if (outcome === 'success') state.successes += 1;
  else state.failures += 1;
  if (durationSeconds !== null) state.latencies = [...state.latencies, Math.round(durationSeconds * 1000)].slice(-LATENCY_SAMPLES);
  changeBreaker(scope, state, outcome === 'success' ? recordSuccess(breaker, now, undefined, taskId) : recordFailure(breaker, now, undefined, taskId));
}

/** Stores every breaker as observed now: those past their recovery timeout turn HALF_OPEN, announced once. */
export async function observeBreakers(scope: WriteScope): Promise<void> {
  const now = scope.now.getTime();
  const states = await scope.em.find(ToolStateSchema, {}, { orderBy: { toolId: 'asc' } });
  for (const found of states.filter((s) => s.breaker.state === 'open' && currentState(s.breaker, now) === 'half_open')) {
    await settleBreaker(scope, await lockToolState(scope, found.toolId));
  }
}

/**
 * Stores the breaker as of now and returns it: past its recovery timeout an
 * open one turns half_open (announced), and a trial slot whose holder is no
 * longer running on the tool is freed. Every attempt end frees its own slot;
 * the second part is a safety net so that no path missed can keep a tool out.
 */
async function settleBreaker(scope: WriteScope, state: ToolState): Promise<Breaker> {
  for (const { breaker } of await liveBreakers(scope.em, [state])) changeBreaker(scope, state, breaker);
  return state.breaker;
}

/**
 * Stores `next` and announces a change of state. The stored state is the one
 * last announced (changes are stored as observed), so comparing it with the
 * new one also reports OPEN -> HALF_OPEN, which happens by time passing.
 */
function changeBreaker(scope: WriteScope, state: ToolState, next: Breaker): void {
  const from = normalBreaker(state.breaker).state;
  const stored = observe(next, scope.now.getTime());
  if (JSON.stringify(stored) === JSON.stringify(state.breaker)) return;
  state.breaker = stored;
  state.updatedAt = scope.now;
  if (from !== stored.state) {
    scope.announce('tool.state', { toolId: state.toolId, from, to: stored.state, at: scope.now.toISOString() });
    scope.announce('tool.changed', { toolId: state.toolId });
  }
}

/** Each of `states` with its breaker's trial slots kept only for tasks still running on that tool (one query, and only when a slot is held). */
async function liveBreakers(em: EntityManager, states: ToolState[]): Promise<{ state: ToolState; breaker: Breaker }[]> {
  const live = states.map((state) => ({ state, breaker: normalBreaker(state.breaker) }));
  const held = [...new Set(live.flatMap(({ breaker }) => breaker.trials))];
  if (held.length === 0) return live;
  const running = await em.find(TaskSchema, { id: { $in: held }, state: 'running' });
  const toolOf = new Map(running.map((t) => [t.id, t.toolId]));
  return live.map(({ state, breaker }) => ({ state, breaker: keepTrials(breaker, (taskId) => toolOf.get(taskId) === state.toolId) }));
}

async function lockToolState(scope: WriteScope, toolId: string): Promise<ToolState> {
  const found = await scope.em.findOne(ToolStateSchema, { toolId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (found) return found;
  const state = scope.em.create(ToolStateSchema, { toolId, breaker: newBreaker(), successes: 0, failures: 0, latencies: [], inFlight: 0, updatedAt: scope.now });
  scope.em.persist(state);
  return state;
}

/**
 * What route() needs to know, read once: every tool's breaker (with trial
 * slots of attempts no longer running freed) and figures, every rotation;
 * and the tools whose stored breaker is open past its recovery timeout, for a
 * write to store as half_open.
 */
async function routingState(em: EntityManager, config: RouterConfig, now: number): Promise<{ view: (toolId: string) => ToolView; rotation: (ruleId: string) => number; recovered: string[] }> {
  const [states, rotations] = await Promise.all([em.find(ToolStateSchema, { toolId: { $in: Object.keys(config.apps) } }), em.find(RouteRotationSchema, {})]);
  const byTool = new Map((await liveBreakers(em, states)).map((live) => [live.state.toolId, live]));
  const counters = new Map(rotations.map((r) => [r.ruleKey, r.counter]));
  return {
    view: (toolId) => {
      const found = byTool.get(toolId);
      if (!found) return { breakerOpen: false, successRate: null, p50LatencyMs: null };
      const { state, breaker } = found;
      const outcomes = state.successes + state.failures;
      return { breakerOpen: !wouldAdmit(breaker, now), successRate: outcomes > 0 ? state.successes / outcomes : null, p50LatencyMs: median(state.latencies) };
    },
    rotation: (ruleId) => counters.get(ruleId) ?? 0,
    recovered: states.filter((s) => s.breaker.state === 'open' && currentState(s.breaker, now) === 'half_open').map((s) => s.toolId),
  };
}

import type { EntityManager } from '@mikro-orm/sqlite';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../core/clock.js';
import { DomainError } from '../core/errors.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import type { ContractRegistry } from '../contracts/registry.js';
import { TaskSchema, type Task } from '../db/entities.js';
import { RouteRotationSchema, RouterConfigSchema, ToolStateSchema, type RouterConfigRow, type ToolState } from '../db/routing-entities.js';
import { admit, currentState, newBreaker, recordFailure, recordSuccess, type CircuitState } from './circuit-breaker.js';
import { FALLBACK_ROTATION_KEY, NoRouteError, route, validateRouterConfig, type RouteDecision, type RouteRequest, type RouterConfig, type ToolView } from './router.js';

export const TOOL_STATE_TOPIC = 'tool.state';
/** How many of a tool's latest durations its median is taken over. */
const LATENCY_SAMPLES = 100;

export interface ToolStateNotice {
  toolId: string;
  from: CircuitState;
  to: CircuitState;
  at: string;
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

const median = (values: number[]) => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Routing over stored state (DOMAIN.md 6 and 8): the router configuration
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
    return this.streams.follow<ToolStateNotice, ToolStateNotice>(TOOL_STATE_TOPIC, (notice) => notice, (notice) => toolId === null || notice.toolId === toolId);
  }

  /** Validates (the contract, then every rule's tools) and puts a configuration in force; tasks waiting for a route are tried again. */
  async setConfig(document: unknown): Promise<RouterConfigRow> {
    this.contracts.check('config', 'router_config', document);
    const config = validateRouterConfig(document as RouterConfig);
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
   * Tries again to route the tasks that found no tool (a breaker may have
   * half-opened since); the server runs it with the reaper. Returns how
   * many got a tool.
   */
  async retryWaiting(limit = 200): Promise<number> {
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
    return Object.entries(row.config.apps).map(([id, app]) => {
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
 * is set), advancing round_robin and taking a half-open breaker's trial
 * slot; with no candidate the task waits, unclaimable, with the reason on
 * it, until a later configuration or a breaker that closes lets it through.
 */
export async function routeTask(scope: WriteScope, task: Task, config?: RouterConfig): Promise<void> {
  if (!task.workstreamId) return;
  const inForce = config ?? (await currentConfig(scope.em))?.config;
  if (!inForce) return;
  const classification = (task.payload.classification ?? {}) as { risk_tier?: RouteRequest['riskTier']; complexity?: RouteRequest['complexity']; domain?: string };
  const request: RouteRequest = { taskKind: task.kind, riskTier: classification.risk_tier, complexity: classification.complexity, domain: classification.domain };
  const now = scope.now.getTime();
  const { view, rotation } = await routingState(scope.em, inForce, now);
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
  const state = await lockToolState(scope, decision.toolId);
  changeBreaker(scope, state, admit(state.breaker, now).breaker);
}

/** A leased attempt counts as in flight on its tool until it ends. */
export async function toolLeased(scope: WriteScope, toolId: string): Promise<void> {
  (await lockToolState(scope, toolId)).inFlight += 1;
}

/**
 * An attempt on a tool ended: a success or failure feeds its breaker and
 * its measurements; an interrupted one (its worker paused or shut down)
 * only frees its slot.
 */
export async function toolAttemptEnded(
  scope: WriteScope,
  toolId: string,
  outcome: 'success' | 'failure' | 'interrupted',
  durationSeconds: number | null,
): Promise<void> {
  const state = await lockToolState(scope, toolId);
  state.inFlight = Math.max(0, state.inFlight - 1);
  if (outcome === 'interrupted') return;
  const now = scope.now.getTime();
  if (outcome === 'success') state.successes += 1;
  else state.failures += 1;
  if (durationSeconds !== null) state.latencies = [...state.latencies, Math.round(durationSeconds * 1000)].slice(-LATENCY_SAMPLES);
  changeBreaker(scope, state, outcome === 'success' ? recordSuccess(state.breaker, now) : recordFailure(state.breaker, now));
}

function changeBreaker(scope: WriteScope, state: ToolState, next: ToolState['breaker']): void {
  const now = scope.now.getTime();
  const from = currentState(state.breaker, now);
  state.breaker = next;
  state.updatedAt = scope.now;
  const to = currentState(next, now);
  if (from !== to) scope.announce(TOOL_STATE_TOPIC, { toolId: state.toolId, from, to, at: scope.now.toISOString() } satisfies ToolStateNotice);
}

async function lockToolState(scope: WriteScope, toolId: string): Promise<ToolState> {
  const found = await scope.em.findOne(ToolStateSchema, { toolId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (found) return found;
  const state = scope.em.create(ToolStateSchema, { toolId, breaker: newBreaker(), successes: 0, failures: 0, latencies: [], inFlight: 0, updatedAt: scope.now });
  scope.em.persist(state);
  return state;
}

/** What route() needs to know, read once: every tool's breaker and figures, every rotation. */
async function routingState(em: EntityManager, config: RouterConfig, now: number): Promise<{ view: (toolId: string) => ToolView; rotation: (ruleId: string) => number }> {
  const [states, rotations] = await Promise.all([em.find(ToolStateSchema, { toolId: { $in: Object.keys(config.apps) } }), em.find(RouteRotationSchema, {})]);
  const byTool = new Map(states.map((s) => [s.toolId, s]));
  const counters = new Map(rotations.map((r) => [r.ruleKey, r.counter]));
  return {
    view: (toolId) => {
      const state = byTool.get(toolId);
      if (!state) return { breakerOpen: false, successRate: null, p50LatencyMs: null };
      const outcomes = state.successes + state.failures;
      return { breakerOpen: !admit(state.breaker, now).allowed, successRate: outcomes > 0 ? state.successes / outcomes : null, p50LatencyMs: median(state.latencies) };
    },
    rotation: (ruleId) => counters.get(ruleId) ?? 0,
  };
}

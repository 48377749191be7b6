import { badInput } from '../core/errors.js';
import { requireText } from '../core/validate.js';

export type RiskLevel = 'low' | 'medium' | 'high';
export type RoutingStrategy = 'fixed' | 'round_robin' | 'auto';

/** One tool of router_config.v1 (snake_case, as the contract spells it). */
export interface AppConfig {
  command: string;
  /** An empty `domains` list means any domain. */
  capabilities: { task_kinds: string[]; domains: string[] };
  limits: { max_parallel: number; timeout_seconds: number };
}

export interface RoutingRule {
  id: string;
  /** A field the rule does not name matches anything; task_kind and risk_tier are lists, complexity is one level (the contract's shape). */
  match: { task_kind?: string[]; risk_tier?: RiskLevel[]; complexity?: RiskLevel };
  select_from: string[];
  strategy: RoutingStrategy;
}

export interface RouterConfig {
  version: string | number;
  apps: Record<string, AppConfig>;
  routing: { rules: RoutingRule[] };
  defaults: { max_attempts: number; timeout_seconds: number; strategy: RoutingStrategy };
}

export interface RouteRequest {
  taskKind: string;
  riskTier?: RiskLevel | null;
  complexity?: RiskLevel | null;
  domain?: string | null;
}

/** What the router needs to know of a tool right now; null figures: no measurements yet. */
export interface ToolView {
  /** True when the tool's breaker would not admit a call now (open, or half_open with every trial slot taken). */
  breakerOpen: boolean;
  successRate: number | null;
  p50LatencyMs: number | null;
}

export interface RouteCandidate {
  toolId: string;
  /** Why it was passed over (e.g. 'circuit open'); null for an eligible candidate. */
  skipped: string | null;
}

export interface RouteDecision {
  toolId: string;
  /** null: no rule matched and the tools listing the task kind were taken. */
  ruleId: string | null;
  strategy: RoutingStrategy;
  reason: string;
  candidates: RouteCandidate[];
  /**
   * For round_robin: the rotation counter to store for this rule after this choice (the caller persists it so
   * rotation survives a restart); null otherwise.
   */
  nextRotation: number | null;
}

/** The rotation key round_robin uses when no rule matched (hence reserved as a rule id). */
export const FALLBACK_ROTATION_KEY = '*';

/** No tool can take the request. Stands in for a DomainError with code NO_ROUTE until errors.ts has that code. */
export class NoRouteError extends Error {
  readonly code = 'NO_ROUTE';
  constructor(
    readonly request: RouteRequest,
    readonly candidates: RouteCandidate[],
    message: string,
  ) {
    super(message);
    this.name = 'NoRouteError';
  }
}

/**
 * What the JSON Schema cannot say: every select_from names a tool of `apps`,
 * and rule ids are unique and not '*' (round-robin rotation is stored per rule
 * id, '*' being the no-rule key). Every problem is named at once.
 */
export function validateRouterConfig(config: RouterConfig): RouterConfig {
  const problems: string[] = [];
  const ids = new Set<string>();
  const known = Object.keys(config.apps);
  config.routing.rules.forEach((rule, i) => {
    const at = `routing.rules[${i}]`;
    if (rule.id === FALLBACK_ROTATION_KEY) problems.push(`${at}.id: "*" is reserved for routing without a matching rule`);
    else if (ids.has(rule.id)) problems.push(`${at}.id: "${rule.id}" is used by an earlier rule`);
    ids.add(rule.id);
    for (const toolId of rule.select_from.filter((id) => !Object.hasOwn(config.apps, id))) {
      problems.push(`${at}.select_from: rule "${rule.id}" names unknown tool "${toolId}" (known: ${known.join(', ')})`);
    }
  });
  if (problems.length > 0) throw badInput('router_config', problems.join('; '), { problems });
  return config;
}

/**
 * docs/domain.md#routing-and-execution-requests. The first rule whose match holds picks the candidates (its
 * select_from, in order, whatever their capabilities say); without one, every
 * app listing the task kind (and the domain, when both name one) in apps order,
 * under defaults.strategy. `config` must have passed validateRouterConfig.
 *
 * - fixed: the first eligible candidate.
 * - round_robin: the counter (`rotation(ruleId)`, or `rotation('*')` without a
 *   rule) is a position in the candidate list, not in the eligible ones: the
 *   call takes the first eligible candidate from position counter % n onwards,
 *   and nextRotation is the position after it. With every candidate eligible
 *   that is candidates[counter % n] and counter + 1; when an open breaker
 *   removes one, the next in line takes its turn and the cycle goes on from
 *   there, so the eligible tools keep their order and none gets two turns
 *   in a row while another is eligible, which eligible[counter % eligible.length]
 *   would not guarantee as the eligible list changes size.
 * - auto: highest success rate, then lowest p50 latency, then config order. A
 *   figure not yet measured counts as the best there is (success rate 1,
 *   latency 0): a new tool gets tried, and measured, instead of never being
 *   chosen while a measured one looks good enough.
 *
 * A tool whose breaker is open is passed over and listed as skipped; with no
 * eligible candidate left, NoRouteError says what was tried and why.
 */
export function route(config: RouterConfig, request: RouteRequest, view: (toolId: string) => ToolView, rotation: (ruleId: string) => number): RouteDecision {
  requireText('taskKind', request.taskKind);
  const rule = config.routing.rules.find((r) => matches(r.match, request)) ?? null;
  const strategy = rule ? rule.strategy : config.defaults.strategy;
  const toolIds = rule ? rule.select_from : capableTools(config, request);
  const views = new Map(toolIds.map((toolId) => [toolId, view(toolId)]));
  const candidates = toolIds.map((toolId) => ({ toolId, skipped: views.get(toolId)!.breakerOpen ? 'circuit open' : null }));
  const eligible = candidates.filter((c) => c.skipped === null).map((c) => c.toolId);
  const [first] = eligible;
  if (first === undefined) throw new NoRouteError(request, candidates, noRouteMessage(request, rule, candidates));

  const head = rule
    ? `rule "${rule.id}" matched, strategy ${strategy}`
    : `no rule matched, so tools listing task kind "${request.taskKind}"${request.domain ? ` and domain "${request.domain}"` : ''} ` + `were taken, strategy ${strategy}`;
  const skipped = candidates.filter((c) => c.skipped !== null);
  const tail = skipped.length > 0 ? `; passed over ${skipped.map((c) => `${c.toolId} (${c.skipped})`).join(', ')}` : '';
  const decide = (toolId: string, detail: string, nextRotation: number | null = null): RouteDecision => ({
    toolId,
    ruleId: rule?.id ?? null,
    strategy,
    reason: `${head}: ${detail}${tail}`,
    candidates,
    nextRotation,
  });

  if (strategy === 'fixed') return decide(first, `chose ${first}, the first eligible candidate`);
  if (strategy === 'round_robin') {
    const counter = rotation(rule?.id ?? FALLBACK_ROTATION_KEY);
    if (!Number.isSafeInteger(counter) || counter < 0) throw badInput('rotation', 'must be a non-negative integer', { counter });
    // Never undefined: candidates holds the eligible ones, so it is not empty.
    const at = (position: number) => candidates[position % candidates.length]!;
    let position = counter;
    while (at(position).skipped !== null) position += 1;
    const toolId = at(position).toolId;
    return decide(toolId, `chose ${toolId} at rotation ${counter}`, position + 1);
  }
  if (eligible.length === 1) return decide(first, `chose ${first}, the only eligible candidate`);
  const score = (toolId: string) => ({ rate: views.get(toolId)!.successRate ?? 1, latency: views.get(toolId)!.p50LatencyMs ?? 0 });
  // A stable sort: equal figures keep config order.
  // Two or more: the cases above took zero and one.
  const ranked = [...eligible].sort((a, b) => score(b).rate - score(a).rate || score(a).latency - score(b).latency) as [string, string, ...string[]];
  const [best, next] = [score(ranked[0]), score(ranked[1])];
  const decidedBy = best.rate !== next.rate ? 'success rate' : best.latency !== next.latency ? 'latency at equal success rate' : 'config order at equal figures';
  const figures = (toolId: string) => {
    const { successRate, p50LatencyMs } = views.get(toolId)!;
    if (successRate === null && p50LatencyMs === null) return `${toolId} (unmeasured)`;
    const rate = successRate === null ? 'unmeasured' : `${Number((successRate * 100).toFixed(1))}%`;
    return `${toolId} (success ${rate}, p50 ${p50LatencyMs === null ? 'unmeasured' : `${p50LatencyMs} ms`})`;
  };
  return decide(ranked[0], `chose ${figures(ranked[0])} over ${ranked.slice(1).map(figures).join(', ')} on ${decidedBy}`);
}

function matches(match: RoutingRule['match'], request: RouteRequest): boolean {
  return (
    (match.task_kind === undefined || match.task_kind.includes(request.taskKind)) &&
    (match.risk_tier === undefined || (request.riskTier != null && match.risk_tier.includes(request.riskTier))) &&
    (match.complexity === undefined || request.complexity === match.complexity)
  );
}

/** Apps listing the task kind and, when both name domains, the request's domain; in apps order. */
function capableTools(config: RouterConfig, request: RouteRequest): string[] {
  return Object.entries(config.apps)
    .filter(([, app]) => app.capabilities.task_kinds.includes(request.taskKind))
    .filter(([, app]) => !request.domain || app.capabilities.domains.length === 0 || app.capabilities.domains.includes(request.domain))
    .map(([toolId]) => toolId);
}

function noRouteMessage(request: RouteRequest, rule: RoutingRule | null, candidates: RouteCandidate[]): string {
  if (candidates.length === 0) {
    return `no rule matches and no tool lists task kind "${request.taskKind}"${request.domain ? ` for domain "${request.domain}"` : ''}`;
  }
  const where = rule ? `under rule "${rule.id}"` : '(no rule matches)';
  const tried = candidates.map((c) => `${c.toolId} (${c.skipped})`).join(', ');
  return `no tool can take task kind "${request.taskKind}" ${where}: ${tried}`;
}

import { describe, expect, it } from 'vitest';
import { ContractRegistry } from '../../src/engine/contracts/registry.js';
import { NoRouteError, route, validateRouterConfig, type RouteDecision, type RouteRequest, type RouterConfig, type RoutingStrategy, type ToolView } from '../../src/engine/routing/router.js';

const CONFIG: RouterConfig = {
  version: 1,
  apps: {
    aider: {
      command: 'aider --yes --no-auto-commits',
      capabilities: { task_kinds: ['code_edit', 'refactor', 'docs'], domains: ['backend', 'frontend'] },
      limits: { max_parallel: 2, timeout_seconds: 900 },
    },
    claude_code: {
      command: 'claude -p',
      capabilities: { task_kinds: ['code_edit', 'refactor', 'analysis', 'docs', 'test'], domains: [] },
      limits: { max_parallel: 4, timeout_seconds: 1200 },
    },
    ruff: {
      command: 'ruff check --fix',
      capabilities: { task_kinds: ['lint', 'format'], domains: ['backend'] },
      limits: { max_parallel: 8, timeout_seconds: 120 },
    },
    pytest_runner: {
      command: 'pytest -q',
      capabilities: { task_kinds: ['test'], domains: ['backend'] },
      limits: { max_parallel: 1, timeout_seconds: 600 },
    },
  },
  routing: {
    rules: [
      {
        id: 'risky-edits',
        match: { task_kind: ['code_edit', 'refactor'], risk_tier: ['high'] },
        select_from: ['claude_code', 'aider'],
        strategy: 'fixed',
      },
      { id: 'any-high-risk', match: { risk_tier: ['high'] }, select_from: ['claude_code'], strategy: 'fixed' },
      { id: 'simple-edits', match: { task_kind: ['code_edit'], complexity: 'low' }, select_from: ['aider', 'claude_code'], strategy: 'round_robin' },
      { id: 'edits', match: { task_kind: ['code_edit', 'refactor'] }, select_from: ['aider', 'claude_code'], strategy: 'auto' },
      { id: 'lint', match: { task_kind: ['lint'] }, select_from: ['ruff', 'aider'], strategy: 'fixed' },
      { id: 'tests', match: { task_kind: ['test'] }, select_from: ['pytest_runner', 'claude_code', 'aider'], strategy: 'round_robin' },
    ],
  },
  defaults: { max_attempts: 3, timeout_seconds: 900, strategy: 'fixed' },
};

const withDefault = (strategy: RoutingStrategy): RouterConfig => ({ ...CONFIG, defaults: { ...CONFIG.defaults, strategy } });

type Views = Record<string, Partial<ToolView>>;
const viewOf =
  (views: Views = {}) =>
  (toolId: string): ToolView => ({ breakerOpen: false, successRate: null, p50LatencyMs: null, ...views[toolId] });
const open = (...toolIds: string[]): Views => Object.fromEntries(toolIds.map((id) => [id, { breakerOpen: true }]));

function routeOf(request: RouteRequest, views: Views = {}, counter = 0, config: RouterConfig = CONFIG): RouteDecision {
  return route(config, request, viewOf(views), () => counter);
}

/** Routes against a counter store that survives only as JSON, as a database row would. */
function routeStored(store: string, request: RouteRequest, views: Views = {}): { decision: RouteDecision; store: string } {
  const counters = JSON.parse(store) as Record<string, number>;
  const decision = route(CONFIG, request, viewOf(views), (key) => counters[key] ?? 0);
  if (decision.nextRotation !== null) counters[decision.ruleId ?? '*'] = decision.nextRotation;
  return { decision, store: JSON.stringify(counters) };
}

describe('router fixtures', () => {
  it('are genuine router_config documents', () => {
    const registry = new ContractRegistry();
    for (const strategy of ['fixed', 'round_robin', 'auto'] as const) {
      expect(registry.validate('router_config', withDefault(strategy))).toEqual({ valid: true, errors: [] });
    }
    expect(validateRouterConfig(CONFIG)).toBe(CONFIG);
  });
});

describe('route: which rule', () => {
  it.each([
    ['the first matching rule wins over later ones', { taskKind: 'code_edit', riskTier: 'high', complexity: 'low' }, 'risky-edits'],
    ['a rule field not named matches anything (any-high-risk names no task kind)', { taskKind: 'docs', riskTier: 'high' }, 'any-high-risk'],
    ['complexity is one level to equal', { taskKind: 'code_edit', riskTier: 'low', complexity: 'low' }, 'simple-edits'],
    ['a different complexity falls through to the next rule', { taskKind: 'code_edit', riskTier: 'low', complexity: 'medium' }, 'edits'],
    ['a request without risk tier does not match a rule that names one', { taskKind: 'refactor' }, 'edits'],
    ['a null complexity does not match a rule that names one', { taskKind: 'code_edit', complexity: null }, 'edits'],
    ['task kind must be in the list', { taskKind: 'lint', riskTier: 'low', complexity: 'high' }, 'lint'],
    ['no rule names analysis at low risk', { taskKind: 'analysis', riskTier: 'low' }, null],
  ] as [string, RouteRequest, string | null][])('%s', (_name, request, ruleId) => {
    expect(routeOf(request).ruleId).toBe(ruleId);
  });
});

describe('route: strategies', () => {
  it.each([
    // fixed: the first eligible candidate.
    ['fixed', { taskKind: 'lint' }, {}, 0, 'ruff', 'rule "lint" matched, strategy fixed: chose ruff, the first eligible candidate'],
    ['fixed past an open breaker', { taskKind: 'lint' }, open('ruff'), 0, 'aider', 'rule "lint" matched, strategy fixed: chose aider, the first eligible candidate; passed over ruff (circuit open)'],
    // round_robin: candidates[counter % n].
    ['round_robin at 0', { taskKind: 'test' }, {}, 0, 'pytest_runner', 'rule "tests" matched, strategy round_robin: chose pytest_runner at rotation 0'],
    ['round_robin at 1', { taskKind: 'test' }, {}, 1, 'claude_code', 'rule "tests" matched, strategy round_robin: chose claude_code at rotation 1'],
    ['round_robin at 5', { taskKind: 'test' }, {}, 5, 'aider', 'rule "tests" matched, strategy round_robin: chose aider at rotation 5'],
    // auto with nothing measured: config order.
    [
      'auto, nothing measured',
      { taskKind: 'refactor' },
      {},
      0,
      'aider',
      'rule "edits" matched, strategy auto: chose aider (unmeasured) over claude_code (unmeasured) on config order at equal figures',
    ],
    [
      'auto by success rate',
      { taskKind: 'refactor' },
      { aider: { successRate: 0.9, p50LatencyMs: 800 }, claude_code: { successRate: 0.95, p50LatencyMs: 1200 } },
      0,
      'claude_code',
      'rule "edits" matched, strategy auto: chose claude_code (success 95%, p50 1200 ms) over aider (success 90%, p50 800 ms) ' + 'on success rate',
    ],
    [
      'auto by latency',
      { taskKind: 'refactor' },
      { aider: { successRate: 0.9, p50LatencyMs: 800 }, claude_code: { successRate: 0.9, p50LatencyMs: 700 } },
      0,
      'claude_code',
      'rule "edits" matched, strategy auto: chose claude_code (success 90%, p50 700 ms) over aider (success 90%, p50 800 ms) ' + 'on latency at equal success rate',
    ],
    [
      'auto tries an unmeasured tool before a measured one',
      { taskKind: 'refactor' },
      { aider: { successRate: 0.99, p50LatencyMs: 100 } },
      0,
      'claude_code',
      'rule "edits" matched, strategy auto: chose claude_code (unmeasured) over aider (success 99%, p50 100 ms) on success rate',
    ],
    [
      'auto with one eligible candidate',
      { taskKind: 'refactor' },
      { aider: { successRate: 0.99 }, ...open('claude_code') },
      0,
      'aider',
      'rule "edits" matched, strategy auto: chose aider, the only eligible candidate; passed over claude_code (circuit open)',
    ],
  ] as [string, RouteRequest, Views, number, string, string][])('%s', (_name, request, views, counter, toolId, reason) => {
    const decision = routeOf(request, views, counter);
    expect(decision.toolId).toBe(toolId);
    expect(decision.reason).toBe(reason);
  });

  it('reports the candidates in order, skipped ones with why, and a rotation only for round_robin', () => {
    expect(routeOf({ taskKind: 'test' }, open('claude_code'), 1)).toEqual({
      toolId: 'aider',
      ruleId: 'tests',
      strategy: 'round_robin',
      reason: 'rule "tests" matched, strategy round_robin: chose aider at rotation 1; passed over claude_code (circuit open)',
      candidates: [
        { toolId: 'pytest_runner', skipped: null },
        { toolId: 'claude_code', skipped: 'circuit open' },
        { toolId: 'aider', skipped: null },
      ],
      nextRotation: 3,
    });
    expect(routeOf({ taskKind: 'lint' }).nextRotation).toBeNull();
    expect(routeOf({ taskKind: 'refactor' }).nextRotation).toBeNull();
  });

  it('auto orders by success rate, then latency, then config order', () => {
    const config: RouterConfig = {
      ...CONFIG,
      routing: { rules: [{ id: 'all', match: {}, select_from: ['aider', 'claude_code', 'ruff', 'pytest_runner'], strategy: 'auto' }] },
    };
    const views: Views = {
      aider: { successRate: 0.8, p50LatencyMs: 100 },
      claude_code: { successRate: 0.9, p50LatencyMs: 500 },
      ruff: { successRate: 0.9, p50LatencyMs: 300 },
      pytest_runner: { successRate: 0.9, p50LatencyMs: 300 },
    };
    const order: string[] = [];
    const remaining = { ...views };
    for (let i = 0; i < 4; i++) {
      const { toolId } = routeOf({ taskKind: 'anything' }, remaining, 0, config);
      order.push(toolId);
      remaining[toolId] = { ...remaining[toolId], breakerOpen: true };
    }
    expect(order).toEqual(['ruff', 'pytest_runner', 'claude_code', 'aider']);
  });
});

describe('route: round_robin across restarts', () => {
  it('continues the rotation from the stored counter alone', () => {
    let store = '{}';
    const chosen: string[] = [];
    for (let i = 0; i < 7; i++) {
      const next = routeStored(store, { taskKind: 'test' });
      chosen.push(next.decision.toolId);
      store = next.store;
    }
    expect(chosen).toEqual(['pytest_runner', 'claude_code', 'aider', 'pytest_runner', 'claude_code', 'aider', 'pytest_runner']);
    expect(JSON.parse(store)).toEqual({ tests: 7 });
  });

  it('keeps the eligible tools in turn while a breaker is open, and takes the recovered tool back in its place', () => {
    let store = JSON.stringify({ tests: 1 });
    const chosen: string[] = [];
    const step = (views: Views) => {
      const next = routeStored(store, { taskKind: 'test' }, views);
      chosen.push(next.decision.toolId);
      store = next.store;
    };
    // claude_code's turn comes while it is open: aider takes it, then the cycle goes on.
    for (let i = 0; i < 4; i++) step(open('claude_code'));
    expect(chosen).toEqual(['aider', 'pytest_runner', 'aider', 'pytest_runner']);
    step({});
    step({});
    step({});
    expect(chosen.slice(4)).toEqual(['claude_code', 'aider', 'pytest_runner']);
  });

  it('never gives one tool two turns in a row while another is eligible', () => {
    let store = '{}';
    let previous: string | null = null;
    for (let i = 0; i < 30; i++) {
      // A breaker that flaps: claude_code is open on every third call.
      const next = routeStored(store, { taskKind: 'test' }, i % 3 === 0 ? open('claude_code') : {});
      expect(next.decision.toolId).not.toBe(previous);
      previous = next.decision.toolId;
      store = next.store;
    }
  });

  it('without a matching rule keeps its counter under "*"', () => {
    const asked: string[] = [];
    const config = withDefault('round_robin');
    const decisions = [0, 1, 2].map((counter) =>
      route(config, { taskKind: 'docs', domain: 'frontend' }, viewOf(), (key) => {
        asked.push(key);
        return counter;
      }),
    );
    expect(asked).toEqual(['*', '*', '*']);
    expect(decisions.map((d) => [d.ruleId, d.toolId, d.nextRotation])).toEqual([
      [null, 'aider', 1],
      [null, 'claude_code', 2],
      [null, 'aider', 3],
    ]);
  });

  it('refuses a stored counter that is not a non-negative integer', () => {
    for (const counter of [-1, 1.5, Number.NaN]) {
      expect(() => routeOf({ taskKind: 'test' }, {}, counter)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
  });
});

describe('route: without a matching rule', () => {
  it.each([
    ['fixed', { taskKind: 'analysis' }, {}, 'claude_code', ['claude_code']],
    ['fixed', { taskKind: 'docs', domain: 'frontend' }, {}, 'aider', ['aider', 'claude_code']],
    ['fixed', { taskKind: 'docs', domain: 'ml' }, {}, 'claude_code', ['claude_code']],
    ['fixed', { taskKind: 'docs' }, {}, 'aider', ['aider', 'claude_code']],
    ['fixed', { taskKind: 'format', domain: 'backend' }, {}, 'ruff', ['ruff']],
    ['fixed', { taskKind: 'format' }, {}, 'ruff', ['ruff']],
    ['auto', { taskKind: 'docs', domain: 'backend' }, { aider: { successRate: 0.5 }, claude_code: { successRate: 0.7 } }, 'claude_code', ['aider', 'claude_code']],
    ['round_robin', { taskKind: 'docs' }, {}, 'aider', ['aider', 'claude_code']],
  ] as [RoutingStrategy, RouteRequest, Views, string, string[]][])('%s: %j', (strategy, request, views, toolId, candidates) => {
    const decision = routeOf(request, views, 0, withDefault(strategy));
    expect(decision).toMatchObject({ toolId, ruleId: null, strategy });
    expect(decision.candidates.map((c) => c.toolId)).toEqual(candidates);
  });

  it('says in its reason that no rule matched', () => {
    expect(routeOf({ taskKind: 'docs', domain: 'frontend' }, open('aider')).reason).toBe(
      'no rule matched, so tools listing task kind "docs" and domain "frontend" were taken, strategy fixed: ' + 'chose claude_code, the first eligible candidate; passed over aider (circuit open)',
    );
  });
});

describe('route: no route', () => {
  it.each([
    ['every candidate of the rule is open', { taskKind: 'lint' }, open('ruff', 'aider'), 'no tool can take task kind "lint" under rule "lint": ruff (circuit open), aider (circuit open)'],
    ['every capable tool is open', { taskKind: 'analysis' }, open('claude_code'), 'no tool can take task kind "analysis" (no rule matches): claude_code (circuit open)'],
    ['no tool lists the task kind', { taskKind: 'deploy' }, {}, 'no rule matches and no tool lists task kind "deploy"'],
    ['no tool lists the task kind for the domain', { taskKind: 'format', domain: 'frontend' }, {}, 'no rule matches and no tool lists task kind "format" for domain "frontend"'],
  ] as [string, RouteRequest, Views, string][])('%s', (_name, request, views, message) => {
    let error: unknown;
    try {
      routeOf(request, views);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoRouteError);
    expect(error).toMatchObject({ code: 'NO_ROUTE', message, request });
    expect((error as NoRouteError).candidates.every((c) => c.skipped === 'circuit open')).toBe(true);
  });

  it('refuses a request without a task kind', () => {
    expect(() => routeOf({ taskKind: '' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

describe('validateRouterConfig', () => {
  const rules = (...extra: RouterConfig['routing']['rules']): RouterConfig => ({ ...CONFIG, routing: { rules: [...CONFIG.routing.rules, ...extra] } });

  it.each([
    [
      'an unknown tool in select_from',
      rules({ id: 'go', match: { task_kind: ['code_edit'] }, select_from: ['aider', 'gopls'], strategy: 'fixed' }),
      'router_config: routing.rules[6].select_from: rule "go" names unknown tool "gopls" (known: aider, claude_code, ruff, pytest_runner)',
    ],
    ['a rule id used twice', rules({ id: 'lint', match: {}, select_from: ['ruff'], strategy: 'fixed' }), 'router_config: routing.rules[6].id: "lint" is used by an earlier rule'],
    [
      'the reserved rule id "*"',
      rules({ id: '*', match: {}, select_from: ['ruff'], strategy: 'round_robin' }),
      'router_config: routing.rules[6].id: "*" is reserved for routing without a matching rule',
    ],
    [
      'an inherited property name as a tool',
      rules({ id: 'proto', match: {}, select_from: ['constructor'], strategy: 'fixed' }),
      'router_config: routing.rules[6].select_from: rule "proto" names unknown tool "constructor" (known: aider, claude_code, ruff, pytest_runner)',
    ],
  ] as [string, RouterConfig, string][])('refuses %s, which the JSON Schema lets through', (_name, config, message) => {
    expect(new ContractRegistry().validate('router_config', config).valid).toBe(true);
    expect(() => validateRouterConfig(config)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message }));
  });

  it('names every problem at once', () => {
    const config = rules({ id: 'a', match: {}, select_from: ['x'], strategy: 'fixed' }, { id: 'a', match: {}, select_from: ['y'], strategy: 'fixed' });
    expect(() => validateRouterConfig(config)).toThrow(
      expect.objectContaining({
        details: expect.objectContaining({
          problems: [expect.stringContaining('unknown tool "x"'), 'routing.rules[7].id: "a" is used by an earlier rule', expect.stringContaining('unknown tool "y"')],
        }),
      }),
    );
  });
});

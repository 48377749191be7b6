/** workstream_spec and task_spec documents for tests (valid against schema-json unless a test breaks them). */

export interface TaskOptions {
  kind?: string;
  maxAttempts?: number;
  retry?: 'fixed' | 'exponential' | 'none';
  onFailure?: 'skip_dependents' | 'continue' | 'abort_workstream';
  riskTier?: 'low' | 'medium' | 'high';
  complexity?: 'low' | 'medium' | 'high';
  domain?: string;
  /** task_spec inputs: what the worker hands the tool (left out when not given). */
  inputs?: unknown;
}

export function taskSpec(id: string, dependsOn: string[] = [], options: TaskOptions = {}) {
  return {
    task_id: id,
    name: `task ${id}`,
    kind: options.kind ?? 'code_edit',
    depends_on: dependsOn,
    allow_parallel: true,
    classification: {
      complexity: options.complexity ?? 'low',
      risk_tier: options.riskTier ?? 'low',
      ...(options.domain ? { domain: options.domain } : {}),
    },
    execution: { max_attempts: options.maxAttempts ?? 1, timeout_seconds: 600, retry_strategy: options.retry ?? 'none', background: false },
    error_handling: { on_failure: options.onFailure ?? 'skip_dependents' },
    acceptance: { checks: ['npm test'] },
    ...(options.inputs === undefined ? {} : { inputs: options.inputs }),
  };
}

export function workstreamSpec(tasks: ReturnType<typeof taskSpec>[], options: { id?: string; projectId?: string; maxParallel?: number; strategy?: 'fail_fast' | 'continue' } = {}) {
  return {
    workstream_id: options.id ?? 'ws-test',
    project_id: options.projectId ?? 'ws-project',
    phase_id: 'phase-1',
    name: 'A test workstream',
    objective: 'Exercise the scheduler',
    tags: ['test'],
    resource_scope: { read: ['**'], write: ['src/**'], create: ['src/**'], forbidden: ['.git/**'] },
    constraints: { patch_only: true, tests_must_pass: true, max_lines_changed: 200 },
    concurrency: { max_parallel: options.maxParallel ?? 4 },
    error_handling: { strategy: options.strategy ?? 'continue' },
    acceptance: { checks: [] },
    tasks,
  };
}

/** A router_config with three tools: coder, reviewer (code_edit under a rule) and linter (lint, by capability). */
export function routerConfig(strategy: 'fixed' | 'round_robin' | 'auto' = 'round_robin') {
  const app = (kinds: string[]) => ({ command: 'run', capabilities: { task_kinds: kinds, domains: [] }, limits: { max_parallel: 4, timeout_seconds: 600 } });
  return {
    version: 1,
    apps: { coder: app(['code_edit']), reviewer: app(['code_edit']), linter: app(['lint']) },
    routing: { rules: [{ id: 'edits', match: { task_kind: ['code_edit'] }, select_from: ['coder', 'reviewer'], strategy }] },
    defaults: { max_attempts: 2, timeout_seconds: 600, strategy: 'fixed' },
  };
}

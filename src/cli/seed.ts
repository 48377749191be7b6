import { loadConfig, describeDatabase } from '../config.js';
import type { WorkerActor } from '../engine/auth/identity.js';
import { ManualClock } from '../engine/core/clock.js';
import { createEngine, type Engine } from '../engine/index.js';
import type { Workstream } from '../engine/workstreams/entities.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openCommandDatabase } from './database.js';

export const SEED_USAGE = `usage: uet-gateway seed --demo [--runs 24]
  Adds a demo to an existing database (start the gateway once, or run migrate, to create it), through the engine:
  --runs runs (6 to 10000) of projects demo-web and demo-api in every state, with steps, notes, costs, patches and
  gates, a budget, a router configuration, the history of a fleet of 8 workers that worked part of the workstream on each
  tool (all stopped or crashed by now: live workers come from \`simulate\`), a task queue and a workstream, spread over
  the last two days. Safe to run while
  the gateway is running.`;

/** The projects the demo fills; README.md and docs/guide.md filter on them. */
export const DEMO_PROJECTS = ['demo-web', 'demo-api'] as const;
/** How far back the demo's history starts. */
const HISTORY_MS = 2 * 24 * 3600_000;

const admin: WorkerActor = { tokenId: null, tokenName: 'seed', anyWorker: true };
const DIFF = (file: string, n: number) => `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1,2 +1,2 @@\n context\n-old line ${n}\n+new line ${n}\n`;

/** Every tool the demo's steps name, in the full router_config form (no defaults relied on). */
export const DEMO_ROUTER_CONFIG = {
  version: 1,
  apps: {
    aider: { command: 'aider', capabilities: { task_kinds: ['code_edit'], domains: [] }, limits: { max_parallel: 4, timeout_seconds: 900 } },
    claude_code: { command: 'claude', capabilities: { task_kinds: ['code_edit', 'review'], domains: [] }, limits: { max_parallel: 2, timeout_seconds: 1800 } },
    pytest: { command: 'pytest', capabilities: { task_kinds: ['unit-tests'], domains: [] }, limits: { max_parallel: 4, timeout_seconds: 600 } },
    ruff: { command: 'ruff', capabilities: { task_kinds: ['lint'], domains: [] }, limits: { max_parallel: 8, timeout_seconds: 120 } },
  },
  routing: { rules: [{ id: 'risky-edits', match: { task_kind: ['code_edit'], risk_tier: ['high'] }, select_from: ['claude_code'], strategy: 'fixed' }] },
  defaults: { max_attempts: 3, timeout_seconds: 900, strategy: 'auto' },
};

/** A progress bar on stderr, redrawn in place (plain lines when stderr is not a terminal). */
function progress(total: number) {
  let done = 0;
  return (label: string) => {
    done += 1;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.round((done / total) * 100)).padStart(3)}% ${label}`;
    process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(80)}` : `${line}\n`);
    if (done === total && process.stderr.isTTY) process.stderr.write('\n');
  };
}

function parseRuns(raw: string): number {
  const runs = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(runs >= 6 && runs <= 10_000)) throw new UsageError(`--runs must be a whole number from 6 to 10000, got "${raw}"`, SEED_USAGE);
  return runs;
}

/**
 * `uet-gateway seed --demo`: fills the configured database with a realistic
 * demo through the engine (so every row, event and counter is as the API
 * would make it). The engine runs on a clock set in the past, so the demo is
 * history: no worker it registers is still live (a live one that never
 * heartbeats would be reaped a minute later, making the demo look broken).
 */
export async function seedCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, SEED_USAGE, { options: { demo: { type: 'boolean' }, runs: { type: 'string', default: '24' } } });
  if (!values.demo) throw new UsageError('--demo is required (the demo is the only data set seed writes)', SEED_USAGE);
  const runs = parseRuns(values.runs);
  const config = loadConfig();
  const orm = await openCommandDatabase(config, { create: false });
  try {
    const now = Date.now();
    const clock = new ManualClock(new Date(now - HISTORY_MS));
    const engine = createEngine({ orm, clock });
    const step = progress(runs + 2);
    // Routing first: the workstream's tasks are routed when it is submitted.
    await engine.routing.setConfig(DEMO_ROUTER_CONFIG);
    // Runs take the first 90% of the history, the fleet and the workstream minutes after it (all before now).
    await seedRuns(engine, clock, runs, (HISTORY_MS * 0.9) / runs, step);
    clock.set(new Date(now - HISTORY_MS * 0.1));
    // The workstream before the fleet: the fleet works on part of it, so its tools have figures and its costs name them.
    const workstream = await seedWorkstream(engine, step);
    await seedFleet(engine, clock, workstream.runId, step);
    await engine.liveWorkers.flush();
    console.log(`seeded ${runs} runs of ${DEMO_PROJECTS.join(' and ')}, a router configuration, 8 workers' history with a task queue, and a workstream into ${describeDatabase(config)}`);
    return 0;
  } finally {
    await orm.close();
  }
}

async function seedRuns(engine: Engine, clock: ManualClock, count: number, slotMs: number, step: (label: string) => void): Promise<void> {
  const endings = ['succeeded', 'failed', 'canceled', 'quarantined', 'running', 'pending'] as const;
  // A moment within the run's slot of the history: 20 of them per run.
  const later = () => clock.advance(slotMs / 20);
  const start = clock.now().getTime();
  await engine.costs.set({ scope: 'project', projectId: 'demo-web', currency: 'USD', limit: '50', thresholds: [50, 80, 100], action: 'notify' });
  for (let i = 0; i < count; i++) {
    clock.set(new Date(start + i * slotMs));
    const projectId = DEMO_PROJECTS[i % 3 === 0 ? 1 : 0];
    const run = await engine.runs.createRun({ projectId, phaseId: `phase-${(i % 4) + 1}`, origin: { trigger_type: i % 5 === 0 ? 'ci' : 'manual', requested_by: 'demo' } });
    const ending = endings[i % endings.length];
    if (ending !== 'pending') {
      later();
      await engine.runs.startRun(run.id);
      const gate = await engine.gates.create({ name: 'unit tests', type: 'unit_tests', runId: run.id, criteria: { maxFailures: 0, minCoverage: 70 } });
      for (const [s, toolId] of ['aider', 'claude_code', 'pytest'].entries()) {
        const stepRow = await engine.runs.startStep(admin, { runId: run.id, toolId, inputPrompt: 'demo prompt' });
        later();
        await engine.runs.completeStep(admin, { id: stepRow.id, state: s === 2 && ending === 'failed' ? 'failed' : 'succeeded', exitCode: 0 });
        await engine.costs.record(admin, {
          runId: run.id,
          resourceType: 'api_call',
          currency: 'USD',
          usage: { quantity: String(2_000 + i * 37 + s * 11), unit: 'tokens', rate: '0.000003' },
          metadata: { model: s === 1 ? 'claude-sonnet' : 'gpt-4o', tokensInput: 1_500 + i, tokensOutput: 500 + s },
        });
      }
      const { entry } = await engine.patches.create(admin, {
        projectId,
        runId: run.id,
        targetRepo: `git@example.test:${projectId}.git`,
        diffText: DIFF('src/app.ts', i),
        summary: `demo change #${i + 1}`,
      });
      await engine.patches.validate(admin, entry.id);
      await engine.patches.queue(admin, entry.id);
      await engine.patches.recordApply(admin, { ledgerId: entry.id, success: true, appliedFiles: ['src/app.ts'] });
      later();
      await engine.gates.start(admin, gate.id, 'npm test');
      const failing = ending === 'failed';
      later();
      await engine.gates.complete(admin, {
        id: gate.id,
        exitCode: 0,
        results: { totalTests: 120, passedTests: failing ? 117 : 120, failedTests: failing ? 3 : 0, skippedTests: 0, coveragePercent: 82.5 },
      });
      await engine.patches.verify({ ledgerId: entry.id });
      if (ending === 'succeeded') await engine.patches.commit(entry.id);
      await engine.runs.addRunNote({ runId: run.id, message: `demo run ${i + 1}` });
      later();
      if (ending === 'succeeded' || ending === 'failed') await engine.runs.completeRun({ id: run.id, state: ending, exitCode: ending === 'failed' ? 1 : 0 });
      if (ending === 'canceled') await engine.runs.cancelRun(run.id, 'superseded by a newer run');
      if (ending === 'quarantined') await engine.runs.quarantineRun(run.id, 'flaky tool output');
    }
    step(`run ${i + 1} of ${count} (${ending})`);
  }
}

/**
 * A fleet's history: workers that registered, heartbeat, worked through the
 * first tasks of the workstream (each attempt a step on the tool the router
 * chose, with its cost recorded against that attempt), and then shut down (6) or
 * crashed (2). The rest of the workstream and the task queue wait for the
 * workers `simulate` brings.
 */
async function seedFleet(engine: Engine, clock: ManualClock, workstreamRunId: string, step: (label: string) => void): Promise<void> {
  const types = ['executor', 'executor', 'executor', 'monitor', 'validator', 'scheduler', 'custom', 'executor'] as const;
  const minute = () => clock.advance(60_000);
  const workers = [];
  for (const type of types) workers.push(await engine.workers.register(admin, { type, config: { maxParallelTasks: 2, heartbeatInterval: 5, timeoutSeconds: 60 } }));
  for (let i = 0; i < 12; i++) await engine.tasks.create({ kind: i % 2 ? 'lint' : 'code_edit', payload: { file: `src/module${i}.ts` }, maxAttempts: 3 });
  minute();
  for (const [i, worker] of workers.slice(0, 6).entries()) {
    await engine.workers.heartbeat(admin, { workerId: worker.id, progress: 0 });
    const claimed = await engine.tasks.claim(admin, { workerId: worker.id, runId: workstreamRunId });
    if (!claimed) continue;
    const attempt = { runId: workstreamRunId, executionRequestId: claimed.task.executionRequestId };
    const stepRow = await engine.runs.startStep(admin, { ...attempt, toolId: claimed.task.toolId!, inputPrompt: `demo task ${claimed.task.specTaskId}` });
    minute();
    await engine.workers.heartbeat(admin, { workerId: worker.id, progress: 50 });
    await engine.runs.completeStep(admin, { id: stepRow.id, state: i === 4 ? 'failed' : 'succeeded', exitCode: i === 4 ? 1 : 0 });
    await engine.costs.record(admin, {
      ...attempt,
      resourceType: 'api_call',
      currency: 'USD',
      usage: { quantity: String(3_000 + i * 450), unit: 'tokens', rate: '0.000003' },
      metadata: { model: claimed.task.toolId === 'claude_code' ? 'claude-sonnet' : 'gpt-4o', tokensInput: 2_400 + i * 300, tokensOutput: 600 + i * 150 },
    });
    // The fifth worker's attempt (the workstream's tests) fails; it counts, against its tool too, and the task goes back to the queue.
    await engine.tasks.complete(admin, { workerId: worker.id, success: i !== 4, executionTimeSeconds: 40 + i * 7, error: i === 4 ? '3 tests failed' : null });
  }
  // The sixth worker holds a task of the queue when it crashes: the attempt counts and the task goes back to the queue.
  await engine.tasks.claim(admin, { workerId: workers[5]!.id, kinds: ['code_edit', 'lint'] });
  minute();
  await engine.liveWorkers.flush();
  for (const worker of [...workers.slice(0, 5), workers[7]!]) await engine.workers.shutdown(admin, worker.id);
  await engine.workers.crash(admin, { id: workers[5]!.id, errorMessage: 'out of memory', stackTrace: 'at demo (demo.ts:1)' });
  await engine.workers.crash(admin, { id: workers[6]!.id, errorMessage: 'lost its connection to the gateway' });
  step('the history of a fleet of 8 workers, and a task queue');
}

/** A workstream of 6 tasks whose kinds and risk route them to each of the demo's tools. */
async function seedWorkstream(engine: Engine, step: (label: string) => void): Promise<Workstream> {
  const task = (id: string, dependsOn: string[], kind = 'code_edit', riskTier = 'low') => ({
    task_id: id,
    name: id.replace(/-/g, ' '),
    kind,
    depends_on: dependsOn,
    allow_parallel: true,
    classification: { complexity: 'medium', risk_tier: riskTier },
    execution: { max_attempts: 3, timeout_seconds: 900, retry_strategy: 'exponential', background: false },
    error_handling: { on_failure: 'skip_dependents' },
    acceptance: { checks: ['npm test'] },
  });
  const workstream = await engine.workstreams.submit({
    workstream_id: 'demo-refactor',
    project_id: 'demo-web',
    phase_id: 'phase-2',
    name: 'Refactor the checkout flow',
    objective: 'Split the checkout module and keep every test green',
    tags: ['demo'],
    resource_scope: { read: ['**'], write: ['src/**', 'tests/**'], create: ['src/**', 'tests/**'], forbidden: ['.github/**'] },
    constraints: { patch_only: true, tests_must_pass: true, max_lines_changed: 400 },
    concurrency: { max_parallel: 2 },
    error_handling: { strategy: 'continue' },
    acceptance: { checks: ['npm test'] },
    tasks: [
      task('extract-cart', []),
      // A high-risk edit: the router's rule sends it to claude_code.
      task('extract-payment', [], 'code_edit', 'high'),
      task('wire-modules', ['extract-cart', 'extract-payment']),
      task('lint', ['wire-modules'], 'lint'),
      task('run-tests', ['wire-modules'], 'unit-tests'),
      task('update-docs', ['wire-modules']),
    ],
  });
  step('a workstream of 6 tasks');
  return workstream;
}

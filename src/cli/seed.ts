import { parseArgs } from 'node:util';
import { databaseOptions, describeDatabase, loadConfig } from '../config.js';
import type { WorkerActor } from '../engine/auth/identity.js';
import { migrateDatabase } from '../engine/db/orm.js';
import { openDatabase } from '../engine/database.js';
import { createEngine, type Engine } from '../engine/index.js';

export const SEED_USAGE = 'usage: uet-gateway seed --demo [--runs 24]';

const admin: WorkerActor = { tokenId: null, tokenName: 'seed', anyWorker: true };
const DIFF = (file: string, n: number) => `diff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1,2 +1,2 @@\n context\n-old line ${n}\n+new line ${n}\n`;

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

/**
 * `uet-gateway seed --demo`: fills the configured database with a realistic
 * demo through the engine (so every row, event and counter is as the API
 * would make it): runs in every state with steps, notes and costs, patches
 * through the ledger, gates with outcomes, a budget, a fleet of workers and
 * a task queue, and a workstream.
 */
export async function seedCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { demo: { type: 'boolean' }, runs: { type: 'string', default: '24' } } });
  const runs = Number(values.runs);
  if (!values.demo || !Number.isInteger(runs) || runs < 6 || runs > 10_000) {
    console.error(SEED_USAGE);
    return 2;
  }
  const config = loadConfig();
  const orm = await openDatabase(databaseOptions(config));
  try {
    await migrateDatabase(orm);
    const engine = createEngine({ orm });
    const step = progress(runs + 2);
    await seedRuns(engine, runs, step);
    await seedFleet(engine, step);
    await seedWorkstream(engine, step);
    await engine.liveWorkers.flush();
    console.log(`seeded ${runs} runs, 8 workers with a task queue, and a workstream into ${describeDatabase(config)}`);
    return 0;
  } finally {
    await orm.close();
  }
}

async function seedRuns(engine: Engine, count: number, step: (label: string) => void): Promise<void> {
  const endings = ['succeeded', 'failed', 'canceled', 'quarantined', 'running', 'pending'] as const;
  await engine.costs.set({ scope: 'project', projectId: 'demo-web', currency: 'USD', limit: '50', thresholds: [50, 80, 100], action: 'notify' });
  for (let i = 0; i < count; i++) {
    const projectId = i % 3 === 0 ? 'demo-api' : 'demo-web';
    const run = await engine.runs.createRun({ projectId, phaseId: `phase-${(i % 4) + 1}`, origin: { trigger_type: i % 5 === 0 ? 'ci' : 'manual', requested_by: 'demo' } });
    const ending = endings[i % endings.length];
    if (ending !== 'pending') {
      await engine.runs.startRun(run.id);
      const gate = await engine.gates.create({ name: 'unit tests', type: 'unit_tests', runId: run.id, criteria: { maxFailures: 0, minCoverage: 70 } });
      for (const [s, toolId] of ['aider', 'claude_code', 'pytest'].entries()) {
        const stepRow = await engine.runs.startStep(admin, { runId: run.id, toolId, inputPrompt: 'demo prompt' });
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
      await engine.patches.validate(entry.id);
      await engine.patches.queue(entry.id);
      await engine.patches.recordApply(admin, { ledgerId: entry.id, success: true, appliedFiles: ['src/app.ts'] });
      await engine.gates.start(admin, gate.id, 'npm test');
      const failing = ending === 'failed';
      await engine.gates.complete(admin, {
        id: gate.id,
        exitCode: 0,
        results: { totalTests: 120, passedTests: failing ? 117 : 120, failedTests: failing ? 3 : 0, skippedTests: 0, coveragePercent: 82.5 },
      });
      await engine.patches.verify({ ledgerId: entry.id });
      if (ending === 'succeeded') await engine.patches.commit(entry.id);
      await engine.runs.addRunNote({ runId: run.id, message: `demo run ${i + 1}` });
      if (ending === 'succeeded' || ending === 'failed') await engine.runs.completeRun({ id: run.id, state: ending, exitCode: ending === 'failed' ? 1 : 0 });
      if (ending === 'canceled') await engine.runs.cancelRun(run.id, 'superseded by a newer run');
      if (ending === 'quarantined') await engine.runs.quarantineRun(run.id, 'flaky tool output');
    }
    step(`run ${i + 1} of ${count} (${ending})`);
  }
}

async function seedFleet(engine: Engine, step: (label: string) => void): Promise<void> {
  const types = ['executor', 'executor', 'executor', 'monitor', 'validator', 'scheduler', 'custom', 'executor'] as const;
  const workers = [];
  for (const type of types) workers.push(await engine.workers.register(admin, { type, config: { maxParallelTasks: 2, heartbeatInterval: 5, timeoutSeconds: 60 } }));
  for (let i = 0; i < 12; i++) await engine.tasks.create({ kind: i % 2 ? 'lint' : 'code_edit', payload: { file: `src/module${i}.ts` }, maxAttempts: 3 });
  for (const worker of workers.slice(0, 3)) {
    const claimed = await engine.tasks.claim(admin, { workerId: worker.id });
    if (claimed && worker === workers[0]) await engine.tasks.complete(admin, { workerId: worker.id, success: true, executionTimeSeconds: 42 });
  }
  for (const worker of workers) await engine.workers.heartbeat(admin, { workerId: worker.id, progress: 50 });
  // The scheduler and the custom worker: one of each of `types` was registered above.
  await engine.workers.pause(admin, workers[5]!.id);
  await engine.workers.crash(admin, { id: workers[6]!.id, errorMessage: 'out of memory', stackTrace: 'at demo (demo.ts:1)' });
  step('a fleet of 8 workers and a task queue');
}

async function seedWorkstream(engine: Engine, step: (label: string) => void): Promise<void> {
  const task = (id: string, dependsOn: string[], kind = 'code_edit') => ({
    task_id: id,
    name: id.replace(/-/g, ' '),
    kind,
    depends_on: dependsOn,
    allow_parallel: true,
    classification: { complexity: 'medium', risk_tier: 'low' },
    execution: { max_attempts: 3, timeout_seconds: 900, retry_strategy: 'exponential', background: false },
    error_handling: { on_failure: 'skip_dependents' },
    acceptance: { checks: ['npm test'] },
  });
  await engine.workstreams.submit({
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
      task('extract-payment', []),
      task('wire-modules', ['extract-cart', 'extract-payment']),
      task('lint', ['wire-modules'], 'lint'),
      task('update-docs', ['wire-modules']),
    ],
  });
  step('a workstream of 5 tasks');
}

/**
 * The benchmark runner.
 *
 *   npm run bench                 full mode: the figures for bench/RESULTS.md
 *   npm run bench -- --quick      a smoke run (CI): every benchmark executes, small sizes, one round
 *   npm run bench -- --only fanout,replay
 *
 * Prints a table per benchmark and writes bench/results.json. The load
 * generator (this process) is pinned to core 0 and servers to core 1 when
 * taskset and two cores are available.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Benchmark } from './lib/benchmark.js';
import { canPin, describeMachine, LOAD_CORE } from './lib/machine.js';
import { printReport, saveResults, type BenchmarkReport, type Mode } from './lib/report.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, rounds: { type: 'string' } },
});

if (canPin && !process.env.BENCH_PINNED) {
  // Re-run this process pinned to the load core; servers get the other one.
  const child = spawnSync('taskset', ['-c', String(LOAD_CORE), process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: '1' },
  });
  process.exit(child.status ?? 1);
}

/** bench/suites/<n>-<name>.ts, in the order of their numbers (the issue's order). */
async function loadSuites(): Promise<Benchmark[]> {
  const dir = new URL('./suites/', import.meta.url);
  const files = readdirSync(dir)
    .filter((f) => /^\d+-[a-z-]+\.ts$/.test(f))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  return Promise.all(files.map(async (f) => ((await import(new URL(f, dir).href)) as { default: Benchmark }).default));
}
const SUITES = await loadSuites();

const mode: Mode = values.quick ? 'quick' : 'full';
const rounds = Number(values.rounds ?? (mode === 'quick' ? 1 : 3));
const only = values.only?.split(',').map((s) => s.trim());
const suites: Benchmark[] = only ? SUITES.filter((s) => only.includes(s.name)) : SUITES;
if (only && suites.length !== only.length) {
  console.error(`unknown benchmark in --only; known: ${SUITES.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const machine = describeMachine();
console.log(`# uet-gateway benchmarks, ${mode} mode, ${new Date().toISOString()}`);
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, node ${machine.node}, load ${machine.loadAverage.join(' ')}`);
console.log(canPin ? 'load generator pinned to core 0, servers to core 1' : 'not pinned (taskset or a second core missing)');

const reports: Record<string, BenchmarkReport> = {};
let failed = false;
for (const suite of suites) {
  const dir = mkdtempSync(join(tmpdir(), `uet-bench-${suite.name}-`));
  try {
    const report = await suite.run({ mode, rounds, dir, log: (message) => console.log(`  [${suite.name}] ${message}`) });
    reports[suite.name] = report;
    printReport(report);
  } catch (error) {
    failed = true;
    console.error(`benchmark ${suite.name} failed:`, error);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const written = saveResults({
  date: new Date().toISOString(),
  mode,
  command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
  machine,
  benchmarks: reports,
});
console.log(`\nwrote ${written.pathname} (${Object.keys(reports).length} benchmark(s))`);
process.exit(failed ? 1 : 0);

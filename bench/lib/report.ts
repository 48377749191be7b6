import { readFileSync, writeFileSync } from 'node:fs';
import type { Machine } from './machine.js';
import { round, spread as spreadOf, type Spread } from './stats.js';

export type Mode = 'quick' | 'full';

/** One measured figure: the spread over rounds, and its ratio to a baseline measured in the same run. */
export interface Figure {
  name: string;
  unit: string;
  value: Spread;
  /** The baseline's figure name (in the same benchmark), when this is compared with one. */
  baseline?: string;
  /** Median of the per-round ratios value / baseline. */
  ratio?: number;
}

export interface Goal {
  text: string;
  met: boolean;
  /** What was measured against the goal. */
  measured: string;
}

export interface BenchmarkReport {
  name: string;
  title: string;
  rounds: number;
  figures: Figure[];
  goals: Goal[];
  notes: string[];
}

export interface ResultsFile {
  date: string;
  mode: Mode;
  command: string;
  machine: Machine;
  benchmarks: Record<string, BenchmarkReport>;
}

/** Full runs go to bench/results.json (checked in with RESULTS.md); quick runs to results-quick.json (not). */
export const resultsPath = (mode: Mode) => new URL(mode === 'full' ? '../results.json' : '../results-quick.json', import.meta.url);

/** Adds (or replaces) benchmarks in the mode's results file, keeping the others there. */
export function saveResults(next: ResultsFile): URL {
  const path = resultsPath(next.mode);
  let previous: ResultsFile | undefined;
  try {
    previous = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
  } catch {
    previous = undefined;
  }
  const benchmarks = { ...previous?.benchmarks, ...next.benchmarks };
  writeFileSync(path, `${JSON.stringify({ ...next, benchmarks }, null, 2)}\n`);
  return path;
}

const fmt = (value: number) => (Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(round(value)));

export function printReport(report: BenchmarkReport): void {
  console.log(`\n## ${report.title} (${report.rounds} round${report.rounds === 1 ? '' : 's'})`);
  const rows = report.figures.map((f) => [f.name, f.unit, `${fmt(f.value.min)} / ${fmt(f.value.median)} / ${fmt(f.value.max)}`, f.ratio === undefined ? '' : `${round(f.ratio)}x ${f.baseline}`]);
  const header = ['figure', 'unit', 'min / median / max', 'ratio (median) vs'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(row));
  for (const goal of report.goals) console.log(`${goal.met ? 'MET ' : 'MISS'} ${goal.text}: ${goal.measured}`);
  for (const note of report.notes) console.log(`note: ${note}`);
}

/** A figure from its per-round values; with the baseline's per-round values, the median of the per-round ratios. */
export function figure(name: string, unit: string, values: number[], against?: { name: string; values: number[] }): Figure {
  const out: Figure = { name, unit, value: spreadOf(values) };
  if (against) {
    out.baseline = against.name;
    out.ratio = spreadOf(values.map((v, i) => v / against.values[i]!)).median;
  }
  return out;
}

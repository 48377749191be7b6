import type { BenchmarkReport, Mode } from './report.js';

export interface BenchContext {
  mode: Mode;
  /** Rounds to run (each figure is reported as min / median / max over them). */
  rounds: number;
  /** A scratch directory for databases, removed after the run. */
  dir: string;
  log(message: string): void;
}

/** One benchmark of bench/suites/: measures its figures and their baselines in the same run. */
export interface Benchmark {
  name: string;
  title: string;
  run(context: BenchContext): Promise<BenchmarkReport>;
}

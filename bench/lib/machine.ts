import { execFileSync } from 'node:child_process';
import { cpus, totalmem, loadavg, release, platform } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  loadAverage: number[];
  /** Whether server and load generator run pinned to different cores (taskset). */
  pinned: boolean;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pinning needs taskset and at least two cores: the load generator takes core 0, servers core 1. */
// os.cpus() counts the machine's CPUs even inside a process taskset has pinned to one.
const CORES = cpus().length;
export const canPin = CORES >= 2 && hasTaskset();

export const LOAD_CORE = 0;
export const SERVER_CORE = 1;

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: CORES,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    pinned: canPin,
  };
}

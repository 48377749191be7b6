import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { canPin, SERVER_CORE } from './machine.js';

const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const CLOCK_TICKS = 100;

export interface ServerProcess {
  /** What the server printed as ready (its url and anything else it reports). */
  info: Record<string, any>;
  pid: number;
  /** CPU seconds the process has used so far (user + system), from /proc. */
  cpuSeconds(): number;
  /** Resident set size in bytes, from /proc. */
  rssBytes(): number;
  /** Sends a line to the server's stdin; resolves with its next reply line as JSON. */
  ask(command: Record<string, unknown>): Promise<any>;
  stop(): Promise<void>;
}

/**
 * Starts a bench server script (bench/servers/*.ts) in its own Node process,
 * pinned to the server core when the machine allows, and waits for its first
 * stdout line: the JSON it reports when ready. Later stdout lines answer `ask`.
 * `script`: a file name in bench/servers/, or the URL of a server script elsewhere.
 */
export async function startServerProcess(script: string | URL, env: Record<string, string> = {}): Promise<ServerProcess> {
  const path = (typeof script === 'string' ? new URL(`../servers/${script}`, import.meta.url) : script).pathname;
  const args = ['--import', TSX, '--max-old-space-size=4096', path];
  // As `uet-gateway serve` runs (src/cli/main.ts), baselines too: graphql-js in production mode (NODE_ENV from the bench's environment wins).
  const childEnv = { NODE_ENV: 'production', ...process.env, ...env };
  const child: ChildProcess = canPin
    ? spawn('taskset', ['-c', String(SERVER_CORE), process.execPath, ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { env: childEnv, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const pending: ((line: string) => void)[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    pending.push(resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  lines.on('line', (line) => pending.shift()?.(line));
  const info = JSON.parse(await ready) as Record<string, any>;
  // Under taskset the child's pid is taskset's, which execs node in place: the same pid.
  const pid = child.pid!;
  return {
    info,
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    rssBytes: () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    ask(command) {
      return new Promise((resolve) => {
        pending.push((line) => resolve(JSON.parse(line)));
        child.stdin!.write(`${JSON.stringify(command)}\n`);
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** CPU seconds (user + system) process `pid` has used so far, from /proc; throws when it is not there. */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The CPU this process (the load generator) used over a phase, as a share of one core. */
export function loadGeneratorMeter(): () => number {
  const start = process.cpuUsage();
  const began = performance.now();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000 / (performance.now() - began);
  };
}

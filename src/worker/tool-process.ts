import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface ToolExit {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ToolStart {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** What the tool writes to file descriptor 3 (its cost lines). */
  onCostBytes(chunk: Buffer): void;
}

/** After the tool itself exits, processes it left behind get this long to close its pipes before they are killed. */
const LEFTOVER_MS = 1_000;

/**
 * A tool running in a process group of its own (detached), so that stopping
 * it reaches every process it started. stdin is closed; stdout and stderr
 * are read as they come; fd 3 is the cost pipe.
 */
export class ToolProcess {
  private readonly child: ChildProcess;
  /** Resolves once the tool has exited and its pipes are closed (or its leftovers killed). */
  readonly exited: Promise<ToolExit>;
  private exitedAt: ToolExit | null = null;

  constructor(start: ToolStart) {
    const [file, ...args] = start.argv;
    this.child = spawn(file!, args, { cwd: start.cwd, env: start.env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', start.onStdout);
    this.child.stderr!.on('data', start.onStderr);
    (this.child.stdio[3] as Readable).on('data', start.onCostBytes);
    // A pipe error (the tool closed fd 3 oddly) must not take the worker down; the exit says what happened.
    for (const pipe of [this.child.stdout, this.child.stderr, this.child.stdio[3]]) (pipe as Readable).on('error', () => {});
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => {
        this.exitedAt = { code, signal };
        // A grandchild holding the pipes open would keep 'close' from ever coming.
        const leftovers = setTimeout(() => this.signalGroup('SIGKILL'), LEFTOVER_MS);
        this.child.once('close', () => {
          clearTimeout(leftovers);
          this.signalGroup('SIGKILL');
          resolve({ code, signal });
        });
      });
    });
    // Handled by whoever awaits `exited`; a spawn failure must not be an unhandled rejection meanwhile.
    this.exited.catch(() => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM to the whole group, SIGKILL after the grace; resolves once the tool has exited. */
  async stop(graceMs: number): Promise<void> {
    if (this.exitedAt) {
      this.signalGroup('SIGKILL');
      return;
    }
    this.signalGroup('SIGTERM');
    const kill = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    try {
      await this.exited;
    } catch {
      // It never started: nothing to stop.
    } finally {
      clearTimeout(kill);
    }
  }

  /** Kills the group at once (the worker itself is going down). */
  kill(): void {
    this.signalGroup('SIGKILL');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}

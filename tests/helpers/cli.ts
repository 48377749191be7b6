import { execFile, spawn } from 'node:child_process';

/** The package's command, as `npx uet-gateway` runs it. */
export const BIN = new URL('../../bin/uet-gateway.js', import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command to its end as a user would; resolves to its exit code and output. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A long-running command (simulate): its output so far, a way to interrupt it as Ctrl-C would, and its end. */
export function startCli(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, ...output })));
  return {
    output,
    exited,
    pid: child.pid!,
    interrupt: () => child.kill('SIGINT'),
    terminate: () => child.kill('SIGTERM'),
    /** Sends a signal (SIGKILL unless given), as the OS or an operator would. */
    kill: (signal: NodeJS.Signals = 'SIGKILL') => child.kill(signal),
  };
}

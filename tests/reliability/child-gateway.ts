import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The admin secret the child gateways accept (UET_ADMIN_TOKEN). */
export const ADMIN_SECRET = 'reliability-admin-secret-0123456789';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when it exited. */
  at: number;
}

/** A gateway in a child process, started the way users start it: `uet-gateway serve` (bin/uet-gateway.js). */
export interface ChildGateway {
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  wsUrl: string;
  pid: number;
  exited: Promise<ExitStatus>;
  /** Lines it logged at level error (a clean run logs none). */
  errorLines: string[];
  /** Its last log lines (stdout and stderr), for failure messages. */
  tail: string[];
  /** Sends a signal by its pid (never by name). */
  signal(signal: NodeJS.Signals): void;
}

const running = new Set<ChildGateway>();

/**
 * Starts `node bin/uet-gateway.js serve` on a SQLite file, on a free port
 * (PORT=0: the URL is read from its "listening" log line), with rate limits
 * off so that the load is never refused.
 */
export async function startChildGateway(sqliteFile: string, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<ChildGateway> {
  const child = spawn(process.execPath, ['bin/uet-gateway.js', 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${sqliteFile}`,
      UET_ADMIN_TOKEN: ADMIN_SECRET,
      UET_RATE_LIMIT_MUTATIONS: '0',
      UET_RATE_LIMIT_HEARTBEATS: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const errorLines: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  createInterface({ input: child.stdout! }).on('line', keep);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gateway did not listen within ${timeoutMs} ms:\n${tail.join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      keep(line);
      if (line.includes('"level":"error"')) errorLines.push(line);
      const match = /"url":"([^"]+)"/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${status.code ?? status.signal}) before listening:\n${tail.join('\n')}`));
    });
  });
  const gateway: ChildGateway = {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid!,
    exited,
    errorLines,
    tail,
    signal: (signal) => {
      process.kill(child.pid!, signal);
    },
  };
  running.add(gateway);
  void exited.then(() => running.delete(gateway));
  return gateway;
}

/** For afterAll/finally: SIGKILLs (by pid) every child gateway of this file still running. */
export async function killChildGateways(): Promise<void> {
  const left = [...running];
  for (const gateway of left) {
    try {
      gateway.signal('SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(left.map((gateway) => gateway.exited));
}

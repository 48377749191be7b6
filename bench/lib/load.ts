import { Agent, request } from 'node:http';
import { percentile } from './stats.js';

export interface LoadResult {
  completed: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The load generator's CPU over the phase, as a share of one core (near 1: it, not the server, may be the bound). */
  clientCpu: number;
  /** The first failure seen, for the report. */
  firstFailure?: string;
}

export interface HttpLoadOptions {
  url: string;
  /** The request body of the i-th request (a JSON string); GET when absent. */
  body?: (i: number) => string;
  headers?: Record<string, string>;
  concurrency: number;
  /** Stop after this many requests... */
  count?: number;
  /** ...or after this many seconds. */
  seconds?: number;
  /** Checks a response body; a string return marks the request failed with that reason. */
  check?: (status: number, body: string) => string | undefined;
}

/**
 * A closed-loop HTTP load generator on keep-alive sockets (node:http, not
 * fetch: fetch's per-request cost would make the client the bottleneck).
 */
export async function httpLoad(options: HttpLoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL(options.url);
  const latencies: number[] = [];
  let issued = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const cpuStart = process.cpuUsage();
  const began = performance.now();
  const deadline = options.seconds ? began + options.seconds * 1000 : Infinity;
  const limit = options.count ?? Infinity;

  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = options.body?.(i);
      const started = performance.now();
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: body === undefined ? 'GET' : 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const problem = options.check?.(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            if (problem || (res.statusCode ?? 0) >= 400) {
              failed += 1;
              firstFailure ??= problem ?? `HTTP ${res.statusCode}`;
            } else latencies.push(performance.now() - started);
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        failed += 1;
        firstFailure ??= String(error);
        resolve();
      });
      req.end(body);
    });

  const worker = async () => {
    while (issued < limit && performance.now() < deadline) await one(issued++);
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  agent.destroy();
  return {
    completed: latencies.length,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    clientCpu: (cpu.user + cpu.system) / 1000 / (seconds * 1000),
    firstFailure,
  };
}

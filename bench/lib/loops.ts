/**
 * Load shapes over any transport (a call is a function returning a promise
 * of undefined, or of a failure's description):
 *
 *   closedLoop  L lanes, each calling again as soon as its last call ended:
 *               the maximum rate at that concurrency;
 *   openLoop    calls started on a fixed schedule whatever the answers do,
 *               latency timed from each call's scheduled start, so a stall
 *               shows up in the percentiles (no coordinated omission).
 */
import { percentile } from './stats.js';

export type Call = (i: number) => Promise<string | undefined>;

export interface LoopResult {
  /** Calls that ended well inside the measured window. */
  completed: number;
  failed: number;
  seconds: number;
  /** completed / seconds. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The load generator's CPU over the window, as a share of one core. */
  clientCpu: number;
  firstFailure?: string;
}

function summarize(latencies: number[], failed: number, seconds: number, cpu: NodeJS.CpuUsage, firstFailure?: string): LoopResult {
  const sorted = latencies.sort((a, b) => a - b);
  return {
    completed: sorted.length,
    failed,
    seconds,
    perSecond: sorted.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? NaN,
    clientCpu: (cpu.user + cpu.system) / 1000 / (seconds * 1000),
    firstFailure,
  };
}

/**
 * `lanes` callers, each sequential: lane l makes calls call(l, 0), call(l, 1)...
 * Runs `warmupSeconds` unmeasured, then counts what completes in the next
 * `seconds` (calls still in flight at the end are awaited, not counted: with
 * hundreds of lanes, counting them would stretch the window by one latency).
 */
export async function closedLoop(options: { lanes: number; warmupSeconds: number; seconds: number; call: (lane: number, n: number) => Promise<string | undefined> }): Promise<LoopResult> {
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  const began = performance.now();
  const windowStart = began + options.warmupSeconds * 1000;
  const windowEnd = windowStart + options.seconds * 1000;
  let cpuStart: NodeJS.CpuUsage | undefined;
  let cpuEnd: NodeJS.CpuUsage | undefined;
  const startTimer = setTimeout(() => (cpuStart = process.cpuUsage()), Math.max(0, windowStart - performance.now()));
  const endTimer = setTimeout(() => (cpuEnd = process.cpuUsage(cpuStart)), Math.max(0, windowEnd - performance.now()));
  const lane = async (l: number) => {
    for (let n = 0; performance.now() < windowEnd; n++) {
      const started = performance.now();
      const failure = await options.call(l, n).catch((error: unknown) => String(error));
      const ended = performance.now();
      if (started < windowStart || ended > windowEnd) continue;
      if (failure !== undefined) {
        failed += 1;
        firstFailure ??= failure;
      } else latencies.push(ended - started);
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, (_, l) => lane(l)));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  const cpu = cpuEnd ?? process.cpuUsage(cpuStart);
  return summarize(latencies, failed, options.seconds, cpu, firstFailure);
}

export interface OpenLoopResult extends LoopResult {
  /** The rate asked for. */
  targetPerSecond: number;
  /** Calls started / seconds: below the target when the client could not keep up. */
  offeredPerSecond: number;
  /** Calls that had not ended `drainMs` after the last was started (counted as failed too). */
  timedOut: number;
}

/**
 * Starts call(0), call(1), ... at `rate` per second for `seconds`, each at its
 * scheduled time (the scheduler wakes every millisecond or so and starts
 * every call that is due), and times each from that scheduled time.
 */
export async function openLoop(options: { rate: number; seconds: number; call: Call; drainMs?: number }): Promise<OpenLoopResult> {
  const latencies: number[] = [];
  let failed = 0;
  let firstFailure: string | undefined;
  let outstanding = 0;
  let onIdle: (() => void) | null = null;
  const interval = 1000 / options.rate;
  const total = Math.max(1, Math.floor(options.rate * options.seconds));
  const cpuStart = process.cpuUsage();
  const t0 = performance.now();
  let started = 0;
  while (started < total) {
    const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
    for (; started < due; started++) {
      const scheduled = t0 + started * interval;
      outstanding += 1;
      // Never rejects: the catch turns a failure into its message.
      void options
        .call(started)
        .catch((error: unknown) => String(error))
        .then((failure) => {
          if (failure !== undefined) {
            failed += 1;
            firstFailure ??= failure;
          } else latencies.push(performance.now() - scheduled);
          outstanding -= 1;
          if (outstanding === 0) onIdle?.();
        });
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  let timedOut = 0;
  if (outstanding > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (onIdle = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, options.drainMs ?? 10_000)))]);
    clearTimeout(timer);
    timedOut = outstanding;
    if (timedOut > 0) firstFailure ??= `${timedOut} call(s) unanswered after the drain`;
  }
  const result = summarize(latencies, failed + timedOut, seconds, cpu, firstFailure);
  return { ...result, targetPerSecond: options.rate, offeredPerSecond: started / seconds, timedOut };
}

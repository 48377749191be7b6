import { withJobLease } from '../engine/core/job-lease.js';
import type { Engine } from '../engine/index.js';
import type { JobIntervals } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';

export interface Jobs {
  /** Stops the timers, waits for a pass under way, and writes the last heartbeats. */
  stop(): Promise<void>;
}

/**
 * The engine's background work on timers. Each job runs one pass at a time
 * (a slow pass is not overlapped by the next), and a failed pass is logged,
 * never thrown.
 */
export function startJobs(engine: Engine, logger: Logger, intervals: JobIntervals, metrics: Metrics): Jobs {
  const running = new Set<Promise<unknown>>();
  const every = (ms: number, name: string, pass: () => Promise<unknown>) => {
    if (ms <= 0) return null;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      const done = pass()
        .catch((error: unknown) => logger.error(`${name} failed`, { error }))
        .finally(() => {
          busy = false;
          running.delete(done);
        });
      running.add(done);
    }, ms);
    timer.unref();
    return timer;
  };
  const timers = [
    every(intervals.heartbeatFlushMs, 'heartbeat flush', () => engine.liveWorkers.flush()),
    every(intervals.reaperIntervalMs, 'stale-worker reaper', async () => {
      // Heartbeats this instance holds are written first, so that whichever instance reaps sees them.
      await engine.liveWorkers.flush();
      const reaped = await withJobLease(engine.orm, 'stale-worker reaper', () => engine.reaper.reap());
      if (!reaped) return;
      const { crashedWorkers, timedOutTasks } = reaped;
      metrics.countJob('crashed_worker', crashedWorkers.length);
      metrics.countJob('timed_out_task', timedOutTasks.length);
      if (crashedWorkers.length > 0 || timedOutTasks.length > 0) {
        logger.warn('reaper acted', { crashedWorkers, timedOutTasks });
      }
    }),
    every(intervals.reaperIntervalMs, 'gate timeouts', async () => {
      const timedOutGates = (await withJobLease(engine.orm, 'gate timeouts', () => engine.gates.expireOverdue())) ?? [];
      metrics.countJob('timed_out_gate', timedOutGates.length);
      if (timedOutGates.length > 0) logger.warn('gates timed out', { timedOutGates });
    }),
    every(intervals.reaperIntervalMs, 'routing retry', () => withJobLease(engine.orm, 'routing retry', () => engine.routing.retryWaiting())),
    every(intervals.revocationPollMs, 'revocation poll', () => engine.tokens.pollRevocations()),
  ];
  return {
    async stop() {
      for (const timer of timers) if (timer) clearInterval(timer);
      await Promise.allSettled([...running]);
      await engine.liveWorkers.flush();
    },
  };
}

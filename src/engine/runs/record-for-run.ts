import { LockMode } from '@mikro-orm/core';
import type { WriteScope } from '../core/write-scope.js';
import { RunSchema, type Run, type RunEventKind } from './entities.js';
import { ERROR_EVENT_KINDS, appendRunEvent } from './event-log.js';

/**
 * Appends an event to a run's log on behalf of another module (tasks,
 * patches, gates), inside that module's write, and keeps the run's counters
 * in step: error kinds count in `errors`, `bump` changes the others.
 */
export async function recordForRun(scope: WriteScope, runId: string, kind: RunEventKind, payload: Record<string, unknown>, bump?: (run: Run) => void): Promise<void> {
  const counts = ERROR_EVENT_KINDS.has(kind);
  if (counts || bump) {
    const run = await scope.em.findOne(RunSchema, { id: runId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (run) {
      if (counts) run.errors += 1;
      bump?.(run);
    }
  }
  appendRunEvent(scope, { runId, kind, payload });
}

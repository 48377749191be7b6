import type { EntityManager } from '@mikro-orm/knex';
import type { WorkerActor } from '../auth/identity.js';
import { DomainError } from '../core/errors.js';

/**
 * Is there a task of the run (first parameter) held now or before by a
 * worker the token (second parameter) registered? One row at most; it reads
 * task by its (run_id, id) index and worker by its primary key. (No table
 * aliases, so that the index-plan test sees a scan of either table by name.)
 */
export const REPORT_ACCESS_SQL =
  'select 1 as found from task join worker on worker.id = task.worker_id where task.run_id = ? and worker.registered_by_token_id = ? limit 1';

/**
 * A worker token reports (steps, patches, gate results, costs) only about
 * a run one of the workers it registered holds, or has held, a task of;
 * a report naming no run, or a run none of its workers touched (or that
 * does not exist), is FORBIDDEN. Callers whose scope covers the fleet
 * (operate, admin: `anyWorker`) report on any run. Runs inside the caller's
 * transaction, before it writes anything; `what` names the report in the
 * message ("a step", "a cost" ...).
 */
export async function assertMayReport(em: EntityManager, actor: WorkerActor, runId: string | null, what: string): Promise<void> {
  if (actor.anyWorker) return;
  if (runId !== null && actor.tokenId !== null) {
    const rows = await em.execute<{ found: number }[]>(REPORT_ACCESS_SQL, [runId, actor.tokenId], 'all');
    if (rows.length > 0) return;
  }
  const message =
    runId === null
      ? `token "${actor.tokenName}" may report only on runs its workers hold or held tasks of: ${what} without a run is refused`
      : `token "${actor.tokenName}" may not report ${what} on run ${runId}: none of the workers it registered holds or has held a task of that run`;
  throw new DomainError('FORBIDDEN', message, { entity: 'Run', id: runId });
}

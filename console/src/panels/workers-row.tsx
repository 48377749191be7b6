// One row of the Workers table: the fields it shows, read by the page query and by workerStateChanged alike, with
// the latest heartbeat (batched, workers.tsx) laid over them and "N s ago" computed from the ticking clock.
import { memo } from 'preact/compat';
import { graphql, type ResultOf } from '../graphql';
import { formatDuration, shortId } from './runs-row';
import { isFinal, WorkerActions, type WorkerState } from './workers-actions';

/** Unmasked: the query and the subscription read these fields directly. */
export const WorkerRowFields = graphql(`
  fragment ConsoleWorkerRow on Worker @_unmask {
    id
    type
    state
    startedAt
    lastHeartbeat
    progress
    tools
    config {
      timeoutSeconds
    }
    currentTask {
      id
      kind
      name
    }
  }
`);

export type WorkerRowData = ResultOf<typeof WorkerRowFields>;

/** A heartbeat as workerHeartbeats delivers it: when the server took it, and the progress it reported. */
export interface Beat {
  at: string;
  progress: number | null;
}

/** The worker with a heartbeat newer than what it was read with laid over it. */
export function withBeat<W extends { lastHeartbeat: string | null; progress: number | null }>(worker: W, beat: Beat | undefined): W {
  if (!beat || (worker.lastHeartbeat && Date.parse(worker.lastHeartbeat) >= Date.parse(beat.at))) return worker;
  return { ...worker, lastHeartbeat: beat.at, progress: beat.progress };
}

const LIVE_STATES: ReadonlySet<WorkerState> = new Set(['IDLE', 'BUSY', 'PAUSED']);

/** As the server's Worker.stale, but as time passes: live and silent for longer than its timeout (counted from registering before a first heartbeat). */
export function isStale(worker: { state: WorkerState; lastHeartbeat: string | null; startedAt: string; config: { timeoutSeconds: number } }, now: number): boolean {
  return LIVE_STATES.has(worker.state) && now - Date.parse(worker.lastHeartbeat ?? worker.startedAt) > worker.config.timeoutSeconds * 1000;
}

/** "12 s ago", "3 m 05 s ago"; "never" before a first heartbeat. */
export function formatAgo(lastHeartbeat: string | null, now: number): string {
  return lastHeartbeat ? `${formatDuration(now - Date.parse(lastHeartbeat))} ago` : 'never';
}

export const formatProgress = (progress: number | null) => (progress === null ? '—' : `${Math.round(progress)} %`);

interface Props {
  worker: WorkerRowData;
  beat: Beat | undefined;
  now: number;
  /** Why this token cannot steer workers, or null when it can. */
  refused: string | null;
}

/** Memoised: a batch of heartbeats re-renders only the rows it touched, and the clock each row once a second. */
export const WorkerRow = memo(function WorkerRow({ worker: read, beat, now, refused }: Props) {
  const worker = withBeat(read, beat);
  const stale = isStale(worker, now);
  const task = worker.currentTask;
  return (
    <tr data-worker={worker.id} data-stale={stale || undefined}>
      <th scope="row">
        <a href={`/workers/${encodeURIComponent(worker.id)}`}>{shortId(worker.id)}</a>
      </th>
      <td>{worker.type}</td>
      <td data-field="state">
        {worker.state}
        {stale && <span class="stale"> stale</span>}
      </td>
      <td data-field="heartbeat">{worker.lastHeartbeat ? <time dateTime={worker.lastHeartbeat}>{formatAgo(worker.lastHeartbeat, now)}</time> : 'never'}</td>
      <td data-field="task">{task ? (task.name ?? task.kind) : '—'}</td>
      <td data-field="tools">{worker.tools.length ? worker.tools.join(', ') : 'any'}</td>
      <td data-field="progress">{formatProgress(worker.progress)}</td>
      <td data-field="actions">{isFinal(worker.state) ? '—' : <WorkerActions id={worker.id} state={worker.state} refused={refused} />}</td>
    </tr>
  );
});

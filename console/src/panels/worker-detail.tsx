import { useState } from 'preact/hooks';
import { useClient, useQuery } from '@urql/preact';
import { graphql, type ResultOf } from '../graphql';
import { useEvents } from '../live';
import { useNow } from '../now';
import { missingScope } from '../session/scopes';
import { useViewer } from '../session/session';
import { formatDuration, shortId } from './runs-row';
import { ActionsRefused, isFinal, WorkerActions } from './workers-actions';
import { formatAgo, formatProgress, isStale, withBeat, type Beat } from './workers-row';

const WorkerFields = graphql(`
  fragment ConsoleWorkerDetail on Worker @_unmask {
    id
    type
    state
    startedAt
    stoppedAt
    lastHeartbeat
    progress
    tools
    metadata
    activeTaskCount
    config {
      maxParallelTasks
      heartbeatInterval
      timeoutSeconds
    }
    statistics {
      tasksCompleted
      tasksFailed
      totalExecutionTime
      avgTaskDuration
    }
    crashInfo {
      crashedAt
      errorMessage
      stackTrace
    }
    currentTask {
      id
      kind
      name
      state
      attempt
      maxAttempts
      startedAt
      run {
        id
      }
    }
  }
`);

const WorkerQuery = graphql(
  `
    query ConsoleWorker($id: ID!) {
      worker(id: $id) {
        ...ConsoleWorkerDetail
      }
    }
  `,
  [WorkerFields],
);

/** The worker again after a reconnect: a document of its own, so its answer does not replace the one urql holds for WorkerQuery. */
const WorkerCatchUp = graphql(
  `
    query ConsoleWorkerCatchUp($id: ID!) {
      worker(id: $id) {
        ...ConsoleWorkerDetail
      }
    }
  `,
  [WorkerFields],
);

const WorkerChanges = graphql(
  `
    subscription ConsoleWorkerDetailChanges($id: ID) {
      workerStateChanged(workerId: $id) {
        worker {
          ...ConsoleWorkerDetail
        }
      }
    }
  `,
  [WorkerFields],
);

const WorkerBeats = graphql(`
  subscription ConsoleWorkerDetailBeats($id: ID) {
    workerHeartbeats(workerId: $id) {
      at
      progress
    }
  }
`);

type Detail = NonNullable<ResultOf<typeof WorkerQuery>['worker']>;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const when = (iso: string | null) => (iso ? <time dateTime={iso}>{dateTime.format(new Date(iso))}</time> : '—');

/** One worker: its fields, configuration, statistics, crash and current task; live through its own state changes and heartbeats. */
export function WorkerDetail({ id }: { id: string }) {
  const client = useClient();
  const viewer = useViewer();
  const now = useNow();
  const [{ data, error }] = useQuery({ query: WorkerQuery, variables: { id } });
  const [pushed, setPushed] = useState<{ read: unknown; worker: Detail | null; beat: Beat | undefined }>({ read: undefined, worker: null, beat: undefined });
  const fresh = pushed.read === data ? pushed : { read: data, worker: null, beat: undefined };
  const update = (change: Partial<typeof pushed>) => setPushed((previous) => ({ ...(previous.read === data ? previous : { read: data, worker: null, beat: undefined }), ...change }));

  useEvents(
    WorkerBeats,
    { id },
    ({ workerHeartbeats: beat }) => update({ beat }),
    () => undefined,
  );
  useEvents(
    WorkerChanges,
    { id },
    ({ workerStateChanged: change }) => update({ worker: change.worker }),
    () => {
      void client
        .query(WorkerCatchUp, { id })
        .toPromise()
        .then((result) => result.data?.worker && update({ worker: result.data.worker }));
    },
  );

  const read = fresh.worker ?? data?.worker;
  if (error) return <ErrorPage id={id} message={error.message} />;
  if (!data) return <p>Loading…</p>;
  if (!read) return <ErrorPage id={id} message="No worker has this id (it may be a link to another gateway)." />;
  const worker = withBeat(read, fresh.beat);
  const stale = isStale(worker, now);
  const refused = missingScope(viewer, 'OPERATE');
  const task = worker.currentTask;
  const stats = worker.statistics;
  return (
    <article class="worker-detail" data-worker={worker.id}>
      <h1>Worker {shortId(worker.id)}</h1>
      <p>
        <a href="/workers">All workers</a>
      </p>
      {!isFinal(worker.state) && (
        <>
          <ActionsRefused refused={refused} />
          <p>
            <WorkerActions id={worker.id} state={worker.state} refused={refused} />
          </p>
        </>
      )}
      <section aria-labelledby="worker-fields">
        <h2 id="worker-fields">State</h2>
        <dl>
          <dt>State</dt>
          <dd data-field="state">
            {worker.state}
            {stale && <span class="stale"> stale: silent for longer than its {worker.config.timeoutSeconds} s timeout</span>}
          </dd>
          <dt>Type</dt>
          <dd>{worker.type}</dd>
          <dt>Last heartbeat</dt>
          <dd data-field="heartbeat">{worker.lastHeartbeat ? <time dateTime={worker.lastHeartbeat}>{formatAgo(worker.lastHeartbeat, now)}</time> : 'never'}</dd>
          <dt>Progress</dt>
          <dd data-field="progress">{formatProgress(worker.progress)}</dd>
          <dt>Tools</dt>
          <dd>{worker.tools.length ? worker.tools.join(', ') : 'any'}</dd>
          <dt>Registered</dt>
          <dd>{when(worker.startedAt)}</dd>
          <dt>Stopped</dt>
          <dd>{when(worker.stoppedAt)}</dd>
          <dt>Id</dt>
          <dd>
            <code>{worker.id}</code>
          </dd>
          <dt>Metadata</dt>
          <dd>
            <code>{JSON.stringify(worker.metadata)}</code>
          </dd>
        </dl>
      </section>
      <section aria-labelledby="worker-task">
        <h2 id="worker-task">Current task</h2>
        {task ? (
          <dl>
            <dt>Task</dt>
            <dd>{task.name ?? task.kind}</dd>
            <dt>Kind</dt>
            <dd>{task.kind}</dd>
            <dt>State</dt>
            <dd>{task.state}</dd>
            <dt>Attempt</dt>
            <dd>
              {task.attempt} of {task.maxAttempts}
            </dd>
            <dt>Started</dt>
            <dd>{when(task.startedAt)}</dd>
            <dt>Run</dt>
            <dd>{task.run ? <a href={`/runs/${encodeURIComponent(task.run.id)}`}>{shortId(task.run.id)}</a> : 'none'}</dd>
            <dt>Tasks held</dt>
            <dd>
              {worker.activeTaskCount} of {worker.config.maxParallelTasks}
            </dd>
          </dl>
        ) : (
          <p>None.</p>
        )}
      </section>
      <section aria-labelledby="worker-config">
        <h2 id="worker-config">Configuration</h2>
        <dl>
          <dt>Parallel tasks</dt>
          <dd>{worker.config.maxParallelTasks}</dd>
          <dt>Heartbeat interval</dt>
          <dd>{worker.config.heartbeatInterval === null ? 'not declared' : `${worker.config.heartbeatInterval} s`}</dd>
          <dt>Stale after</dt>
          <dd>{worker.config.timeoutSeconds} s without a heartbeat</dd>
        </dl>
      </section>
      <section aria-labelledby="worker-stats">
        <h2 id="worker-stats">Statistics</h2>
        <dl>
          <dt>Tasks completed</dt>
          <dd data-field="completed">{stats.tasksCompleted}</dd>
          <dt>Attempts failed</dt>
          <dd data-field="failed">{stats.tasksFailed}</dd>
          <dt>Time on tasks</dt>
          <dd>{formatDuration(stats.totalExecutionTime * 1000)}</dd>
          <dt>Average task</dt>
          <dd>{formatDuration(stats.avgTaskDuration * 1000)}</dd>
        </dl>
      </section>
      {worker.crashInfo && (
        <section aria-labelledby="worker-crash">
          <h2 id="worker-crash">Crash</h2>
          <dl>
            <dt>Crashed</dt>
            <dd>{when(worker.crashInfo.crashedAt)}</dd>
            <dt>Error</dt>
            <dd data-field="crash">{worker.crashInfo.errorMessage}</dd>
          </dl>
          {worker.crashInfo.stackTrace && <pre>{worker.crashInfo.stackTrace}</pre>}
        </section>
      )}
    </article>
  );
}

function ErrorPage({ id, message }: { id: string; message: string }) {
  return (
    <>
      <h1>Worker {shortId(id)}</h1>
      <p role="alert">{message}</p>
      <p>
        <a href="/workers">All workers</a>
      </p>
    </>
  );
}

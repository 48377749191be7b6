import { useMemo } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { graphql } from '../graphql';
import { useEvents } from '../live';
import { cursorsOf, useLivePage, usePageState } from '../live-page';
import { NewNotice, PageTable } from '../live-page-parts';
import { useNow } from '../now';
import { missingScope } from '../session/scopes';
import { useViewer } from '../session/session';
import { ActionsRefused, type WorkerState } from './workers-actions';
import { useFrameBatch } from './workers-live';
import { WorkerRow, WorkerRowFields, type Beat } from './workers-row';

const STATES: readonly WorkerState[] = ['IDLE', 'BUSY', 'PAUSED', 'STOPPED', 'CRASHED'];

const WorkersQuery = graphql(
  `
    query ConsoleWorkers($filter: WorkerFilter, $first: Int, $after: String, $last: Int, $before: String) {
      workers(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          node {
            ...ConsoleWorkerRow
          }
        }
      }
    }
  `,
  [WorkerRowFields],
);

/** The page's workers again after a reconnect: a document of its own, so its answer does not replace the page shown. */
const WorkersCatchUp = graphql(
  `
    query ConsoleWorkersCatchUp($filter: WorkerFilter, $first: Int, $after: String, $last: Int, $before: String) {
      workers(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        edges {
          node {
            ...ConsoleWorkerRow
          }
        }
      }
    }
  `,
  [WorkerRowFields],
);

const WorkerChanges = graphql(
  `
    subscription ConsoleWorkerChanges {
      workerStateChanged {
        from
        worker {
          ...ConsoleWorkerRow
        }
      }
    }
  `,
  [WorkerRowFields],
);

/** Only the shown page's heartbeats cross the wire (workerIds), however large the fleet. */
const WorkerBeats = graphql(`
  subscription ConsoleWorkerBeats($ids: [ID!]) {
    workerHeartbeats(workerIds: $ids) {
      at
      progress
      worker {
        id
      }
    }
  }
`);

interface WorkersView {
  state: WorkerState | '';
  after: string;
  before: string;
}

const viewOf = (query: Record<string, string>): WorkersView => ({
  state: STATES.find((state) => state === query.state) ?? '',
  after: query.after ?? '',
  before: query.after ? '' : (query.before ?? ''),
});

function urlOf(view: WorkersView): string {
  const params = new URLSearchParams(Object.entries(view).filter(([, value]) => value));
  const query = params.toString();
  return query ? `/workers?${query}` : '/workers';
}

const variablesOf = (view: WorkersView) => ({ filter: { states: view.state ? [view.state] : null }, ...cursorsOf(view) });

/** The fleet, newest registered first, paged and filtered through the URL; live through heartbeats and state changes, never polled. */
export function Workers() {
  const { route } = useLocation();
  const viewer = useViewer();
  const now = useNow();
  // No isNew: a worker off the page changing state is not news; only registrations are (counted below).
  const page = useLivePage({ query: WorkersQuery, catchUp: WorkersCatchUp, viewOf, urlOf, variablesOf, rowsOf: (data) => data.workers });
  const { view, data, error } = page;
  const [beats, updateBeats] = usePageState(data, () => new Map<string, Beat>());
  const pushBeat = useFrameBatch<Beat>((batch) => updateBeats((shown) => new Map([...shown, ...batch])));
  const ids = useMemo(() => data?.workers.edges.map((edge) => edge.node.id) ?? [], [data]);

  useEvents(WorkerBeats, { ids }, ({ workerHeartbeats: beat }) => pushBeat(beat.worker.id, { at: beat.at, progress: beat.progress }), page.catchUp);
  useEvents(
    WorkerChanges,
    {},
    ({ workerStateChanged: change }) => {
      // A registration is counted rather than inserted, so the page holds still; it shows on page 1's next read.
      if (change.from === null) {
        if (!view.state || view.state === change.worker.state) page.countNew(change.worker.id);
      } else page.apply([change.worker]);
    },
    // Catch-up runs once, from the heartbeats' subscription (both share the socket).
    () => undefined,
  );

  const refused = missingScope(viewer, 'OPERATE');
  return (
    <>
      <h1>Workers</h1>
      <form class="runs-filter" onSubmit={(event) => event.preventDefault()}>
        <label>
          State{' '}
          <select value={view.state} onChange={(event) => route(urlOf({ state: event.currentTarget.value as WorkerState, after: '', before: '' }))}>
            <option value="">any</option>
            {STATES.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </label>
      </form>
      {error && <p role="alert">{error.message}</p>}
      <NewNotice page={page} one="worker registered" many="workers registered" />
      <ActionsRefused refused={refused} />
      <PageTable
        page={page}
        connection={data?.workers}
        class="workers"
        one="worker"
        many="workers"
        columns={['Worker', 'Type', 'State', 'Last heartbeat', 'Current task', 'Tools', 'Progress', 'Actions']}
        pages="Pages of workers"
        row={(worker) => <WorkerRow key={worker.id} worker={worker} beat={beats.get(worker.id)} now={now} refused={refused} />}
      />
    </>
  );
}

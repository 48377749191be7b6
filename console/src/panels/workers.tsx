import { useMemo, useRef, useState } from 'preact/hooks';
import { useClient, useQuery } from '@urql/preact';
import { useLocation } from 'preact-iso';
import { graphql, type ResultOf } from '../graphql';
import { useEvents } from '../live';
import { useNow } from '../now';
import { missingScope } from '../session/scopes';
import { useViewer } from '../session/session';
import { ActionsRefused } from './workers-actions';
import { useFrameBatch } from './workers-live';
import { WorkerRow, WorkerRowFields, type Beat, type WorkerRowData, type WorkerState } from './workers-row';

const PAGE_SIZE = 20;
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

const variablesOf = (view: WorkersView) => {
  const filter = { states: view.state ? [view.state] : null };
  return view.before ? { filter, last: PAGE_SIZE, before: view.before } : { filter, first: PAGE_SIZE, after: view.after || null };
};

type Page = ResultOf<typeof WorkersQuery>;

/** What events changed since the page was read: its workers' rows and heartbeats, and how many workers registered since. */
interface Live {
  page: Page | undefined;
  changed: ReadonlyMap<string, WorkerRowData>;
  beats: ReadonlyMap<string, Beat>;
  registered: number;
}
const unchanged = (page: Page | undefined): Live => ({ page, changed: new Map(), beats: new Map(), registered: 0 });

/** The fleet, newest registered first, paged and filtered through the URL; live through heartbeats and state changes, never polled. */
export function Workers() {
  const { url, query, route } = useLocation();
  const client = useClient();
  const viewer = useViewer();
  const now = useNow();
  const view = useMemo(() => viewOf(query), [url]);
  const variables = useMemo(() => variablesOf(view), [view]);
  const [{ data, error }, reread] = useQuery({ query: WorkersQuery, variables });
  const [stored, setLive] = useState<Live>(unchanged(undefined));
  const live = stored.page === data ? stored : unchanged(data);
  const current = useRef({ data, view });
  current.current = { data, view };
  const update = (change: (live: Live) => Live) => setLive((previous) => change(previous.page === current.current.data ? previous : unchanged(current.current.data)));
  const onPage = (live: Live, id: string) => live.page?.workers.edges.some((edge) => edge.node.id === id) ?? false;
  const applyRows = (workers: readonly WorkerRowData[]) =>
    update((live) => {
      const changed = new Map(live.changed);
      for (const worker of workers) if (onPage(live, worker.id)) changed.set(worker.id, worker);
      return { ...live, changed };
    });

  const pushBeat = useFrameBatch<Beat>((batch) => update((live) => ({ ...live, beats: new Map([...live.beats, ...batch]) })));
  const ids = useMemo(() => data?.workers.edges.map((edge) => edge.node.id) ?? [], [data]);
  const catchUp = () =>
    void client
      .query(WorkersCatchUp, variablesOf(current.current.view))
      .toPromise()
      .then((result) => result.data && applyRows(result.data.workers.edges.map((edge) => edge.node)));

  useEvents(WorkerBeats, { ids }, ({ workerHeartbeats: beat }) => pushBeat(beat.worker.id, { at: beat.at, progress: beat.progress }), catchUp);
  useEvents(
    WorkerChanges,
    {},
    ({ workerStateChanged: change }) => {
      // A registration is counted rather than inserted, so the page holds still; it shows on page 1's next read.
      if (change.from === null) update((live) => (!view.state || view.state === change.worker.state ? { ...live, registered: live.registered + 1 } : live));
      else applyRows([change.worker]);
    },
    // Catch-up runs once, from the heartbeats' subscription (both share the socket).
    () => undefined,
  );

  const refused = missingScope(viewer, 'OPERATE');
  const showNew = () => (view.after || view.before ? route(urlOf({ ...view, after: '', before: '' })) : reread({ requestPolicy: 'network-only' }));
  const workers = data?.workers;
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
      <p role="status" class="runs-notice">
        {live.registered > 0 && (
          <>
            {live.registered} new {live.registered === 1 ? 'worker' : 'workers'} registered —{' '}
            <button type="button" onClick={showNew}>
              show
            </button>
          </>
        )}
      </p>
      <ActionsRefused refused={refused} />
      {workers ? (
        <>
          <table class="workers">
            <caption>
              {workers.totalCount} {workers.totalCount === 1 ? 'worker' : 'workers'}
              {workers.edges.length < workers.totalCount && `, ${workers.edges.length} on this page`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Current task</th>
                <th scope="col">Tools</th>
                <th scope="col">Progress</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {workers.edges.map(({ node }) => (
                <WorkerRow key={node.id} worker={live.changed.get(node.id) ?? node} beat={live.beats.get(node.id)} now={now} refused={refused} />
              ))}
            </tbody>
          </table>
          <nav aria-label="Pages of workers" class="pages">
            {workers.pageInfo.hasPreviousPage && workers.pageInfo.startCursor && <a href={urlOf({ ...view, after: '', before: workers.pageInfo.startCursor })}>Previous page</a>}{' '}
            {workers.pageInfo.hasNextPage && workers.pageInfo.endCursor && <a href={urlOf({ ...view, after: workers.pageInfo.endCursor, before: '' })}>Next page</a>}
          </nav>
        </>
      ) : (
        !error && <p>Loading…</p>
      )}
    </>
  );
}

import { useMemo, useRef, useState } from 'preact/hooks';
import { useClient, useQuery } from '@urql/preact';
import { useLocation } from 'preact-iso';
import { graphql, type ResultOf } from '../graphql';
import { useEvents } from '../live';
import { filterOf, matches, RunsFilter, urlOf, viewOf, type RunsView } from './runs-filter';
import { RunRow, RunRowFields, type RunRowData } from './runs-row';

const PAGE_SIZE = 20;

const RunsQuery = graphql(
  `
    query ConsoleRuns($filter: RunFilter, $first: Int, $after: String, $last: Int, $before: String) {
      runs(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          node {
            ...ConsoleRunRow
          }
        }
      }
    }
  `,
  [RunRowFields],
);

/** The page's runs again after a reconnect: a document of its own, so its answer does not replace the page shown (urql shares answers by document and variables). */
const RunsCatchUp = graphql(
  `
    query ConsoleRunsCatchUp($filter: RunFilter, $first: Int, $after: String, $last: Int, $before: String) {
      runs(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        edges {
          node {
            ...ConsoleRunRow
          }
        }
      }
    }
  `,
  [RunRowFields],
);

const RunChanges = graphql(
  `
    subscription ConsoleRunChanges($projectId: ID) {
      runStateChanged(projectId: $projectId) {
        ...ConsoleRunRow
      }
    }
  `,
  [RunRowFields],
);

/** A later page walks forwards from its cursor, an earlier one backwards: either way the page holds still as runs are added. */
const variablesOf = (view: RunsView) => (view.before ? { filter: filterOf(view), last: PAGE_SIZE, before: view.before } : { filter: filterOf(view), first: PAGE_SIZE, after: view.after || null });

type Page = ResultOf<typeof RunsQuery>;

/** What events changed since the page was read: runs on it (shown in place) and matching runs newer than it (only counted). */
interface Live {
  page: Page | undefined;
  changed: ReadonlyMap<string, RunRowData>;
  fresh: ReadonlySet<string>;
}
const unchanged = (page: Page | undefined): Live => ({ page, changed: new Map(), fresh: new Set() });

/** A run as an event (or a re-read after a reconnect) shows it, applied to the page without moving a row. */
function applyRun(live: Live, view: RunsView, run: RunRowData): Live {
  const edges = live.page?.runs.edges;
  if (!edges) return live;
  if (edges.some((edge) => edge.node.id === run.id)) return { ...live, changed: new Map(live.changed).set(run.id, run) };
  const newest = edges[0]?.node.createdAt;
  const newer = newest ? Date.parse(run.createdAt) > Date.parse(newest) : !view.after && !view.before;
  if (!newer || !matches(view, run) || live.fresh.has(run.id)) return live;
  return { ...live, fresh: new Set(live.fresh).add(run.id) };
}

/** Runs, newest first, filtered and paged through the URL; live through runStateChanged, never polled, and the page never jumps. */
export function Runs() {
  const { url, query, route } = useLocation();
  const client = useClient();
  const view = useMemo(() => viewOf(query), [url]);
  const variables = useMemo(() => variablesOf(view), [view]);
  const [{ data, error }, reread] = useQuery({ query: RunsQuery, variables });
  const [stored, setLive] = useState<Live>(unchanged(undefined));
  // A page read again starts with no changes of its own.
  const live = stored.page === data ? stored : unchanged(data);
  const current = useRef({ data, view });
  current.current = { data, view };
  const apply = (runs: RunRowData[]) =>
    setLive((previous) => {
      const { data: page, view: shown } = current.current;
      return runs.reduce((next, run) => applyRun(next, shown, run), previous.page === page ? previous : unchanged(page));
    });

  useEvents(
    RunChanges,
    { projectId: view.project || null },
    (event) => apply([event.runStateChanged]),
    () => {
      // Events may have been missed while the socket was down: read the page again and apply it as events.
      void client
        .query(RunsCatchUp, variablesOf(current.current.view))
        .toPromise()
        .then((result) => result.data && apply(result.data.runs.edges.map((edge) => edge.node)));
    },
  );

  const showNew = () => (view.after || view.before ? route(urlOf({ ...view, after: '', before: '' })) : reread({ requestPolicy: 'network-only' }));
  const runs = data?.runs;
  return (
    <>
      <h1>Runs</h1>
      <RunsFilter view={view} />
      {error && <p role="alert">{error.message}</p>}
      <p role="status" class="runs-notice">
        {live.fresh.size > 0 && (
          <>
            {live.fresh.size} new {live.fresh.size === 1 ? 'run' : 'runs'} —{' '}
            <button type="button" onClick={showNew}>
              show
            </button>
          </>
        )}
      </p>
      {runs ? (
        <>
          <table class="runs">
            <caption>
              {runs.totalCount} {runs.totalCount === 1 ? 'run' : 'runs'}
              {runs.edges.length < runs.totalCount && `, ${runs.edges.length} on this page`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Project</th>
                <th scope="col">Phase</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {runs.edges.map(({ node }) => (
                <RunRow key={node.id} run={live.changed.get(node.id) ?? node} />
              ))}
            </tbody>
          </table>
          <nav aria-label="Pages of runs" class="pages">
            {runs.pageInfo.hasPreviousPage && runs.pageInfo.startCursor && <a href={urlOf({ ...view, after: '', before: runs.pageInfo.startCursor })}>Previous page</a>}{' '}
            {runs.pageInfo.hasNextPage && runs.pageInfo.endCursor && <a href={urlOf({ ...view, after: runs.pageInfo.endCursor, before: '' })}>Next page</a>}
          </nav>
        </>
      ) : (
        !error && <p>Loading…</p>
      )}
    </>
  );
}

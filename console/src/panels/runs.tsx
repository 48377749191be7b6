import { graphql } from '../graphql';
import { useEvents } from '../live';
import { cursorsOf, isNewer, useLivePage } from '../live-page';
import { NewNotice, PageTable } from '../live-page-parts';
import { filterOf, matches, RunsFilter, urlOf, viewOf, type RunsView } from './runs-filter';
import { RunRow, RunRowFields } from './runs-row';

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

const variablesOf = (view: RunsView) => ({ filter: filterOf(view), ...cursorsOf(view) });

/** Runs, newest first, filtered and paged through the URL; live through runStateChanged, never polled, and the page never jumps. */
export function Runs() {
  const page = useLivePage({
    query: RunsQuery,
    catchUp: RunsCatchUp,
    viewOf,
    urlOf,
    variablesOf,
    rowsOf: (data) => data.runs,
    isNew: (view, run, newest) => isNewer(view, run, newest) && matches(view, run),
  });
  const { view, data, error } = page;
  useEvents(RunChanges, { projectId: view.project || null }, (event) => page.apply([event.runStateChanged]), page.catchUp);

  return (
    <>
      <h1>Runs</h1>
      <RunsFilter view={view} />
      {error && <p role="alert">{error.message}</p>}
      <NewNotice page={page} one="run" many="runs" />
      <PageTable
        page={page}
        connection={data?.runs}
        class="runs"
        one="run"
        many="runs"
        columns={['Run', 'Project', 'Phase', 'State', 'Created', 'Duration']}
        pages="Pages of runs"
        row={(run) => <RunRow key={run.id} run={run} />}
      />
    </>
  );
}

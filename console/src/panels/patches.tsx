import { useQuery } from '@urql/preact';
import { graphql } from '../graphql';
import { useEvents, useRefreshOn } from '../live';
import { cursorsOf, isNewer, useLivePage } from '../live-page';
import { NewNotice, PageTable } from '../live-page-parts';
import { PatchesFilter } from './patches-filter';
import { PatchesFlow } from './patches-flow';
import { PatchRow, PatchRowFields } from './patches-row';
import { filterOf, matches, urlOf, viewOf, type PatchesView } from './patches-view';

const LedgerQuery = graphql(
  `
    query ConsolePatchLedger($filter: PatchLedgerFilter, $first: Int, $after: String, $last: Int, $before: String) {
      patchLedger(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          node {
            ...ConsolePatchRow
          }
        }
      }
    }
  `,
  [PatchRowFields],
);

/** The page's entries again after a reconnect: a document of its own, so its answer does not replace the page shown (urql shares answers by document and variables). */
const LedgerCatchUp = graphql(
  `
    query ConsolePatchLedgerCatchUp($filter: PatchLedgerFilter, $first: Int, $after: String, $last: Int, $before: String) {
      patchLedger(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
        edges {
          node {
            ...ConsolePatchRow
          }
        }
      }
    }
  `,
  [PatchRowFields],
);

const PatchChanges = graphql(
  `
    subscription ConsolePatchChanges($projectId: ID) {
      patchStateChanged(projectId: $projectId) {
        ...ConsolePatchRow
      }
    }
  `,
  [PatchRowFields],
);

const CountsQuery = graphql(`
  query ConsolePatchCounts($projectId: String) {
    patchLedgerCounts(filter: { projectId: $projectId }) {
      state
      count
    }
  }
`);

/** Any entry moving may change the counts: an event only says where it went, not where it left, so the counts are read again. */
const CountChanges = [
  graphql(`
    subscription ConsolePatchCountChanges {
      patchStateChanged {
        id
      }
    }
  `),
];

const variablesOf = (view: PatchesView) => ({ filter: filterOf(view), ...cursorsOf(view) });

/** The patch ledger as a flow by state and as a table, filtered and paged through the URL; live through patchStateChanged, never polled. */
export function Patches() {
  const page = useLivePage({
    query: LedgerQuery,
    catchUp: LedgerCatchUp,
    viewOf,
    urlOf,
    variablesOf,
    rowsOf: (data) => data.patchLedger,
    isNew: (view, entry, newest) => isNewer(view, entry, newest) && matches(view, entry),
  });
  const { view, data, error } = page;
  const [counts, rereadCounts] = useQuery({ query: CountsQuery, variables: { projectId: view.project || null } });
  useEvents(PatchChanges, { projectId: view.project || null }, (event) => page.apply([event.patchStateChanged]), page.catchUp);
  // useRefreshOn also re-reads the counts after a reconnect.
  useRefreshOn(CountChanges, () => rereadCounts({ requestPolicy: 'network-only' }));

  return (
    <>
      <h1>Patches</h1>
      {counts.error && <p role="alert">{counts.error.message}</p>}
      {counts.data && <PatchesFlow counts={counts.data.patchLedgerCounts} view={view} />}
      <h2>Ledger</h2>
      <PatchesFilter view={view} />
      {error && <p role="alert">{error.message}</p>}
      <NewNotice page={page} one="patch" many="patches" />
      <PageTable
        page={page}
        connection={data?.patchLedger}
        class="runs patches"
        one="patch"
        many="patches"
        columns={['Patch', 'State', 'Project', 'Run', 'Summary', 'Files changed', 'Created']}
        pages="Pages of patches"
        row={(entry) => <PatchRow key={entry.id} entry={entry} />}
      />
    </>
  );
}

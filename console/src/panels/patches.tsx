import { useMemo, useRef, useState } from 'preact/hooks';
import { useClient, useQuery } from '@urql/preact';
import { useLocation } from 'preact-iso';
import { graphql, type ResultOf } from '../graphql';
import { useEvents, useRefreshOn } from '../live';
import { PatchesFilter } from './patches-filter';
import { PatchesFlow } from './patches-flow';
import { PatchRow, PatchRowFields, type PatchRowData } from './patches-row';
import { filterOf, matches, urlOf, viewOf, type PatchesView } from './patches-view';

const PAGE_SIZE = 20;

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

/** A later page walks forwards from its cursor, an earlier one backwards: either way the page holds still as entries are added. */
const variablesOf = (view: PatchesView) => (view.before ? { filter: filterOf(view), last: PAGE_SIZE, before: view.before } : { filter: filterOf(view), first: PAGE_SIZE, after: view.after || null });

type Page = ResultOf<typeof LedgerQuery>;

/** What events changed since the page was read: entries on it (shown in place) and matching entries newer than it (only counted). */
interface Live {
  page: Page | undefined;
  changed: ReadonlyMap<string, PatchRowData>;
  fresh: ReadonlySet<string>;
}
const unchanged = (page: Page | undefined): Live => ({ page, changed: new Map(), fresh: new Set() });

/** An entry as an event (or a re-read after a reconnect) shows it, applied to the page without moving a row. */
function applyEntry(live: Live, view: PatchesView, entry: PatchRowData): Live {
  const edges = live.page?.patchLedger.edges;
  if (!edges) return live;
  if (edges.some((edge) => edge.node.id === entry.id)) return { ...live, changed: new Map(live.changed).set(entry.id, entry) };
  const newest = edges[0]?.node.createdAt;
  const newer = newest ? Date.parse(entry.createdAt) > Date.parse(newest) : !view.after && !view.before;
  if (!newer || !matches(view, entry) || live.fresh.has(entry.id)) return live;
  return { ...live, fresh: new Set(live.fresh).add(entry.id) };
}

/** The patch ledger as a flow by state and as a table, filtered and paged through the URL; live through patchStateChanged, never polled. */
export function Patches() {
  const { url, query, route } = useLocation();
  const client = useClient();
  const view = useMemo(() => viewOf(query), [url]);
  const variables = useMemo(() => variablesOf(view), [view]);
  const [{ data, error }, reread] = useQuery({ query: LedgerQuery, variables });
  const [counts, rereadCounts] = useQuery({ query: CountsQuery, variables: { projectId: view.project || null } });
  const [stored, setLive] = useState<Live>(unchanged(undefined));
  // A page read again starts with no changes of its own.
  const live = stored.page === data ? stored : unchanged(data);
  const current = useRef({ data, view });
  current.current = { data, view };
  const apply = (entries: PatchRowData[]) =>
    setLive((previous) => {
      const { data: page, view: shown } = current.current;
      return entries.reduce((next, entry) => applyEntry(next, shown, entry), previous.page === page ? previous : unchanged(page));
    });

  useEvents(
    PatchChanges,
    { projectId: view.project || null },
    (event) => apply([event.patchStateChanged]),
    () => {
      // Events may have been missed while the socket was down: read the page again and apply it as events.
      void client
        .query(LedgerCatchUp, variablesOf(current.current.view))
        .toPromise()
        .then((result) => result.data && apply(result.data.patchLedger.edges.map((edge) => edge.node)));
    },
  );
  // useRefreshOn also re-reads the counts after a reconnect.
  useRefreshOn(CountChanges, () => rereadCounts({ requestPolicy: 'network-only' }));

  const showNew = () => (view.after || view.before ? route(urlOf({ ...view, after: '', before: '' })) : reread({ requestPolicy: 'network-only' }));
  const ledger = data?.patchLedger;
  return (
    <>
      <h1>Patches</h1>
      {counts.error && <p role="alert">{counts.error.message}</p>}
      {counts.data && <PatchesFlow counts={counts.data.patchLedgerCounts} view={view} />}
      <h2>Ledger</h2>
      <PatchesFilter view={view} />
      {error && <p role="alert">{error.message}</p>}
      <p role="status" class="runs-notice">
        {live.fresh.size > 0 && (
          <>
            {live.fresh.size} new {live.fresh.size === 1 ? 'patch' : 'patches'} —{' '}
            <button type="button" onClick={showNew}>
              show
            </button>
          </>
        )}
      </p>
      {ledger ? (
        <>
          <table class="runs patches">
            <caption>
              {ledger.totalCount} {ledger.totalCount === 1 ? 'patch' : 'patches'}
              {ledger.edges.length < ledger.totalCount && `, ${ledger.edges.length} on this page`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Patch</th>
                <th scope="col">State</th>
                <th scope="col">Project</th>
                <th scope="col">Run</th>
                <th scope="col">Summary</th>
                <th scope="col">Files changed</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {ledger.edges.map(({ node }) => (
                <PatchRow key={node.id} entry={live.changed.get(node.id) ?? node} />
              ))}
            </tbody>
          </table>
          <nav aria-label="Pages of patches" class="pages">
            {ledger.pageInfo.hasPreviousPage && ledger.pageInfo.startCursor && <a href={urlOf({ ...view, after: '', before: ledger.pageInfo.startCursor })}>Previous page</a>}{' '}
            {ledger.pageInfo.hasNextPage && ledger.pageInfo.endCursor && <a href={urlOf({ ...view, after: ledger.pageInfo.endCursor, before: '' })}>Next page</a>}
          </nav>
        </>
      ) : (
        !error && <p>Loading…</p>
      )}
    </>
  );
}

import { useMemo, useRef, useState } from 'preact/hooks';
import type { AnyVariables, CombinedError, TypedDocumentNode } from '@urql/core';
import { useClient, useQuery } from '@urql/preact';
import { useLocation } from 'preact-iso';

/** A view paged through the URL: at most one cursor, after (a later page) or before (an earlier one); neither is page 1. */
export interface PagedView {
  after: string;
  before: string;
}

const PAGE_SIZE = 20;

/** A later page walks forwards from its cursor, an earlier one backwards: either way the page holds still as rows are added. */
export const cursorsOf = (view: PagedView) => (view.before ? { last: PAGE_SIZE, before: view.before } : { first: PAGE_SIZE, after: view.after || null });

/** The rows of a Relay page, as both the page query and its catch-up read them. */
interface Rows<Row> {
  edges: readonly { node: Row }[];
}

interface Options<View extends PagedView, Variables extends AnyVariables, Page, CatchUp, Row extends { id: string }> {
  /** The page shown. */
  query: TypedDocumentNode<Page, Variables>;
  /** The same rows under a document of its own, so its answer does not replace the page shown (urql shares answers by document and variables). */
  catchUp: TypedDocumentNode<CatchUp, Variables>;
  viewOf: (query: Record<string, string>) => View;
  urlOf: (view: View) => string;
  variablesOf: (view: View) => Variables;
  rowsOf: (data: Page | CatchUp) => Rows<Row>;
  /** Whether a row off the page is to be counted as new (`newest`: the page's first row); without it such rows are ignored. */
  isNew?: (view: View, row: Row, newest: Row | undefined) => boolean;
}

/** What events changed since the page was read: rows on it (shown in place) and ids of rows new since (only counted). */
interface Changes<Row> {
  changed: ReadonlyMap<string, Row>;
  fresh: ReadonlySet<string>;
}
const unchanged = <Row>(): Changes<Row> => ({ changed: new Map(), fresh: new Set() });

export interface LivePage<View, Page, Row> {
  view: View;
  data: Page | undefined;
  error: CombinedError | undefined;
  /** A row of the page as the latest event shows it. */
  latest: (row: Row) => Row;
  /** How many new rows the notice offers to show. */
  freshCount: number;
  /** Rows as events show them, applied without moving a row: on the page in place, off it counted if new. */
  apply: (rows: readonly Row[]) => void;
  /** Counts one new row (once per id) that an event announced. */
  countNew: (id: string) => void;
  /** Reads the page again and applies it as events: call it after a reconnect, since events may have been missed. */
  catchUp: () => void;
  /** Shows the new rows: page 1 read again. */
  showNew: () => void;
  /** The URL of the view at other cursors. */
  pageUrl: (after: string, before: string) => string;
}

/** Whether a row is newer than the page's newest (on an empty page: any row, on page 1 only). */
export const isNewer = (view: PagedView, row: { createdAt: string }, newest: { createdAt: string } | undefined): boolean =>
  newest ? Date.parse(row.createdAt) > Date.parse(newest.createdAt) : !view.after && !view.before;

/**
 * State that belongs to one read of a page: the page read again starts from `initial` again. Updates apply to the
 * page current when they run (an event may arrive after the page was read again).
 */
export function usePageState<Page, State>(page: Page | undefined, initial: () => State): [State, (change: (state: State) => State) => void] {
  const [stored, setStored] = useState<{ page: Page | undefined; state: State }>(() => ({ page: undefined, state: initial() }));
  const current = useRef(page);
  current.current = page;
  const update = (change: (state: State) => State) =>
    setStored((previous) => {
      const shown = current.current;
      return { page: shown, state: change(previous.page === shown ? previous.state : initial()) };
    });
  return [stored.page === page ? stored.state : initial(), update];
}

/**
 * A page of a Relay connection, its view (filter and cursors) in the URL, read by one query and kept live by the
 * events the panel applies: rows change in place and newer rows are only counted, so the page never jumps.
 */
export function useLivePage<View extends PagedView, Variables extends AnyVariables, Page, CatchUp, Row extends { id: string }>(
  options: Options<View, Variables, Page, CatchUp, Row>,
): LivePage<View, Page, Row> {
  const { url, query, route } = useLocation();
  const client = useClient();
  const view = useMemo(() => options.viewOf(query), [url]);
  const variables = useMemo(() => options.variablesOf(view), [view]);
  const [{ data, error }, reread] = useQuery({ query: options.query, variables });
  const [live, update] = usePageState<Page, Changes<Row>>(data, unchanged);
  const current = useRef({ data, view, options });
  current.current = { data, view, options };

  const applyRow = (changes: Changes<Row>, row: Row): Changes<Row> => {
    const { data: page, view: shown, options } = current.current;
    const edges = page && options.rowsOf(page).edges;
    if (!edges) return changes;
    if (edges.some((edge) => edge.node.id === row.id)) return { ...changes, changed: new Map(changes.changed).set(row.id, row) };
    if (!options.isNew?.(shown, row, edges[0]?.node) || changes.fresh.has(row.id)) return changes;
    return { ...changes, fresh: new Set(changes.fresh).add(row.id) };
  };
  const apply = (rows: readonly Row[]) => update((changes) => rows.reduce(applyRow, changes));
  const pageUrl = (after: string, before: string) => options.urlOf({ ...view, after, before });

  return {
    view,
    data,
    error,
    latest: (row) => live.changed.get(row.id) ?? row,
    freshCount: live.fresh.size,
    apply,
    countNew: (id) => update((changes) => (changes.fresh.has(id) ? changes : { ...changes, fresh: new Set(changes.fresh).add(id) })),
    catchUp: () => {
      const { view: shown, options } = current.current;
      void client
        .query(options.catchUp, options.variablesOf(shown))
        .toPromise()
        .then((result) => result.data && apply(options.rowsOf(result.data).edges.map((edge) => edge.node)));
    },
    showNew: () => (view.after || view.before ? route(pageUrl('', '')) : reread({ requestPolicy: 'network-only' })),
    pageUrl,
  };
}

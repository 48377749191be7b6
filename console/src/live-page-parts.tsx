// The markup a live page shares: the notice of new rows, and the table of the page with its count and the links to
// the pages around it.
import type { ComponentChild } from 'preact';
import type { LivePage } from './live-page';

interface Noun {
  one: string;
  many: string;
}

const nounFor = (count: number, { one, many }: Noun) => (count === 1 ? one : many);

/** Always in the page, so a screen reader announces the count as it appears. */
export function NewNotice({ page, ...noun }: Noun & { page: Pick<LivePage<unknown, unknown, unknown>, 'freshCount' | 'showNew'> }) {
  const count = page.freshCount;
  return (
    <p role="status" class="runs-notice">
      {count > 0 && (
        <>
          {count} new {nounFor(count, noun)} —{' '}
          <button type="button" onClick={page.showNew}>
            show
          </button>
        </>
      )}
    </p>
  );
}

interface Connection<Row> {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor?: string | null; endCursor?: string | null };
  edges: readonly { node: Row }[];
}

interface TableProps<Row> extends Noun {
  page: Pick<LivePage<unknown, unknown, Row>, 'error' | 'latest' | 'pageUrl'>;
  /** The page's connection; undefined until it is read. */
  connection: Connection<Row> | undefined;
  class: string;
  columns: readonly string[];
  /** The pager's accessible name. */
  pages: string;
  /** A row as the latest event shows it; keyed by its id. */
  row: (row: Row) => ComponentChild;
}

/** The page as a table whose caption counts the rows that match, then the links to the pages before and after it. */
export function PageTable<Row>({ page, connection, class: className, columns, pages, row, ...noun }: TableProps<Row>) {
  if (!connection) return page.error ? null : <p>Loading…</p>;
  const { totalCount, edges, pageInfo } = connection;
  return (
    <>
      <table class={className}>
        <caption>
          {totalCount} {nounFor(totalCount, noun)}
          {edges.length < totalCount && `, ${edges.length} on this page`}
        </caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{edges.map(({ node }) => row(page.latest(node)))}</tbody>
      </table>
      <nav aria-label={pages} class="pages">
        {pageInfo.hasPreviousPage && pageInfo.startCursor && <a href={page.pageUrl('', pageInfo.startCursor)}>Previous page</a>}{' '}
        {pageInfo.hasNextPage && pageInfo.endCursor && <a href={page.pageUrl(pageInfo.endCursor, '')}>Next page</a>}
      </nav>
    </>
  );
}

// The markup a live page shares: the count of its rows, the notice of new ones and the links to other pages.

interface Noun {
  one: string;
  many: string;
}

const nounFor = (count: number, { one, many }: Noun) => (count === 1 ? one : many);

/** The table's caption: how many rows match, and how many of them this page shows when it is not all. */
export function PageCaption({ connection, ...noun }: Noun & { connection: { totalCount: number; edges: readonly unknown[] } }) {
  const { totalCount, edges } = connection;
  return (
    <caption>
      {totalCount} {nounFor(totalCount, noun)}
      {edges.length < totalCount && `, ${edges.length} on this page`}
    </caption>
  );
}

/** Always in the page, so a screen reader announces the count as it appears. */
export function NewNotice({ count, onShow, ...noun }: Noun & { count: number; onShow: () => void }) {
  return (
    <p role="status" class="runs-notice">
      {count > 0 && (
        <>
          {count} new {nounFor(count, noun)} —{' '}
          <button type="button" onClick={onShow}>
            show
          </button>
        </>
      )}
    </p>
  );
}

interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor?: string | null;
  endCursor?: string | null;
}

export function Pager({ label, pageInfo, pageUrl }: { label: string; pageInfo: PageInfo; pageUrl: (after: string, before: string) => string }) {
  return (
    <nav aria-label={label} class="pages">
      {pageInfo.hasPreviousPage && pageInfo.startCursor && <a href={pageUrl('', pageInfo.startCursor)}>Previous page</a>}{' '}
      {pageInfo.hasNextPage && pageInfo.endCursor && <a href={pageUrl(pageInfo.endCursor, '')}>Next page</a>}
    </nav>
  );
}

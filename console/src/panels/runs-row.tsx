// One row of the Runs table: the fields it shows, read by the page query and by the live state changes alike.
import { graphql, type ResultOf } from '../graphql';

/** Unmasked: the query and the subscription read these fields directly. */
export const RunRowFields = graphql(`
  fragment ConsoleRunRow on Run @_unmask {
    id
    projectId
    phaseId
    state
    createdAt
    startedAt
    endedAt
  }
`);

export type RunRowData = ResultOf<typeof RunRowFields>;

/** A global id (base64url of "Run:ULID") shortened to the ULID's last 8 characters: its random part, enough to tell runs apart by eye. */
export function shortId(globalId: string): string {
  try {
    const decoded = atob(globalId.replace(/-/g, '+').replace(/_/g, '/'));
    return decoded.slice(decoded.indexOf(':') + 1).slice(-8);
  } catch {
    return globalId.slice(-8);
  }
}

/** 1 h 02 m, 3 m 05 s, 12 s. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} m`;
  if (s >= 60) return `${Math.floor(s / 60)} m ${pad(s % 60)} s`;
  return `${s} s`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Start to end; an active run shows since when it runs rather than a figure that would go stale without ticking. */
function Duration({ run }: { run: RunRowData }) {
  if (!run.startedAt) return <>—</>;
  if (!run.endedAt) return <>since {dateTime.format(new Date(run.startedAt))}</>;
  return <>{formatDuration(Date.parse(run.endedAt) - Date.parse(run.startedAt))}</>;
}

export function RunRow({ run }: { run: RunRowData }) {
  return (
    <tr data-run={run.id}>
      <th scope="row">
        <a href={`/runs/${encodeURIComponent(run.id)}`}>{shortId(run.id)}</a>
      </th>
      <td>{run.projectId}</td>
      <td>{run.phaseId}</td>
      <td data-field="state">{run.state}</td>
      <td>
        <time dateTime={run.createdAt}>{dateTime.format(new Date(run.createdAt))}</time>
      </td>
      <td>
        <Duration run={run} />
      </td>
    </tr>
  );
}

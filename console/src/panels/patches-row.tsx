// One row of the patch ledger table: the fields it shows, read by the page query and by the live state changes alike.
import { graphql, type ResultOf } from '../graphql';
import { shortId } from './runs-row';

/** Unmasked: the query and the subscription read these fields directly. */
export const PatchRowFields = graphql(`
  fragment ConsolePatchRow on LedgerEntry @_unmask {
    id
    state
    projectId
    createdAt
    run {
      id
    }
    patch {
      summary
      scope {
        filesTouched
        lineInsertions
        lineDeletions
      }
    }
  }
`);

export type PatchRowData = ResultOf<typeof PatchRowFields>;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function PatchRow({ entry }: { entry: PatchRowData }) {
  const { scope } = entry.patch;
  const files = scope.filesTouched.length;
  return (
    <tr data-entry={entry.id}>
      <th scope="row">
        <a href={`/patches/${encodeURIComponent(entry.id)}`}>{shortId(entry.id)}</a>
      </th>
      <td data-field="state">{entry.state}</td>
      <td>{entry.projectId}</td>
      <td>{entry.run ? <a href={`/runs/${encodeURIComponent(entry.run.id)}`}>{shortId(entry.run.id)}</a> : '—'}</td>
      <td data-field="summary">{entry.patch.summary ?? '—'}</td>
      <td data-field="files">
        {files} {files === 1 ? 'file' : 'files'} (+{scope.lineInsertions} −{scope.lineDeletions})
      </td>
      <td>
        <time dateTime={entry.createdAt}>{dateTime.format(new Date(entry.createdAt))}</time>
      </td>
    </tr>
  );
}

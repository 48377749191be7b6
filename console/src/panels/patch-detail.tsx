import { useRef, useState } from 'preact/hooks';
import { useClient, useQuery } from '@urql/preact';
import { graphql, type ResultOf } from '../graphql';
import { useEvents } from '../live';
import { DiffView } from './patch-diff-view';
import { PatchVerdicts, VerdictFields } from './patch-verdicts';
import { shortId } from './runs-row';

/** What a state change alters: read with the page and replaced by each event for this entry. */
const LiveFields = graphql(
  `
    fragment ConsolePatchDetailLive on LedgerEntry @_unmask {
      id
      state
      updatedAt
      stateHistory {
        state
        at
        reason
      }
      apply {
        attempts
        lastErrorCode
        lastErrorMessage
      }
      ...ConsolePatchVerdicts
    }
  `,
  [VerdictFields],
);

const DetailQuery = graphql(
  `
    query ConsolePatchDetail($id: ID!) {
      ledgerEntry(id: $id) {
        projectId
        phaseId
        createdAt
        run {
          id
        }
        patch {
          summary
          targetRepo
          baseRef
          diffText
          scope {
            filesTouched
            hunks
            lineInsertions
            lineDeletions
          }
        }
        ...ConsolePatchDetailLive
      }
    }
  `,
  [LiveFields],
);

/** The live fields again after a reconnect (not the diff, which never changes). */
const DetailCatchUp = graphql(
  `
    query ConsolePatchDetailCatchUp($id: ID!) {
      ledgerEntry(id: $id) {
        ...ConsolePatchDetailLive
      }
    }
  `,
  [LiveFields],
);

const DetailChanges = graphql(
  `
    subscription ConsolePatchDetailChanges($projectId: ID) {
      patchStateChanged(projectId: $projectId) {
        ...ConsolePatchDetailLive
      }
    }
  `,
  [LiveFields],
);

type LiveData = ResultOf<typeof LiveFields>;
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const When = ({ at }: { at: string }) => <time dateTime={at}>{dateTime.format(new Date(at))}</time>;

/** One ledger entry (a LedgerEntry global id in the URL): its state and history, policy verdicts and the diff; live through patchStateChanged. */
export function PatchDetail({ id }: { id: string }) {
  const client = useClient();
  const [{ data, error }] = useQuery({ query: DetailQuery, variables: { id } });
  const [changed, setChanged] = useState<{ read: typeof data; live: LiveData } | undefined>();
  const read = useRef(data);
  read.current = data;
  const apply = (live: LiveData) => live.id === read.current?.ledgerEntry?.id && setChanged({ read: read.current, live });
  const entry = data?.ledgerEntry;

  useEvents(
    DetailChanges,
    { projectId: entry?.projectId ?? null },
    (event) => apply(event.patchStateChanged),
    () => {
      void client
        .query(DetailCatchUp, { id })
        .toPromise()
        .then((result) => result.data?.ledgerEntry && apply(result.data.ledgerEntry));
    },
  );

  if (error) return <p role="alert">{error.message}</p>;
  if (!data) return <p>Loading…</p>;
  if (!entry)
    return (
      <>
        <h1>No such patch</h1>
        <p>
          No ledger entry has the id {id}. <a href="/patches">All patches</a>
        </p>
      </>
    );
  // A page read again starts from what it read.
  const live = changed?.read === data ? changed.live : entry;
  const { patch } = entry;
  return (
    <>
      <p>
        <a href="/patches">All patches</a>
      </p>
      <h1>Patch {shortId(entry.id)}</h1>
      <dl class="facts">
        <dt>State</dt>
        <dd data-field="state">{live.state}</dd>
        <dt>Summary</dt>
        <dd>{patch.summary ?? '—'}</dd>
        <dt>Project</dt>
        <dd>
          {entry.projectId}
          {entry.phaseId && `, phase ${entry.phaseId}`}
        </dd>
        <dt>Run</dt>
        <dd>{entry.run ? <a href={`/runs/${encodeURIComponent(entry.run.id)}`}>{shortId(entry.run.id)}</a> : '—'}</dd>
        <dt>Target</dt>
        <dd>
          {patch.targetRepo}
          {patch.baseRef && ` at ${patch.baseRef}`}
        </dd>
        <dt>Created</dt>
        <dd>
          <When at={entry.createdAt} />
        </dd>
        <dt>Apply attempts</dt>
        <dd>
          {live.apply.attempts}
          {(live.apply.lastErrorCode || live.apply.lastErrorMessage) && `; the latest failed: ${[live.apply.lastErrorCode, live.apply.lastErrorMessage].filter(Boolean).join(': ')}`}
        </dd>
      </dl>

      <h2>State history</h2>
      <table class="history">
        <caption>Every state it entered, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">State</th>
            <th scope="col">When</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {live.stateHistory.map((step, i) => (
            <tr key={i}>
              <th scope="row">{step.state}</th>
              <td>
                <When at={step.at} />
              </td>
              <td>{step.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <PatchVerdicts entry={live} />

      <h2>Changes</h2>
      <p>
        {patch.scope.filesTouched.length} {patch.scope.filesTouched.length === 1 ? 'file' : 'files'}, {patch.scope.hunks} {patch.scope.hunks === 1 ? 'hunk' : 'hunks'}: {patch.scope.lineInsertions}{' '}
        {patch.scope.lineInsertions === 1 ? 'line' : 'lines'} added, {patch.scope.lineDeletions} removed.
      </p>
      <DiffView diffText={patch.diffText} />
    </>
  );
}

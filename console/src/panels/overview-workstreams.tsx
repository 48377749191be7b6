// The Overview's active workstreams: each bar moves with its run's progress snapshots; the list is read again when a
// workstream's run changes state (one starts, ends or is submitted) and after a reconnect. No polling.
import { useState } from 'preact/hooks';
import { useQuery } from '@urql/preact';
import { graphql, type ResultOf } from '../graphql';
import { useEvents } from '../live';

/** Unmasked: the list query and runProgress read these fields directly. */
const ProgressFields = graphql(`
  fragment ConsoleWorkstreamProgress on ProgressSnapshot @_unmask {
    completionPercent
    completed
    total
    estimatedCompletionAt
  }
`);

type Progress = ResultOf<typeof ProgressFields>;

/** How many active workstreams the Overview lists (the caption gives the total). */
export const WORKSTREAMS_SHOWN = 10;

const ActiveWorkstreamsQuery = graphql(
  `
    query ConsoleActiveWorkstreams($first: Int!) {
      workstreams(first: $first, filter: { active: true }) {
        totalCount
        edges {
          node {
            id
            name
            projectId
            run {
              id
            }
            progress {
              ...ConsoleWorkstreamProgress
            }
          }
        }
      }
    }
  `,
  [ProgressFields],
);

type Workstream = ResultOf<typeof ActiveWorkstreamsQuery>['workstreams']['edges'][number]['node'];

const RunChanges = graphql(`
  subscription ConsoleWorkstreamRunChanges {
    runStateChanged {
      workstreamId
    }
  }
`);

const ProgressChanges = graphql(
  `
    subscription ConsoleWorkstreamProgressChanges($runId: ID!) {
      runProgress(runId: $runId) {
        ...ConsoleWorkstreamProgress
      }
    }
  `,
  [ProgressFields],
);

const percent = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const clock = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function WorkstreamRow({ workstream }: { workstream: Workstream }) {
  // A snapshot applies to the read it arrived after; a newer read (after a re-read) replaces it.
  const [live, setLive] = useState<{ read: Progress; now: Progress } | null>(null);
  const progress = live && live.read === workstream.progress ? live.now : workstream.progress;
  useEvents(
    ProgressChanges,
    { runId: workstream.run.id },
    (event) => setLive({ read: workstream.progress, now: event.runProgress }),
    // The list is read again after a reconnect.
    () => undefined,
  );
  const shown = `${percent.format(progress.completionPercent)} %`;
  return (
    <tr data-workstream={workstream.id}>
      <th scope="row">
        <a href={`/runs/${encodeURIComponent(workstream.run.id)}`}>{workstream.name}</a>
      </th>
      <td>{workstream.projectId}</td>
      <td class="progress-cell">
        <progress max={100} value={progress.completionPercent} aria-label={`${workstream.name}: ${shown} complete`} /> <span data-field="percent">{shown}</span> ({progress.completed} of{' '}
        {progress.total} tasks)
      </td>
      <td data-field="eta">{progress.estimatedCompletionAt ? <time dateTime={progress.estimatedCompletionAt}>{clock.format(new Date(progress.estimatedCompletionAt))}</time> : 'no estimate yet'}</td>
    </tr>
  );
}

export function ActiveWorkstreams() {
  const [{ data, error }, reread] = useQuery({ query: ActiveWorkstreamsQuery, variables: { first: WORKSTREAMS_SHOWN } });
  useEvents(
    RunChanges,
    {},
    // Only a workstream's run changes which workstreams are active.
    (event) => {
      if (event.runStateChanged.workstreamId !== null) reread();
    },
    () => reread(),
  );
  return (
    <section aria-labelledby="overview-workstreams">
      <h2 id="overview-workstreams">Active workstreams</h2>
      {error && <p role="alert">{error.message}</p>}
      {data &&
        (data.workstreams.edges.length ? (
          <table class="workstreams">
            <caption>
              {data.workstreams.totalCount > data.workstreams.edges.length
                ? `The newest ${data.workstreams.edges.length} of ${data.workstreams.totalCount} active workstreams`
                : `${data.workstreams.totalCount} active ${data.workstreams.totalCount === 1 ? 'workstream' : 'workstreams'}`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Workstream</th>
                <th scope="col">Project</th>
                <th scope="col">Progress</th>
                <th scope="col">ETA</th>
              </tr>
            </thead>
            <tbody>
              {data.workstreams.edges.map(({ node }) => (
                <WorkstreamRow key={node.id} workstream={node} />
              ))}
            </tbody>
          </table>
        ) : (
          <p>No workstream is active.</p>
        ))}
    </section>
  );
}

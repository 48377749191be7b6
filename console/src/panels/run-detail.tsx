// The run detail page: its header and actions, step timeline, live event log, patches and gates, each live.
import { useState } from 'preact/hooks';
import { useQuery } from '@urql/preact';
import { errorText } from '../api';
import { graphql } from '../graphql';
import { useRefreshOn } from '../live';
import { RunActions } from './run-actions';
import { RunGates } from './run-gates';
import { RunCostFields, RunHeader, RunHeaderFields, RunProgressFields } from './run-header';
import { RunLog } from './run-log';
import { RunPatches } from './run-patches';
import { RunTimeline } from './run-timeline';
import { shortId } from './runs-row';

const RunDetailQuery = graphql(
  `
    query ConsoleRunDetail($id: ID!) {
      run(id: $id) {
        ...ConsoleRunHeader
      }
      runProgress(runId: $id) {
        ...ConsoleRunProgress
      }
      costSummary(filter: { runId: $id }) {
        ...ConsoleRunCost
      }
    }
  `,
  [RunHeaderFields, RunProgressFields, RunCostFields],
);

/** Each re-reads the header: a state change, a task's progress, a cost. */
const HEADER_CHANGES = [
  graphql(`
    subscription ConsoleRunDetailState($runId: ID!) {
      runStateChanged(runId: $runId) {
        id
      }
    }
  `),
  graphql(`
    subscription ConsoleRunDetailProgress($runId: ID!) {
      runProgress(runId: $runId) {
        at
      }
    }
  `),
  graphql(`
    subscription ConsoleRunDetailCost($runId: ID!) {
      costRecorded(runId: $runId) {
        id
      }
    }
  `),
];

/** Log kinds after which the timeline (its steps) or the gates have changed; gate outcomes also come through gateOutcomes. */
const STEP_KINDS = new Set(['TOOL_CALL_STARTED', 'TOOL_CALL_COMPLETED', 'TOOL_CALL_ERROR', 'RUN_STATE_CHANGED']);
const GATE_KINDS = new Set(['GATE_CREATED', 'GATE_STARTED']);

export function RunDetail({ id }: { id: string }) {
  const variables = { id };
  const [{ data, error }, reread] = useQuery({ query: RunDetailQuery, variables });
  useRefreshOn(HEADER_CHANGES, () => reread({ requestPolicy: 'network-only' }), { runId: id });
  // Bumped by the log's events, so the timeline and the gates read again after theirs.
  const [versions, setVersions] = useState({ steps: 0, gates: 0 });
  const onLogEvent = (kind: string) => {
    if (STEP_KINDS.has(kind)) setVersions((v) => ({ ...v, steps: v.steps + 1 }));
    if (GATE_KINDS.has(kind)) setVersions((v) => ({ ...v, gates: v.gates + 1 }));
  };

  if (error) {
    return (
      <>
        <h1>Run {shortId(id)}</h1>
        <p role="alert">{errorText(error)}</p>
      </>
    );
  }
  if (!data) return <p>Loading…</p>;
  if (!data.run) {
    return (
      <>
        <h1>Run {shortId(id)}</h1>
        <p role="alert">No run has the id {id}.</p>
      </>
    );
  }
  return (
    <div class="run-detail">
      <RunHeader run={data.run} progress={data.runProgress} costs={data.costSummary} />
      <RunActions run={data.run} />
      <RunTimeline id={id} version={versions.steps} />
      <RunLog key={id} id={id} onEvent={onLogEvent} />
      <div class="run-outcomes">
        <RunPatches id={id} />
        <RunGates id={id} version={versions.gates} />
      </div>
    </div>
  );
}

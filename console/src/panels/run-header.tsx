// The run detail's header: what the run is, its state, progress, ETA and cost.
import { graphql, type ResultOf } from '../graphql';
import { formatDuration, shortId } from './runs-row';

/** Unmasked: the page query reads these fields for the header and the actions. */
export const RunHeaderFields = graphql(`
  fragment ConsoleRunHeader on Run @_unmask {
    id
    projectId
    phaseId
    state
    stateReason
    startedAt
    endedAt
  }
`);

export type RunHeaderData = ResultOf<typeof RunHeaderFields>;

/** Unmasked, like the header's fields: the page query reads them for the progress and ETA. */
export const RunProgressFields = graphql(`
  fragment ConsoleRunProgress on ProgressSnapshot @_unmask {
    completionPercent
    total
    completed
    failed
    skipped
    running
    pending
    estimatedCompletionAt
    estimatedRemainingSeconds
  }
`);

/** Unmasked: the run's cost per currency. */
export const RunCostFields = graphql(`
  fragment ConsoleRunCost on CurrencyCostSummary @_unmask {
    currency
    total
    count
  }
`);

type Progress = ResultOf<typeof RunProgressFields>;
type CurrencyCost = ResultOf<typeof RunCostFields>;

export const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

const percent = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

function ProgressShown({ progress }: { progress: Progress }) {
  if (progress.total === 0) return <>no tasks (its steps are in the timeline)</>;
  const counts = [`${progress.completed} of ${progress.total} tasks done`, ...(['failed', 'skipped', 'running', 'pending'] as const).filter((k) => progress[k] > 0).map((k) => `${progress[k]} ${k}`)];
  return (
    <>
      <progress id="run-progress" max={100} value={progress.completionPercent} aria-label="Completion" /> {percent.format(progress.completionPercent)}% — {counts.join(', ')}
    </>
  );
}

/** An ended run has no ETA; an active one has one once a task has finished (the engine averages finished tasks). */
function Eta({ run, progress }: { run: RunHeaderData; progress: Progress }) {
  if (run.endedAt) return <>ended</>;
  if (!progress.estimatedCompletionAt || progress.estimatedRemainingSeconds === null) return <>no estimate yet</>;
  return (
    <>
      <time dateTime={progress.estimatedCompletionAt}>{dateTime.format(new Date(progress.estimatedCompletionAt))}</time> (about {formatDuration(progress.estimatedRemainingSeconds * 1000)} left)
    </>
  );
}

function Cost({ costs }: { costs: readonly CurrencyCost[] }) {
  if (costs.length === 0) return <>none recorded</>;
  return <>{costs.map((cost) => `${cost.total} ${cost.currency} (${cost.count} ${cost.count === 1 ? 'record' : 'records'})`).join(', ')}</>;
}

export function RunHeader({ run, progress, costs }: { run: RunHeaderData; progress: Progress; costs: readonly CurrencyCost[] }) {
  return (
    <section aria-labelledby="run-title" class="run-header">
      <h1 id="run-title">
        Run {shortId(run.id)}{' '}
        <span class="run-state" data-state={run.state}>
          {run.state}
        </span>
      </h1>
      <dl>
        <div>
          <dt>Project / phase</dt>
          <dd>
            {run.projectId} / {run.phaseId}
          </dd>
        </div>
        <div>
          <dt>State</dt>
          <dd data-field="state">
            {run.state}
            {run.stateReason && `: ${run.stateReason}`}
          </dd>
        </div>
        <div>
          <dt>Progress</dt>
          <dd data-field="progress">
            <ProgressShown progress={progress} />
          </dd>
        </div>
        <div>
          <dt>ETA</dt>
          <dd data-field="eta">
            <Eta run={run} progress={progress} />
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd data-field="cost">
            <Cost costs={costs} />
          </dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{run.startedAt ? <time dateTime={run.startedAt}>{dateTime.format(new Date(run.startedAt))}</time> : 'not yet'}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{run.startedAt ? (run.endedAt ? formatDuration(Date.parse(run.endedAt) - Date.parse(run.startedAt)) : 'running') : '—'}</dd>
        </div>
      </dl>
    </section>
  );
}

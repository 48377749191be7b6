// The run's step attempts as a Gantt chart on one time axis, with a table that says the same in words; a row's Log
// button shows that step's output below (the step chosen is in the URL, ?step=, so a link opens it).
import { useEffect, useState } from 'preact/hooks';
import { useQuery } from '@urql/preact';
import { useLocation } from 'preact-iso';
import { errorText } from '../api';
import { graphql, type ResultOf } from '../graphql';
import { dateTime } from './run-header';
import { formatDuration } from './runs-row';
import { StepLog } from './run-step-log';

/** A run with more attempts than this shows its first ones and says so. */
const STEPS_SHOWN = 100;

const RunStepsQuery = graphql(`
  query ConsoleRunSteps($id: ID!, $first: Int) {
    run(id: $id) {
      steps(first: $first) {
        totalCount
        edges {
          node {
            id
            sequence
            toolId
            state
            startedAt
            endedAt
          }
        }
      }
    }
  }
`);

type Step = NonNullable<ResultOf<typeof RunStepsQuery>['run']>['steps']['edges'][number]['node'];

// Chart geometry in SVG user units: the chart scales to the width it is given.
const WIDTH = 1000;
const LABEL = 150;
const ROW = 26;
const AXIS = 24;

/** Now, re-rendered each second while a step runs so that its bar grows (a timer that only re-renders, never queries). */
function useNowWhile(running: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return running ? now : Date.now();
}

function Chart({ steps, now }: { steps: readonly Step[]; now: number }) {
  const endOf = (step: Step) => (step.endedAt ? Date.parse(step.endedAt) : now);
  const t0 = Math.min(...steps.map((step) => Date.parse(step.startedAt)));
  const span = Math.max(1, Math.max(...steps.map(endOf)) - t0);
  const x = (t: number) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 10);
  const height = AXIS + steps.length * ROW;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <svg class="gantt" viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label={`Gantt chart of ${steps.length} step attempts over ${formatDuration(span)}; the table below lists them`}>
      {ticks.map((tick) => (
        <g key={tick}>
          <line class="tick" x1={x(t0 + tick * span)} x2={x(t0 + tick * span)} y1={AXIS - 6} y2={height} />
          <text class="tick-label" x={x(t0 + tick * span)} y={AXIS - 10} text-anchor={tick === 0 ? 'start' : tick === 1 ? 'end' : 'middle'}>
            {tick === 0 ? 'start' : `+${formatDuration(tick * span)}`}
          </text>
        </g>
      ))}
      {steps.map((step, i) => {
        const start = x(Date.parse(step.startedAt));
        const y = AXIS + i * ROW;
        return (
          <g key={step.id} data-step={step.sequence}>
            <text class="step-label" x={0} y={y + ROW / 2 + 5}>
              #{step.sequence} {step.toolId}
            </text>
            <rect class="bar" data-state={step.state} x={start} y={y + 4} width={Math.max(3, x(endOf(step)) - start)} height={ROW - 8} rx={3}>
              <title>
                #{step.sequence} {step.toolId}: {step.state}
              </title>
            </rect>
          </g>
        );
      })}
    </svg>
  );
}

const STATES = ['SUCCEEDED', 'RUNNING', 'FAILED', 'CANCELED'] as const;

export function RunTimeline({ id, version }: { id: string; version: number }) {
  const [{ data, error }, reread] = useQuery({ query: RunStepsQuery, variables: { id, first: STEPS_SHOWN } });
  // A step event in the log: read the steps again (the first read is the query's own).
  useEffect(() => {
    if (version > 0) reread({ requestPolicy: 'network-only' });
  }, [version]);
  const steps = data?.run?.steps.edges.map((edge) => edge.node) ?? [];
  const now = useNowWhile(steps.some((step) => step.state === 'RUNNING'));
  const total = data?.run?.steps.totalCount ?? 0;
  const { path, query, route } = useLocation();
  const chosen = steps.find((step) => step.id === query.step);
  const choose = (step: Step) => route(step.id === query.step ? path : `${path}?step=${encodeURIComponent(step.id)}`);
  return (
    <>
      <section aria-labelledby="run-timeline" class="run-timeline">
        <h2 id="run-timeline">Step timeline</h2>
        {error && <p role="alert">{errorText(error)}</p>}
        {!data ? (
          !error && <p>Loading…</p>
        ) : steps.length === 0 ? (
          <p class="hint">No step attempts yet.</p>
        ) : (
          <>
            <ul class="legend" aria-label="Bar colours">
              {STATES.map((state) => (
                <li key={state}>
                  <span class="swatch" data-state={state} /> {state}
                </li>
              ))}
            </ul>
            <Chart steps={steps} now={now} />
            <table class="steps">
              <caption>
                {total} step {total === 1 ? 'attempt' : 'attempts'}
                {total > steps.length && `, the first ${steps.length} shown`}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Step</th>
                  <th scope="col">Tool</th>
                  <th scope="col">State</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Output</th>
                </tr>
              </thead>
              <tbody>
                {steps.map((step) => (
                  <tr key={step.id} data-step={step.sequence}>
                    <th scope="row">#{step.sequence}</th>
                    <td>{step.toolId}</td>
                    <td data-field="state">{step.state}</td>
                    <td>
                      <time dateTime={step.startedAt}>{dateTime.format(new Date(step.startedAt))}</time>
                    </td>
                    <td>{step.endedAt ? formatDuration(Date.parse(step.endedAt) - Date.parse(step.startedAt)) : `running for ${formatDuration(now - Date.parse(step.startedAt))}`}</td>
                    <td>
                      <button type="button" aria-pressed={step === chosen} onClick={() => choose(step)}>
                        Log<span class="sr-only"> of step #{step.sequence}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
      {chosen && <StepLog key={chosen.id} step={chosen} />}
    </>
  );
}

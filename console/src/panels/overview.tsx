import { useQuery } from '@urql/preact';
import { graphql } from '../graphql';
import { useRefreshOn } from '../live';
import { LatestGates } from './overview-gates';
import { SpendToday } from './overview-spend';
import { ActiveWorkstreams } from './overview-workstreams';

/** The error rate's window: the last day. */
const ERROR_WINDOW_SECONDS = 86_400;

const OverviewQuery = graphql(`
  query ConsoleOverview($errorWindow: Int!) {
    runSummary {
      activeRuns
      recent(windowSeconds: $errorWindow) {
        failureRate
        failed
        succeeded
      }
      runsByState {
        state
        count
      }
    }
    workerSummary {
      total
      stale
      byState {
        state
        count
      }
    }
  }
`);

/** Any run created or changing state, and any worker registering or changing state, changes the counts. */
const CHANGES = [
  graphql(`
    subscription ConsoleOverviewRuns {
      runStateChanged {
        id
      }
    }
  `),
  graphql(`
    subscription ConsoleOverviewWorkers {
      workerStateChanged {
        to
      }
    }
  `),
];

function Counts({ caption, label, rows, total }: { caption: string; label: string; rows: readonly { state: string; count: number }[]; total: number }) {
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">State</th>
          <th scope="col">{label}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.state} data-state={row.state}>
            <th scope="row">{row.state}</th>
            <td>{row.count}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr data-state="TOTAL">
          <th scope="row">Total</th>
          <td>{total}</td>
        </tr>
      </tfoot>
    </table>
  );
}

const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

/** Failed runs of those that ended (succeeded or failed) in the window; canceled and active runs do not count. */
function ErrorRate({ recent }: { recent: { failureRate: number | null; failed: number; succeeded: number } }) {
  return (
    <p data-field="errorRate">
      Error rate, last 24 h: <strong>{recent.failureRate === null ? 'no run ended' : percent.format(recent.failureRate)}</strong> ({recent.failed} failed, {recent.succeeded} succeeded)
    </p>
  );
}

/**
 * Runs and workers by state with the error rate, active workstreams, spend today against budgets and the latest gate
 * outcomes; each section kept current by its own subscriptions (re-read on their events, never polled).
 */
export function Overview() {
  const [{ data, error }, reread] = useQuery({ query: OverviewQuery, variables: { errorWindow: ERROR_WINDOW_SECONDS } });
  useRefreshOn(CHANGES, () => reread());
  return (
    <>
      <h1>Overview</h1>
      {error && <p role="alert">{error.message}</p>}
      {data ? (
        <div class="overview">
          <section aria-labelledby="overview-runs">
            <h2 id="overview-runs">Runs</h2>
            <p>{data.runSummary.activeRuns} active (pending or running)</p>
            <ErrorRate recent={data.runSummary.recent} />
            <Counts caption="Runs by state" label="Runs" rows={data.runSummary.runsByState} total={data.runSummary.runsByState.reduce((sum, row) => sum + row.count, 0)} />
          </section>
          <section aria-labelledby="overview-workers">
            <h2 id="overview-workers">Workers</h2>
            <p>{data.workerSummary.stale} stale (past their heartbeat timeout)</p>
            <Counts caption="Workers by state" label="Workers" rows={data.workerSummary.byState} total={data.workerSummary.total} />
          </section>
        </div>
      ) : (
        !error && <p>Loading…</p>
      )}
      <div class="overview">
        <ActiveWorkstreams />
        <SpendToday />
        <LatestGates />
      </div>
    </>
  );
}

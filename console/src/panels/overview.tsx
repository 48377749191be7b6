import { useQuery } from '@urql/preact';
import { graphql } from '../graphql';
import { useRefreshOn } from '../live';

const OverviewQuery = graphql(`
  query ConsoleOverview {
    runSummary {
      activeRuns
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

/** Runs and workers by state, kept current by subscriptions (re-read on their events, never polled). */
export function Overview() {
  const [{ data, error }, reread] = useQuery({ query: OverviewQuery });
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
    </>
  );
}

import { useEffect, useState } from 'preact/hooks';
import { useClient } from '@urql/preact';
import { useLocation } from 'preact-iso';
import { graphql, type ResultOf } from '../graphql';
import { useEvents, useRefreshOn } from '../live';
import { Breakdown } from './costs-breakdown';
import { BudgetRowFields, Budgets, budgetName } from './costs-budgets';
import { SpendChart } from './costs-chart';
import { Money } from './costs-money';
import { hoursBetween, urlOf, windowOf, windowStart, WINDOWS, type WindowKey } from './costs-window';

const CostsQuery = graphql(
  `
    query ConsoleCosts($filter: CostFilter!, $last: Int!) {
      costSummary(filter: $filter) {
        currency
        total
        count
        series(bucket: HOUR, last: $last) {
          start
          total
        }
        byModel {
          model
          total
        }
        byTool {
          toolId
          total
        }
        byProject(top: 10) {
          projectId
          total
        }
      }
      budgets {
        ...ConsoleBudgetRow
      }
    }
  `,
  [BudgetRowFields],
);

const CostRecorded = graphql(`
  subscription ConsoleCostRecorded {
    costRecorded {
      id
    }
  }
`);
const COST_EVENTS = [CostRecorded] as const;

const BudgetAlerts = graphql(`
  subscription ConsoleBudgetAlerts {
    budgetAlerts {
      at
      threshold
      spent
      limit
      currency
      halted
      budget {
        id
        scope
        projectId
        run {
          id
        }
      }
    }
  }
`);

type Alert = ResultOf<typeof BudgetAlerts>['budgetAlerts'];

/** How many alerts the banner keeps, newest first. */
const SHOWN_ALERTS = 5;

/** One read of the window: the figures and the moment and hours they cover. */
interface Read {
  key: WindowKey;
  from: Date;
  hours: number[];
  data?: ResultOf<typeof CostsQuery>;
  error?: string;
}

/** Spend over time and by model, tool and project for a window kept in the URL, and the budgets; re-read once per burst of costRecorded, never polled. */
export function Costs() {
  const { query } = useLocation();
  const client = useClient();
  const key = windowOf(query);
  const [reads, setReads] = useState(0);
  const [read, setRead] = useState<Read>();
  const [alerts, setAlerts] = useState<readonly Alert[]>([]);

  useEffect(() => {
    // A rolling window moves on with each re-read.
    const now = Date.now();
    const from = windowStart(key, now);
    const hours = hoursBetween(from, now);
    let current = true;
    void client
      .query(CostsQuery, { filter: { from: from.toISOString() }, last: hours.length }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => current && setRead({ key, from, hours, data: result.data, error: result.error?.message }));
    return () => {
      current = false;
    };
  }, [client, key, reads]);

  useRefreshOn(COST_EVENTS, () => setReads((n) => n + 1));
  useEvents(
    BudgetAlerts,
    {},
    (event) => setAlerts((shown) => [event.budgetAlerts, ...shown].slice(0, SHOWN_ALERTS)),
    // The budgets' crossed thresholds are re-read after a reconnect (useRefreshOn): alerts missed meanwhile show there.
    () => {},
  );

  const label = WINDOWS.find((w) => w.key === key)!.label.toLowerCase();
  const shown = read?.key === key ? read : undefined;
  const summaries = shown?.data?.costSummary ?? [];
  return (
    <>
      <h1>Costs</h1>
      <div role="alert" class="budget-alerts">
        {alerts.length > 0 && (
          <>
            <ul>
              {alerts.map((alert) => (
                <li key={`${alert.budget.id}:${alert.threshold}:${alert.at}`} data-alert-budget={alert.budget.id} data-threshold={alert.threshold}>
                  Budget of {budgetName(alert.budget)} crossed {alert.threshold} %: spent <Money amount={alert.spent} currency={alert.currency} /> of{' '}
                  <Money amount={alert.limit} currency={alert.currency} />
                  {alert.halted && ', and halted its work'}.
                </li>
              ))}
            </ul>
            <button type="button" onClick={() => setAlerts([])}>
              Dismiss
            </button>
          </>
        )}
      </div>
      <nav aria-label="Time window" class="windows">
        <ul>
          {WINDOWS.map((w) => (
            <li key={w.key}>
              <a href={urlOf(w.key)} aria-current={w.key === key ? 'true' : undefined}>
                {w.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {read?.error && <p role="alert">{read.error}</p>}
      {shown?.data ? (
        <>
          <p class="window-start">
            Since <time dateTime={shown.from.toISOString()}>{shown.from.toLocaleString()}</time>
          </p>
          {summaries.length === 0 && <p class="hint">No spend in this window.</p>}
          {summaries.map((summary) => (
            <section key={summary.currency} data-currency={summary.currency} aria-labelledby={`spend-${summary.currency}`}>
              <h2 id={`spend-${summary.currency}`}>
                Spend in {summary.currency}:{' '}
                <span data-summary="total">
                  <Money amount={summary.total} currency={summary.currency} />
                </span>{' '}
                <span class="hint" data-summary="count">
                  ({summary.count} {summary.count === 1 ? 'cost' : 'costs'})
                </span>
              </h2>
              <SpendChart currency={summary.currency} hours={shown.hours} buckets={summary.series} windowLabel={label} />
              <div class="breakdowns">
                <Breakdown title="By model" by="Model" unnamed="no model" currency={summary.currency} rows={summary.byModel.map((s) => ({ name: s.model, total: s.total }))} />
                <Breakdown title="By tool" by="Tool" unnamed="no tool" currency={summary.currency} rows={summary.byTool.map((s) => ({ name: s.toolId, total: s.total }))} />
                <Breakdown
                  title="By project (the 10 largest)"
                  by="Project"
                  unnamed="no project"
                  currency={summary.currency}
                  rows={summary.byProject.map((s) => ({ name: s.projectId, total: s.total }))}
                />
              </div>
            </section>
          ))}
          <h2>Budgets</h2>
          <Budgets budgets={shown.data.budgets} />
        </>
      ) : (
        !read?.error && <p>Loading…</p>
      )}
    </>
  );
}

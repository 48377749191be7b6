// The Overview's money: what was spent since midnight (the browser's), and each budget against its limit and
// thresholds. Read again when a cost is recorded or a threshold crossed, and after a reconnect. No polling.
import { useQuery } from '@urql/preact';
import { graphql, type ResultOf } from '../graphql';
import { useRefreshOn } from '../live';
import { budgetName } from './costs-budgets';

const SpendQuery = graphql(`
  query ConsoleSpendToday($from: DateTime!) {
    costSummary(filter: { from: $from }) {
      currency
      total
      count
    }
    budgets {
      id
      scope
      projectId
      run {
        id
      }
      currency
      limit
      spent
      thresholds
      crossedThresholds
      exhausted
    }
  }
`);

type Budget = ResultOf<typeof SpendQuery>['budgets'][number];

const CHANGES = [
  graphql(`
    subscription ConsoleSpendCosts {
      costRecorded {
        id
      }
    }
  `),
  graphql(`
    subscription ConsoleSpendAlerts {
      budgetAlerts {
        threshold
      }
    }
  `),
];

/** Midnight of today where the browser is, as the API's DateTime: the same string all day, so the query stays the same. */
export function startOfToday(): string {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  return midnight.toISOString();
}

function BudgetRow({ budget }: { budget: Budget }) {
  const name = budgetName(budget);
  const limit = Number(budget.limit);
  const spentPercent = limit > 0 ? Math.round((Number(budget.spent) / limit) * 100) : 100;
  return (
    <tr data-budget={budget.id}>
      <th scope="row">{name}</th>
      <td class="progress-cell">
        <progress max={100} value={Math.min(spentPercent, 100)} aria-label={`${name}: ${spentPercent} % of its limit spent`} />{' '}
        <span data-field="spent">
          {budget.spent} of {budget.limit} {budget.currency}
        </span>
      </td>
      <td data-field="thresholds">
        {budget.thresholds.map((threshold, i) => (
          <span key={threshold} class={budget.crossedThresholds.includes(threshold) ? 'crossed' : undefined}>
            {i > 0 && ', '}
            {threshold} %{budget.crossedThresholds.includes(threshold) && ' (crossed)'}
          </span>
        ))}
      </td>
      <td data-field="state">{budget.exhausted ? 'Exhausted' : 'Within its limit'}</td>
    </tr>
  );
}

export function SpendToday() {
  const [{ data, error }, reread] = useQuery({ query: SpendQuery, variables: { from: startOfToday() } });
  useRefreshOn(CHANGES, () => reread());
  return (
    <section aria-labelledby="overview-spend">
      <h2 id="overview-spend">Spend today</h2>
      {error && <p role="alert">{error.message}</p>}
      {data && (
        <>
          {data.costSummary.length ? (
            <ul class="spend-today">
              {data.costSummary.map((spend) => (
                <li key={spend.currency} data-currency={spend.currency}>
                  <strong data-field="total">
                    {spend.total} {spend.currency}
                  </strong>{' '}
                  in {spend.count} {spend.count === 1 ? 'cost' : 'costs'} since midnight
                </li>
              ))}
            </ul>
          ) : (
            <p>Nothing spent since midnight.</p>
          )}
          {data.budgets.length ? (
            <table class="budgets">
              <caption>Budgets: all their spend against their limits</caption>
              <thead>
                <tr>
                  <th scope="col">Budget</th>
                  <th scope="col">Spent</th>
                  <th scope="col">Thresholds</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {data.budgets.map((budget) => (
                  <BudgetRow key={budget.id} budget={budget} />
                ))}
              </tbody>
            </table>
          ) : (
            <p>No budget is set.</p>
          )}
        </>
      )}
    </section>
  );
}

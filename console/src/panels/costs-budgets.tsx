// The budgets: each with its limit, what it has spent, its thresholds (which have been crossed) and its action.
import { graphql, type ResultOf } from '../graphql';
import { Money } from './costs-money';
import { shortId } from './runs-row';

/** Unmasked: the panel's query reads these fields directly. */
export const BudgetRowFields = graphql(`
  fragment ConsoleBudgetRow on Budget @_unmask {
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
    action
    exhausted
  }
`);

export type BudgetRowData = ResultOf<typeof BudgetRowFields>;

/** How a budget is named to the user: its project, or its run. */
export function budgetName(budget: { scope: 'PROJECT' | 'RUN'; projectId: string | null; run: { id: string } | null }): string {
  return budget.scope === 'RUN' && budget.run ? `run ${shortId(budget.run.id)}` : `project ${budget.projectId ?? '?'}`;
}

const ACTIONS: Record<BudgetRowData['action'], string> = {
  NOTIFY: 'Notify',
  HALT: 'Halt at 100 %',
};

/** A HALT budget also announces 100 %, listed or not. */
const thresholdsOf = (budget: BudgetRowData) => [...new Set([...budget.thresholds, ...(budget.action === 'HALT' ? [100] : [])])].sort((a, b) => a - b);

function BudgetRow({ budget }: { budget: BudgetRowData }) {
  const share = Math.min(100, (Number(budget.spent) / Number(budget.limit)) * 100);
  return (
    <tr data-budget={budget.id}>
      <th scope="row">
        {budgetName(budget)}
        {budget.run && (
          <>
            {' '}
            (<a href={`/runs/${budget.run.id}`}>open</a>)
          </>
        )}
      </th>
      <td data-field="limit">
        <Money amount={budget.limit} currency={budget.currency} />
      </td>
      <td data-field="spent">
        <Money amount={budget.spent} currency={budget.currency} />
        <span class="bar-track" aria-hidden="true">
          <span class="bar" data-exhausted={budget.exhausted} style={{ width: `${share}%` }} />
        </span>
      </td>
      <td data-field="thresholds" class="thresholds">
        <ul>
          {thresholdsOf(budget).map((threshold) => {
            const crossed = budget.crossedThresholds.includes(threshold);
            return (
              <li key={threshold} data-threshold={threshold} data-crossed={crossed}>
                {threshold} %: {crossed ? 'crossed' : 'not crossed'}
              </li>
            );
          })}
        </ul>
      </td>
      <td data-field="action">{ACTIONS[budget.action]}</td>
      <td data-field="state">{budget.exhausted ? 'Exhausted' : 'Within limit'}</td>
    </tr>
  );
}

export function Budgets({ budgets }: { budgets: readonly BudgetRowData[] }) {
  if (!budgets.length)
    return (
      <p class="hint">
        No budgets: set one with the <code>setBudget</code> mutation.
      </p>
    );
  return (
    <table class="budgets">
      <caption>
        {budgets.length} {budgets.length === 1 ? 'budget' : 'budgets'}: each counts all its spend, whatever the window
      </caption>
      <thead>
        <tr>
          <th scope="col">Budget</th>
          <th scope="col">Limit</th>
          <th scope="col">Spent</th>
          <th scope="col">Thresholds</th>
          <th scope="col">Action</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {budgets.map((budget) => (
          <BudgetRow key={budget.id} budget={budget} />
        ))}
      </tbody>
    </table>
  );
}

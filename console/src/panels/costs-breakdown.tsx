// Spend grouped one way (by model, tool or project): a table whose bars show each row's share of the largest.
import { Money } from './costs-money';

export interface Share {
  /** Null: the costs that name none (no model, no tool). */
  name: string | null;
  total: string;
}

interface Props {
  title: string;
  /** The column header of the names. */
  by: string;
  /** What a null name means here. */
  unnamed: string;
  currency: string;
  rows: readonly Share[];
}

export function Breakdown({ title, by, unnamed, currency, rows }: Props) {
  const largest = Math.max(0, ...rows.map((row) => Number(row.total)));
  return (
    <table class="breakdown" data-breakdown={by.toLowerCase()}>
      <caption>{title}</caption>
      <thead>
        <tr>
          <th scope="col">{by}</th>
          <th scope="col">Spend</th>
          <th scope="col">
            <span class="sr-only">Share of the largest</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.name ?? ''} data-name={row.name ?? ''}>
            <th scope="row">{row.name ?? <em>{unnamed}</em>}</th>
            <td data-field="total">
              <Money amount={row.total} currency={currency} />
            </td>
            <td class="bar-cell" aria-hidden="true">
              <span class="bar" style={{ width: `${largest > 0 ? (Number(row.total) / largest) * 100 : 0}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

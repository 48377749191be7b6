// Spend over time for one currency: a uPlot bar chart per hour, named for screen readers, and its figures as a table.
import { useEffect, useId, useRef } from 'preact/hooks';
import type { SpendPlot } from './costs-plot';
import { Money } from './costs-money';

export interface Bucket {
  start: string;
  total: string;
}

interface Props {
  currency: string;
  /** The hours of the window, oldest first (epoch ms): hours without spend get no bar. */
  hours: number[];
  /** The API's buckets with spend. */
  buckets: readonly Bucket[];
  windowLabel: string;
}

const hourFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function SpendChart({ currency, hours, buckets, windowLabel }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<SpendPlot | undefined>(undefined);
  const captionId = useId();
  const byHour = new Map(buckets.map((bucket) => [Date.parse(bucket.start), Number(bucket.total)]));
  const totals = hours.map((hour) => byHour.get(hour) ?? null);
  const drawn = useRef({ hours, totals });
  drawn.current = { hours, totals };

  useEffect(() => {
    let closed = false;
    void import('./costs-plot').then(({ plotSpend }) => {
      if (closed || !box.current) return;
      plot.current = plotSpend(box.current, currency, drawn.current.hours, drawn.current.totals);
    });
    return () => {
      closed = true;
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [currency]);
  useEffect(() => plot.current?.update(hours, totals), [hours, totals]);

  return (
    <figure class="spend-chart">
      <figcaption id={captionId}>
        Spend per hour in {currency}, {windowLabel}
      </figcaption>
      <div ref={box} role="img" aria-labelledby={captionId} class="spend-plot" />
      <details>
        <summary>The figures per hour</summary>
        {buckets.length ? (
          <table class="spend-series">
            <caption>Hours with spend in {currency}, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Hour starting</th>
                <th scope="col">Spend</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((bucket) => (
                <tr key={bucket.start}>
                  <th scope="row">
                    <time dateTime={bucket.start}>{hourFormat.format(new Date(bucket.start))}</time>
                  </th>
                  <td>
                    <Money amount={bucket.total} currency={currency} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>No spend in this window.</p>
        )}
      </details>
    </figure>
  );
}

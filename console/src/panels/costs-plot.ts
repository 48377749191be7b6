// uPlot and its stylesheet, in a chunk of their own: loaded when the Costs panel first draws a chart, not with the console.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const HEIGHT = 220;

export interface SpendPlot {
  update(hours: number[], totals: (number | null)[]): void;
  destroy(): void;
}

/** Bars of spend per hour in `box`, as wide as the box, following its width. */
export function plotSpend(box: HTMLElement, currency: string, hours: number[], totals: (number | null)[]): SpendPlot {
  const plot = new uPlot(
    {
      width: box.clientWidth,
      height: HEIGHT,
      // The figures table under the chart gives the values; hovering adds nothing a keyboard user would miss.
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true } },
      axes: [{}, { label: currency, size: 70 }],
      series: [{}, { label: currency, stroke: '#0b57d0', fill: 'rgba(11, 87, 208, 0.35)', paths: uPlot.paths.bars!({ size: [0.8, 24] }), points: { show: false } }],
    },
    [hours.map((ms) => ms / 1000), totals],
    box,
  );
  const resize = new ResizeObserver(() => plot.setSize({ width: box.clientWidth, height: HEIGHT }));
  resize.observe(box);
  return {
    update: (nextHours, nextTotals) => plot.setData([nextHours.map((ms) => ms / 1000), nextTotals]),
    destroy: () => {
      resize.disconnect();
      plot.destroy();
    },
  };
}

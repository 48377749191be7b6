// One row of the Tools table: the fields it shows, read by the list query and by toolChanged alike.
import { graphql, type ResultOf } from '../graphql';

/** Unmasked: the query and the subscription read these fields directly. */
export const ToolRowFields = graphql(`
  fragment ConsoleToolRow on Tool @_unmask {
    id
    circuitState
    successRate
    p50LatencyMs
    inFlight
    capabilities {
      domains
    }
  }
`);

export type ToolRowData = ResultOf<typeof ToolRowFields>;

/** Words, not colour alone, say what a breaker's state means for routing. */
const CIRCUIT_LABELS: Record<ToolRowData['circuitState'], string> = {
  CLOSED: 'Closed',
  OPEN: 'Open: passed over',
  HALF_OPEN: 'Half-open: on trial',
};

const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

/** 850 ms, 2.4 s. */
export function formatLatency(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function ToolRow({ tool }: { tool: ToolRowData }) {
  return (
    <tr data-tool={tool.id}>
      <th scope="row">{tool.id}</th>
      <td data-field="circuit">
        <span class="circuit" data-circuit={tool.circuitState}>
          {CIRCUIT_LABELS[tool.circuitState]}
        </span>
      </td>
      <td data-field="successRate">{tool.successRate === null ? '—' : percent.format(tool.successRate)}</td>
      <td data-field="p50">{tool.p50LatencyMs === null ? '—' : formatLatency(tool.p50LatencyMs)}</td>
      <td data-field="inFlight">{tool.inFlight}</td>
      <td data-field="domains">{tool.capabilities.domains.length ? tool.capabilities.domains.join(', ') : 'any'}</td>
    </tr>
  );
}

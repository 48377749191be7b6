// The Overview's latest gate outcomes, read again on each outcome (gateOutcomes) and after a reconnect. No polling.
import { useQuery } from '@urql/preact';
import { graphql, type ResultOf } from '../graphql';
import { useRefreshOn } from '../live';
import { shortId } from './runs-row';

/** How many of the newest decided gates the Overview lists. */
export const GATES_SHOWN = 5;

const LatestGatesQuery = graphql(`
  query ConsoleLatestGates($first: Int!) {
    testGates(first: $first, filter: { states: [PASSED, FAILED, ERROR, SKIPPED] }) {
      edges {
        node {
          id
          name
          state
          updatedAt
          decision {
            reason
          }
          run {
            id
            projectId
          }
        }
      }
    }
  }
`);

type Gate = ResultOf<typeof LatestGatesQuery>['testGates']['edges'][number]['node'];

const CHANGES = [
  graphql(`
    subscription ConsoleGateOutcomes {
      gateOutcomes {
        id
      }
    }
  `),
];

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function GateRow({ gate }: { gate: Gate }) {
  return (
    <tr data-gate={gate.id}>
      <th scope="row">{gate.name}</th>
      <td>{gate.run ? <a href={`/runs/${encodeURIComponent(gate.run.id)}`}>{`${gate.run.projectId} ${shortId(gate.run.id)}`}</a> : '—'}</td>
      <td data-field="state">
        <span class="gate-state" data-gate-state={gate.state}>
          {gate.state}
        </span>
      </td>
      <td>{gate.decision?.reason ?? '—'}</td>
      <td>
        <time dateTime={gate.updatedAt}>{dateTime.format(new Date(gate.updatedAt))}</time>
      </td>
    </tr>
  );
}

export function LatestGates() {
  const [{ data, error }, reread] = useQuery({ query: LatestGatesQuery, variables: { first: GATES_SHOWN } });
  useRefreshOn(CHANGES, () => reread());
  return (
    <section aria-labelledby="overview-gates">
      <h2 id="overview-gates">Latest gate outcomes</h2>
      {error && <p role="alert">{error.message}</p>}
      {data &&
        (data.testGates.edges.length ? (
          <table class="gates">
            <caption>The {data.testGates.edges.length} newest gates with an outcome</caption>
            <thead>
              <tr>
                <th scope="col">Gate</th>
                <th scope="col">Run</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
                <th scope="col">Decided</th>
              </tr>
            </thead>
            <tbody>
              {data.testGates.edges.map(({ node }) => (
                <GateRow key={node.id} gate={node} />
              ))}
            </tbody>
          </table>
        ) : (
          <p>No gate has an outcome yet.</p>
        ))}
    </section>
  );
}

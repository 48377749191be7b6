// The run's test gates: their criteria, and how each came out, live through gateOutcomes.
import { useEffect } from 'preact/hooks';
import { useQuery } from '@urql/preact';
import { errorText } from '../api';
import { graphql, type ResultOf } from '../graphql';
import { useRefreshOn } from '../live';

const GATES_SHOWN = 100;

const RunGatesQuery = graphql(`
  query ConsoleRunGates($runId: ID!, $first: Int) {
    testGates(filter: { runId: $runId }, first: $first) {
      totalCount
      edges {
        node {
          id
          name
          type
          state
          criteria {
            maxFailures
            minCoverage
            requiredTests
            timeoutSeconds
          }
          decision {
            reason
          }
          errorMessage
          results {
            passedTests
            failedTests
            totalTests
            coveragePercent
          }
        }
      }
    }
  }
`);

const GATE_CHANGES = [
  graphql(`
    subscription ConsoleRunGateOutcomes($runId: ID!) {
      gateOutcomes(runId: $runId) {
        id
      }
    }
  `),
];

type Gate = ResultOf<typeof RunGatesQuery>['testGates']['edges'][number]['node'];

/** The criteria in words: what the gate judges. */
function criteriaOf(criteria: Gate['criteria']): string {
  const parts = [
    criteria.maxFailures !== null && `at most ${criteria.maxFailures} failed ${criteria.maxFailures === 1 ? 'test' : 'tests'}`,
    criteria.minCoverage !== null && `coverage at least ${criteria.minCoverage}%`,
    criteria.requiredTests.length > 0 && `required: ${criteria.requiredTests.join(', ')}`,
    criteria.timeoutSeconds !== null && `timeout ${criteria.timeoutSeconds} s`,
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'none set';
}

/** The outcome in words: the decision's reason, an error's message, or what it waits for. */
function outcomeOf(gate: Gate): string {
  if (gate.decision) return gate.decision.reason;
  if (gate.errorMessage) return gate.errorMessage;
  return gate.state === 'RUNNING' ? 'running' : 'not started';
}

function resultsOf(results: Gate['results']): string {
  if (!results) return '—';
  const coverage = results.coveragePercent !== null ? `, ${results.coveragePercent}% coverage` : '';
  return `${results.passedTests}/${results.totalTests} passed, ${results.failedTests} failed${coverage}`;
}

export function RunGates({ id, version }: { id: string; version: number }) {
  const [{ data, error }, reread] = useQuery({ query: RunGatesQuery, variables: { runId: id, first: GATES_SHOWN } });
  const refresh = () => reread({ requestPolicy: 'network-only' });
  useRefreshOn(GATE_CHANGES, refresh, { runId: id });
  // A gate created or started (gateOutcomes carries only outcomes): read them again.
  useEffect(() => {
    if (version > 0) refresh();
  }, [version]);
  const gates = data?.testGates;
  return (
    <section aria-labelledby="run-gates" class="run-gates">
      <h2 id="run-gates">Gates</h2>
      {error && <p role="alert">{errorText(error)}</p>}
      {!gates ? (
        !error && <p>Loading…</p>
      ) : gates.edges.length === 0 ? (
        <p class="hint">No test gates for this run.</p>
      ) : (
        <table class="gates">
          <caption>
            {gates.totalCount} {gates.totalCount === 1 ? 'gate' : 'gates'}
            {gates.totalCount > gates.edges.length && `, the newest ${gates.edges.length} shown`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Gate</th>
              <th scope="col">State</th>
              <th scope="col">Criteria</th>
              <th scope="col">Results</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {gates.edges.map(({ node }) => (
              <tr key={node.id} data-gate={node.id}>
                <th scope="row">
                  {node.name} <span class="hint">({node.type})</span>
                </th>
                <td data-field="state" data-state={node.state}>
                  {node.state}
                </td>
                <td>{criteriaOf(node.criteria)}</td>
                <td>{resultsOf(node.results)}</td>
                <td data-field="outcome">{outcomeOf(node)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

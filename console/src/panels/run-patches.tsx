// The run's patches with where each stands in the ledger, live through patchStateChanged.
import { useQuery } from '@urql/preact';
import { errorText } from '../api';
import { graphql } from '../graphql';
import { useRefreshOn } from '../live';
import { dateTime } from './run-header';

/** A run with more patches than a page shows its newest and says so. */
const PATCHES_SHOWN = 100;

const RunPatchesQuery = graphql(`
  query ConsoleRunPatches($runId: ID!, $first: Int) {
    patchLedger(filter: { runId: $runId }, first: $first) {
      totalCount
      edges {
        node {
          id
          state
          updatedAt
          patch {
            summary
            targetRepo
          }
        }
      }
    }
  }
`);

const PATCH_CHANGES = [
  graphql(`
    subscription ConsoleRunPatchChanges($runId: ID!) {
      patchStateChanged(runId: $runId) {
        id
      }
    }
  `),
];

export function RunPatches({ id }: { id: string }) {
  const [{ data, error }, reread] = useQuery({ query: RunPatchesQuery, variables: { runId: id, first: PATCHES_SHOWN } });
  useRefreshOn(PATCH_CHANGES, () => reread({ requestPolicy: 'network-only' }), { runId: id });
  const ledger = data?.patchLedger;
  return (
    <section aria-labelledby="run-patches" class="run-patches">
      <h2 id="run-patches">Patches</h2>
      {error && <p role="alert">{errorText(error)}</p>}
      {!ledger ? (
        !error && <p>Loading…</p>
      ) : ledger.edges.length === 0 ? (
        <p class="hint">No patches recorded for this run.</p>
      ) : (
        <table class="patches">
          <caption>
            {ledger.totalCount} {ledger.totalCount === 1 ? 'patch' : 'patches'}
            {ledger.totalCount > ledger.edges.length && `, the newest ${ledger.edges.length} shown`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Patch</th>
              <th scope="col">Ledger state</th>
              <th scope="col">Repository</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {ledger.edges.map(({ node }) => (
              <tr key={node.id} data-ledger={node.id}>
                <th scope="row">
                  <a href={`/patches/${encodeURIComponent(node.id)}`}>{node.patch.summary ?? 'patch without a summary'}</a>
                </th>
                <td data-field="state">{node.state}</td>
                <td>{node.patch.targetRepo}</td>
                <td>
                  <time dateTime={node.updatedAt}>{dateTime.format(new Date(node.updatedAt))}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

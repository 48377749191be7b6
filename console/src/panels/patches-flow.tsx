// The ledger as a flow: each state's count drawn on the ledger's state machine (src/engine/patches/machines.ts), each
// count a link to the table filtered by that state.
import { urlOf, type PatchesView, type PatchState } from './patches-view';

/** The way a patch lands, in order. */
const MAIN_PATH: readonly PatchState[] = ['CREATED', 'VALIDATED', 'QUEUED', 'APPLIED', 'VERIFIED', 'COMMITTED'];

/** The branches off the main path, with the transitions that lead in and out, in words (the arrows are only drawn). */
const BRANCHES: readonly { state: PatchState; edges: string }[] = [
  { state: 'APPLY_FAILED', edges: 'from CREATED (validation), QUEUED (apply) or APPLIED (verification); retried to QUEUED' },
  { state: 'ROLLED_BACK', edges: 'from APPLIED or VERIFIED; final' },
  { state: 'QUARANTINED', edges: 'from any state not final; only DROPPED follows' },
  { state: 'DROPPED', edges: 'from any state not final; final' },
];

function StateCount({ state, count, view }: { state: PatchState; count: number; view: PatchesView }) {
  // Keeps the project filter: the flow counts what the table lists.
  const href = urlOf({ project: view.project, states: [state], after: '', before: '' });
  return (
    <a class="flow-state" href={href} data-state={state} aria-current={view.states.length === 1 && view.states[0] === state ? 'true' : undefined}>
      <span class="flow-name">{state}</span> <span class="flow-count">{count}</span>
      <span class="sr-only">{count === 1 ? ' entry' : ' entries'}</span>
    </a>
  );
}

export function PatchesFlow({ counts, view }: { counts: readonly { state: PatchState; count: number }[]; view: PatchesView }) {
  const countOf = (state: PatchState) => counts.find((c) => c.state === state)?.count ?? 0;
  return (
    <section class="flow" aria-labelledby="flow-heading">
      <h2 id="flow-heading">By state{view.project && ` in ${view.project}`}</h2>
      <ol class="flow-path" aria-label="The way a patch lands">
        {MAIN_PATH.map((state, i) => (
          <li key={state}>
            {i > 0 && (
              <span class="flow-arrow" aria-hidden="true">
                →
              </span>
            )}
            <StateCount state={state} count={countOf(state)} view={view} />
          </li>
        ))}
      </ol>
      <ul class="flow-branches" aria-label="Failures, rollbacks and exits">
        {BRANCHES.map(({ state, edges }) => (
          <li key={state}>
            <StateCount state={state} count={countOf(state)} view={view} /> <span class="flow-edges">{edges}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

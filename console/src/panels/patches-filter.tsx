// The ledger's filter form: applying it goes to page 1 of the new filter (a new history entry, so back returns).
import { useLocation } from 'preact-iso';
import { isPatchState, PATCH_STATES, urlOf, type PatchesView } from './patches-view';

export function PatchesFilter({ view }: { view: PatchesView }) {
  const { route } = useLocation();
  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    route(urlOf({ project: String(form.get('project') ?? '').trim(), states: form.getAll('state').map(String).filter(isPatchState), after: '', before: '' }));
  };
  // Keyed by the URL: going back (or following a count of the flow) re-renders the form with the view's values.
  return (
    <form class="runs-filter" aria-label="Filter patches" onSubmit={apply} key={urlOf(view)}>
      <label>
        Project <input name="project" defaultValue={view.project} maxLength={200} />
      </label>
      <fieldset>
        <legend>State</legend>
        {PATCH_STATES.map((state) => (
          <label key={state}>
            <input type="checkbox" name="state" value={state} defaultChecked={view.states.includes(state)} /> {state}
          </label>
        ))}
      </fieldset>
      <button type="submit">Filter</button>
    </form>
  );
}

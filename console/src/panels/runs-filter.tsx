// The Runs panel's view (filter and page) as a URL query string, so a link reproduces it and back returns to the last one.
import { useLocation } from 'preact-iso';
import type { ResultOf } from '../graphql';
import type { RunRowFields } from './runs-row';

export type RunState = ResultOf<typeof RunRowFields>['state'];
/** In the order a run goes through them. */
export const RUN_STATES: readonly RunState[] = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'QUARANTINED', 'CANCELED'];

export interface RunsView {
  project: string;
  phase: string;
  states: RunState[];
  /** ISO instants (created after / before); empty when not set. */
  from: string;
  to: string;
  /** At most one cursor: after (a later page) or before (an earlier page); neither is page 1. */
  after: string;
  before: string;
}

const isState = (value: string): value is RunState => (RUN_STATES as readonly string[]).includes(value);
/** A valid instant as ISO, or '' (a hand-edited URL with a bad date filters nothing rather than failing the query). */
const instant = (value: string | undefined) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : '');

export function viewOf(query: Record<string, string>): RunsView {
  return {
    project: query.project ?? '',
    phase: query.phase ?? '',
    states: (query.state ?? '').split(',').filter(isState),
    from: instant(query.from),
    to: instant(query.to),
    after: query.after ?? '',
    before: query.after ? '' : (query.before ?? ''),
  };
}

export function urlOf(view: RunsView): string {
  const params = new URLSearchParams();
  const set = (name: string, value: string) => value && params.set(name, value);
  set('project', view.project);
  set('phase', view.phase);
  set('state', view.states.join(','));
  set('from', view.from);
  set('to', view.to);
  set('after', view.after);
  set('before', view.before);
  const query = params.toString();
  return query ? `/runs?${query}` : '/runs';
}

/** The runs(filter:) argument of a view. */
export function filterOf(view: RunsView) {
  return {
    projectId: view.project || null,
    phaseId: view.phase || null,
    states: view.states.length ? view.states : null,
    createdAfter: view.from || null,
    createdBefore: view.to || null,
  };
}

/** Whether a run (as an event shows it) falls in the view's filter. */
export function matches(view: RunsView, run: { projectId: string; phaseId: string; state: RunState; createdAt: string }): boolean {
  const created = Date.parse(run.createdAt);
  return (
    (!view.project || run.projectId === view.project) &&
    (!view.phase || run.phaseId === view.phase) &&
    (!view.states.length || view.states.includes(run.state)) &&
    (!view.from || created > Date.parse(view.from)) &&
    (!view.to || created < Date.parse(view.to))
  );
}

/** <input type="datetime-local"> shows local time without a zone: converts both ways. */
const toLocalInput = (iso: string) => {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (value: string) => (value ? new Date(value).toISOString() : '');

/** The filter form: applying it goes to page 1 of the new filter (a new history entry, so back returns to the old one). */
export function RunsFilter({ view }: { view: RunsView }) {
  const { route } = useLocation();
  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    route(
      urlOf({
        project: text('project'),
        phase: text('phase'),
        states: form.getAll('state').map(String).filter(isState),
        from: fromLocalInput(text('from')),
        to: fromLocalInput(text('to')),
        after: '',
        before: '',
      }),
    );
  };
  // Keyed by the URL: going back re-renders the form with the view's values.
  return (
    <form class="runs-filter" aria-label="Filter runs" onSubmit={apply} key={urlOf(view)}>
      <label>
        Project <input name="project" defaultValue={view.project} maxLength={200} />
      </label>
      <label>
        Phase <input name="phase" defaultValue={view.phase} maxLength={200} />
      </label>
      <fieldset>
        <legend>State</legend>
        {RUN_STATES.map((state) => (
          <label key={state}>
            <input type="checkbox" name="state" value={state} defaultChecked={view.states.includes(state)} /> {state}
          </label>
        ))}
      </fieldset>
      <label>
        Created from <input type="datetime-local" name="from" defaultValue={toLocalInput(view.from)} />
      </label>
      <label>
        to <input type="datetime-local" name="to" defaultValue={toLocalInput(view.to)} />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

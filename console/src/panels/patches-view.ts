// The Patches panel's view (project, states and page) as a URL query string, so a link reproduces it and back returns.
import type { ResultOf } from '../graphql';
import type { PatchRowFields } from './patches-row';

export type PatchState = ResultOf<typeof PatchRowFields>['state'];
/** In the order a patch goes through them, then the side exits (the order patchLedgerCounts gives). */
export const PATCH_STATES: readonly PatchState[] = ['CREATED', 'VALIDATED', 'QUEUED', 'APPLIED', 'APPLY_FAILED', 'VERIFIED', 'COMMITTED', 'ROLLED_BACK', 'QUARANTINED', 'DROPPED'];

export interface PatchesView {
  project: string;
  states: PatchState[];
  /** At most one cursor: after (a later page) or before (an earlier page); neither is page 1. */
  after: string;
  before: string;
}

export const isPatchState = (value: string): value is PatchState => (PATCH_STATES as readonly string[]).includes(value);

export function viewOf(query: Record<string, string>): PatchesView {
  return {
    project: query.project ?? '',
    states: (query.state ?? '').split(',').filter(isPatchState),
    after: query.after ?? '',
    before: query.after ? '' : (query.before ?? ''),
  };
}

export function urlOf(view: PatchesView): string {
  const params = new URLSearchParams();
  const set = (name: string, value: string) => value && params.set(name, value);
  set('project', view.project);
  set('state', view.states.join(','));
  set('after', view.after);
  set('before', view.before);
  const query = params.toString();
  return query ? `/patches?${query}` : '/patches';
}

/** The patchLedger(filter:) argument of a view. */
export const filterOf = (view: PatchesView) => ({ projectId: view.project || null, states: view.states.length ? view.states : null });

/** Whether an entry (as an event shows it) falls in the view's filter. */
export const matches = (view: PatchesView, entry: { projectId: string; state: PatchState }) =>
  (!view.project || entry.projectId === view.project) && (!view.states.length || view.states.includes(entry.state));

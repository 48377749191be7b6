import type { ResultOf } from '../graphql';
import type { ViewerQuery } from './viewer';

export type Scope = ResultOf<typeof ViewerQuery>['viewer']['scopes'][number];
export type Viewer = ResultOf<typeof ViewerQuery>['viewer'];

/** Why the signed-in token cannot take an action that needs `scope` (ADMIN holds every scope), or null when it can. */
export function missingScope(viewer: Viewer, scope: Scope): string | null {
  if (viewer.scopes.includes(scope) || viewer.scopes.includes('ADMIN')) return null;
  return `needs a token with the ${scope} scope; this one (${viewer.tokenName}) has ${viewer.scopes.join(', ') || 'none'}`;
}

import type { Identity } from '../engine/auth/identity.js';
import { DomainError } from '../engine/core/errors.js';

/** The scopes a token can hold (`authenticated` is any valid token, never missing once there is one). */
const TOKEN_SCOPES: ReadonlySet<string> = new Set(['read', 'operate', 'worker', 'admin']);

/**
 * FORBIDDEN for a field the token lacks every scope of, naming the scopes
 * it needs and those it has, and what to do (`todo`: leave the field out,
 * or use another token). `needed`: the field's scopes (any one will do).
 */
export function missingScope(identity: Identity, field: string, needed: readonly string[], todo: string): DomainError {
  const scopes = needed.filter((scope) => TOKEN_SCOPES.has(scope));
  const needs = scopes.length === 0 ? 'a scope this token lacks' : `the ${scopes.join(' or ')} scope`;
  const has = identity.scopes.length === 0 ? 'none' : identity.scopes.join(', ');
  return new DomainError('FORBIDDEN', `token "${identity.tokenName}" may not use ${field}: it needs ${needs} and has ${has}; ${todo}`, {
    field,
    neededScopes: scopes,
    tokenScopes: [...identity.scopes],
  });
}

/** What to do about a root field: use a token with the scope (created by an admin). */
export function useTokenWith(needed: readonly string[]): string {
  const scope = needed.find((s) => TOKEN_SCOPES.has(s)) ?? 'SCOPE';
  return `use a token that has it (\`uet-gateway token create --scopes ${scope}\`)`;
}

/** The plain scope map (`{ read: true, ... }`) a field states in Pothos; null for none, a function, or the `$any`/`$all` forms. */
export function staticScopeMap(extensions: { pothosOptions?: unknown } | undefined): Record<string, boolean> | null {
  const scopes = (extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
  const plain = typeof scopes === 'object' && scopes !== null && Object.entries(scopes).every(([key, value]) => !key.startsWith('$') && typeof value === 'boolean');
  return plain ? (scopes as Record<string, boolean>) : null;
}

/** The scopes a map accepts (any one will do). */
export function scopesOf(map: Record<string, boolean>): string[] {
  return Object.keys(map).filter((scope) => map[scope]);
}

/** Whether the caller holds one of the scopes the map asks for (`granted`: grantedScopes). */
export function holdsAny(scopes: Record<string, boolean>, granted: Record<string, boolean>): boolean {
  return Object.entries(scopes).some(([scope, needed]) => needed && granted[scope]);
}

/** A Pothos scope-auth failure, as far as this schema uses them: scope maps, any-of and all-of. */
export type ScopeFailure = { kind: string; scope?: string; failures?: ScopeFailure[] };

/** The scopes named by a Pothos scope-auth failure (the scopes the field would have accepted), in order, once each. */
export function failedScopes(failure: ScopeFailure): string[] {
  const named = failure.kind === 'AuthScope' && failure.scope ? [failure.scope] : [];
  return [...new Set([...named, ...(failure.failures ?? []).flatMap(failedScopes)])];
}

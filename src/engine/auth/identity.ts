import type { Scope } from './entities.js';

export const SCOPES: readonly Scope[] = ['read', 'operate', 'worker', 'admin'];

/** Who is calling: the token they presented and what it allows. */
export interface Identity {
  /** Null for the admin secret from the environment (UET_ADMIN_TOKEN). */
  tokenId: string | null;
  tokenName: string;
  scopes: readonly Scope[];
  expiresAt: Date | null;
}

/** `admin` allows everything; the other scopes only themselves. */
export function hasScope(identity: Identity | null, scope: Scope): boolean {
  return identity !== null && (identity.scopes.includes(scope) || identity.scopes.includes('admin'));
}

/**
 * Whether the caller reads the whole gateway: the read or operate scope
 * (admin holds both). A token with neither (a WORKER-only token) reads only
 * what its own workers work on.
 */
export function readsFleet(identity: Identity | null): boolean {
  return hasScope(identity, 'read') || hasScope(identity, 'operate');
}

/**
 * Who acts for a worker: a `worker` token may act only for the workers it
 * registered; `anyWorker` is set for callers whose scope covers the fleet.
 */
export interface WorkerActor {
  tokenId: string | null;
  tokenName: string;
  anyWorker: boolean;
}

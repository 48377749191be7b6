import { DomainError } from '../core/errors.js';

/**
 * Why a request has no identity. The code stays UNAUTHENTICATED; the
 * reason (in the message and `extensions.reason`) tells the caller what to
 * fix. None of them echoes the secret.
 */
export type AuthRefusal =
  /** No Authorization header (or connectionParams.authorization over graphql-ws). */
  | { reason: 'MISSING_TOKEN' }
  /** A value that is not `Bearer <token>`. */
  | { reason: 'NOT_BEARER' }
  /** A token no stored token (nor UET_ADMIN_TOKEN) matches. */
  | { reason: 'UNKNOWN_TOKEN' }
  | { reason: 'TOKEN_EXPIRED'; at: Date }
  /** `at` is null only when the notice came from an instance that did not say when. */
  | { reason: 'TOKEN_REVOKED'; at: Date | null };

/** What a refused caller can do about every case but a malformed header. */
const CREATE = 'create one with `uet-gateway token create` or createApiToken';

/**
 * The message of a refusal: at most 123 bytes, so that it is also the
 * graphql-ws close reason, whole (RFC 6455 leaves 123 bytes for it).
 */
export function refusalMessage(refusal: AuthRefusal): string {
  switch (refusal.reason) {
    case 'MISSING_TOKEN':
      return 'no token: send Authorization: Bearer uet_… (graphql-ws: in connectionParams); create one with `uet-gateway token create`';
    case 'NOT_BEARER':
      return 'the Authorization value must be "Bearer uet_…": the word Bearer, a space, then the token';
    case 'UNKNOWN_TOKEN':
      return `unknown token: check that it was copied whole, or ${CREATE}`;
    case 'TOKEN_EXPIRED':
      return `token expired at ${refusal.at.toISOString()}: ${CREATE}`;
    case 'TOKEN_REVOKED':
      return `token revoked${refusal.at ? ` at ${refusal.at.toISOString()}` : ''}: ${CREATE}`;
  }
}

/** The UNAUTHENTICATED error of a refusal: `extensions.reason` is stable for clients to branch on, with the time when there is one. */
export function unauthenticated(refusal: AuthRefusal): DomainError {
  const when = refusal.reason === 'TOKEN_EXPIRED' ? { expiredAt: refusal.at.toISOString() } : refusal.reason === 'TOKEN_REVOKED' && refusal.at ? { revokedAt: refusal.at.toISOString() } : {};
  return new DomainError('UNAUTHENTICATED', refusalMessage(refusal), { reason: refusal.reason, ...when });
}

import { GraphQLError } from 'graphql';
import { DomainError } from '../engine/index.js';
import { isUnstorableText, unstorableText } from '../engine/core/unstorable-text.js';
import type { Logger } from '../logger.js';
import { encodeGlobalId } from '../schema/builder.js';
import { currentRequestId } from '../request-context.js';

/**
 * By shape, not instanceof: a test runner or a bundler may load graphql
 * twice (its CommonJS and ESM builds), and errors cross between the copies.
 */
function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError' && 'extensions' in error;
}

/** The engine speaks in raw ULIDs; clients know entities by their global ids. */
function withClientIds(error: DomainError): { message: string; details: Record<string, unknown> } {
  const { entity, id } = error.details;
  if (typeof entity !== 'string' || typeof id !== 'string') return { message: error.message, details: error.details };
  const globalId = encodeGlobalId(entity, id);
  return { message: error.message.replaceAll(id, globalId), details: { ...error.details, id: globalId } };
}

/**
 * Turns every error into one a client can act on: the engine's DomainErrors
 * keep their code and details; GraphQL's own request errors (validation,
 * variable and literal coercion) keep their code or get BAD_USER_INPUT;
 * anything else, including a resolver's bug, is masked and logged.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown): Error => {
    const located = isGraphQLError(error) ? error : null;
    const found = located?.originalError ?? error;
    // A read whose filter holds a NUL fails like such a write (the write scope already converts writes).
    const original = isUnstorableText(found) ? unstorableText() : found;
    const at = { nodes: located?.nodes, source: located?.source, positions: located?.positions, path: located?.path };
    if (original instanceof DomainError) {
      const { message, details } = withClientIds(original);
      return new GraphQLError(message, { ...at, extensions: { code: original.code, ...details } });
    }
    // A GraphQLError raised while coercing input (a scalar's or an enum's parser).
    if (located && isGraphQLError(original) && original !== located) {
      return new GraphQLError(located.message, { ...at, extensions: { code: 'BAD_USER_INPUT', ...original.extensions } });
    }
    // Errors about the request itself carry no path; one with a path came from execution.
    if (located && !located.originalError && !located.path) {
      // Keep what Yoga put there (extensions.http sets the status, e.g. 403 for CSRF).
      return located.extensions.code ? located : new GraphQLError(located.message, { ...at, extensions: { ...located.extensions, code: 'BAD_USER_INPUT' } });
    }
    const requestId = currentRequestId();
    logger.error('unexpected error while executing an operation', { requestId, error: original, path: located?.path?.join('.') });
    return new GraphQLError('Unexpected error.', { ...at, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
  };
}

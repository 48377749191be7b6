/** Stable error codes a client can branch on (surfaced as GraphQL `extensions.code`). */
export type DomainErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  /** What the request would create exists already, differently (a workstream_id submitted again with another spec). */
  | 'ALREADY_EXISTS'
  | 'SLOW_CONSUMER'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  /** A patch waits for its run's test gates (one is pending or running). */
  | 'GATES_PENDING'
  /** A patch cannot land: a gate of its run failed, errored or was skipped. */
  | 'GATES_FAILED'
  /** The run was stopped by a HALT budget (or its project's is exhausted): no new steps or tasks. */
  | 'BUDGET_EXCEEDED'
  /** No tool can take the task: no rule or capability matches, or every candidate's circuit is open. */
  | 'NO_ROUTE'
  /** The database stayed locked (another process holds its write lock) through a retry: nothing was written; try again later. */
  | 'UNAVAILABLE';

/** The engine's one error type: every refusal the engine makes is one of these. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function badInput(field: string, message: string, details: Record<string, unknown> = {}): DomainError {
  return new DomainError('BAD_USER_INPUT', `${field}: ${message}`, { field, ...details });
}

export function notFound(entity: string, id: string): DomainError {
  return new DomainError('NOT_FOUND', `${entity} ${id} does not exist`, { entity, id });
}

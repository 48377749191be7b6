import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

interface OperationParams {
  query?: string;
  extensions?: Record<string, unknown> | null;
}

/**
 * Locked-down mode: only the operations of an allow-list file run. The file
 * is a JSON object of id -> operation text; a client sends the id (as
 * `documentId`, or Apollo's `extensions.persistedQuery.sha256Hash`) or the
 * exact text of a listed operation. Anything else is OPERATION_NOT_ALLOWED.
 */
export class PersistedOperations {
  private readonly byId: Map<string, string>;
  private readonly texts: Set<string>;

  constructor(file: string) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    this.byId = new Map(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    this.texts = new Set(this.byId.values());
  }

  /** The operation text to run for these params, or an error. */
  resolve(params: OperationParams & { documentId?: string }): string {
    const persisted = params.extensions?.persistedQuery as { sha256Hash?: string } | undefined;
    const id = params.documentId ?? persisted?.sha256Hash;
    if (id !== undefined) {
      const query = this.byId.get(id);
      if (query !== undefined) return query;
    } else if (params.query !== undefined && this.texts.has(params.query)) {
      return params.query;
    }
    throw new GraphQLError('this gateway only runs its persisted operations', { extensions: { code: 'OPERATION_NOT_ALLOWED' } });
  }

  static idOf(query: string): string {
    return createHash('sha256').update(query).digest('hex');
  }
}

export function usePersistedOperationsOnly(operations: PersistedOperations): Plugin {
  return {
    onParams({ params, setParams }) {
      setParams({ ...params, query: operations.resolve(params as OperationParams & { documentId?: string }) });
    },
  };
}

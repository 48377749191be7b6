import { badInput } from './errors.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** A validated page request: which way to walk, how far, and from where. */
export interface PageRequest<K> {
  direction: 'forward' | 'backward';
  size: number;
  cursor: K | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Page<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  /** Counted only when asked for. */
  totalCount: () => Promise<number>;
}

/** Cursors are opaque to clients: base64url of "<kind>:<key>". */
export function encodeCursor(kind: string, key: string | number): string {
  return Buffer.from(`${kind}:${key}`).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string, field: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const prefix = `${kind}:`;
  if (!text.startsWith(prefix) || text.length === prefix.length || encodeCursor(kind, text.slice(prefix.length)) !== cursor) {
    throw badInput(field, `is not a valid ${kind} cursor`);
  }
  return text.slice(prefix.length);
}

export function decodePositionCursor(kind: string, cursor: string, field: string): number {
  const key = decodeCursor(kind, cursor, field);
  const position = Number(key);
  if (!/^\d+$/.test(key) || !Number.isSafeInteger(position)) throw badInput(field, `is not a valid ${kind} cursor`);
  return position;
}

function pageSize(field: string, value: number | null | undefined): number {
  if (value === undefined || value === null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw badInput(field, `must be between 0 and ${MAX_PAGE_SIZE}`, { max: MAX_PAGE_SIZE });
  }
  return value;
}

export function parsePageArgs<K>(args: PageArgs, decode: (cursor: string, field: string) => K): PageRequest<K> {
  const backward = args.last != null || args.before != null;
  if (backward && (args.first != null || args.after != null)) {
    throw badInput('first', 'page with first/after or with last/before, not both');
  }
  if (backward) {
    return {
      direction: 'backward',
      size: pageSize('last', args.last),
      cursor: args.before != null ? decode(args.before, 'before') : null,
    };
  }
  return {
    direction: 'forward',
    size: pageSize('first', args.first),
    cursor: args.after != null ? decode(args.after, 'after') : null,
  };
}

/**
 * Builds a page from rows fetched in walking order with one extra row
 * (size + 1) to tell whether more follow. `hasBeyondCursor` answers whether
 * anything lies on the other side of the cursor.
 */
export async function assemblePage<T>(
  request: PageRequest<unknown>,
  rows: T[],
  cursorOf: (row: T) => string,
  hasBeyondCursor: () => Promise<boolean>,
  totalCount: () => Promise<number>,
): Promise<Page<T>> {
  const more = rows.length > request.size;
  const taken = rows.slice(0, request.size);
  if (request.direction === 'backward') taken.reverse();
  const beyond = request.cursor !== null ? await hasBeyondCursor() : false;
  const edges = taken.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: request.direction === 'forward' ? more : beyond,
      hasPreviousPage: request.direction === 'forward' ? beyond : more,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount,
  };
}

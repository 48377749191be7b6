import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Whether `value` nests arrays and objects more than `max` levels deep.
 * Iterative: the point is to look at input that would overflow the stack of
 * anything recursive (JSON.stringify overflows near 10,000 levels).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/** BAD_USER_INPUT for variables or extensions nested past `maxDepth` (0: no limit); null when they are fine. */
export function tooDeeplyNested(params: { variables?: unknown; extensions?: unknown }, maxDepth: number): GraphQLError | null {
  if (maxDepth === 0) return null;
  for (const key of ['variables', 'extensions'] as const) {
    if (nestedDeeperThan(params[key], maxDepth)) {
      return new GraphQLError(`${key} nest more than ${maxDepth} levels of arrays and objects: flatten them`, {
        extensions: { code: 'BAD_USER_INPUT', limit: 'maxJsonDepth' },
      });
    }
  }
  return null;
}

/** Refuses over-nested variables and extensions of HTTP and SSE requests before anything walks them (graphql-ws: websocket.ts). */
export function useJsonDepthLimit(maxDepth: number): Plugin {
  return {
    onParams({ params }) {
      const error = tooDeeplyNested(params, maxDepth);
      // A request error, like variables that do not coerce: 400 (with either JSON media type).
      if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
    },
  };
}

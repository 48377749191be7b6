import { getNullableType, isListType, type GraphQLField } from 'graphql';

/**
 * How many items a list field counts for in the cost analysis
 * (src/server/cost.ts), set on the field as `extensions`: `listSize` for a
 * list without paging arguments, whose resolver returns at most that many
 * (capList), or `listSizeArg` for one whose size an argument gives (a
 * number, or a list's length) and, past a page, `maxListSize` for its
 * bound.
 */
export interface ListSizeExtensions {
  listSize?: number;
  listSizeArg?: string;
  /** The most `listSizeArg` may ask for, when a field allows more than a page (MAX_PAGE_SIZE). */
  maxListSize?: number;
}

/** What an unpaginated list without a declared size counts for: lists bounded by the domain (states, types, configuration). */
export const DEFAULT_LIST_SIZE = 10;

/** Whether a list field counts for DEFAULT_LIST_SIZE: no paging argument, no declared size, so nothing caps it at that. */
export function assumesListSize(field: GraphQLField<unknown, unknown>): boolean {
  const declared = field.extensions as ListSizeExtensions;
  return isListType(getNullableType(field.type)) && declared.listSize === undefined && declared.listSizeArg === undefined && !field.args.some((arg) => arg.name === 'first');
}

/** A workstream's tasks (tasks, executionOrder, batches): more are paged with tasks(filter: { runId }). */
export const WORKSTREAM_TASKS_CAP = 100;
/** A task's dependencies or dependents (dependsOn, blockedBy, dependents). */
export const TASK_LINKS_CAP = 50;

/** The first `size` items: the hard cap of a list that declares `listSize: size`. */
export function capList<T>(items: readonly T[], size: number): T[] {
  return items.length > size ? items.slice(0, size) : [...items];
}

/** Levels of tasks, cut after the first `size` tasks in all. */
export function capLevels<T>(levels: readonly T[][], size: number): T[][] {
  const capped: T[][] = [];
  let left = size;
  for (const level of levels) {
    if (left <= 0) break;
    capped.push(capList(level, left));
    left -= level.length;
  }
  return capped;
}

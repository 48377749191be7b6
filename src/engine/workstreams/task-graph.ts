import { badInput } from '../core/errors.js';

export interface GraphNode {
  id: string;
  dependsOn: readonly string[];
}

export interface TaskGraph {
  /** Each task's level: 0 without dependencies, else one more than its deepest dependency. */
  level: Map<string, number>;
  /** The execution order: each level depends only on earlier ones; tasks keep their spec order within a level. */
  levels: string[][];
  /** Each task's direct dependents, in spec order. */
  dependents: Map<string, string[]>;
}

/**
 * Orders a workstream's tasks along depends_on (docs/domain.md#workstreams-and-scheduling). A dependency
 * on a task that does not exist, or a cycle, is BAD_USER_INPUT naming it
 * (the cycle as a path: a -> b -> c -> a).
 */
export function orderTasks(nodes: readonly GraphNode[]): TaskGraph {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  if (byId.size !== nodes.length) {
    const seen = new Set<string>();
    const twice = nodes.find((node) => (seen.has(node.id) ? true : (seen.add(node.id), false)))!;
    throw badInput('spec.tasks', `task_id "${twice.id}" is used twice`);
  }
  const dependents = new Map(nodes.map((node) => [node.id, [] as string[]]));
  for (const node of nodes) {
    for (const dependency of node.dependsOn) {
      if (!byId.has(dependency)) throw badInput('spec.tasks', `task "${node.id}" depends on "${dependency}", which is not a task of this workstream`);
      dependents.get(dependency)!.push(node.id);
    }
  }
  const level = new Map<string, number>();
  // Depth-first with an explicit path, so that a cycle can be named as the path that closes it.
  const visiting: string[] = [];
  const onPath = new Set<string>();
  const visit = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (onPath.has(id)) {
      const cycle = [...visiting.slice(visiting.indexOf(id)), id];
      throw badInput('spec.tasks', `the tasks depend on each other in a cycle: ${cycle.join(' -> ')}`, { cycle });
    }
    onPath.add(id);
    visiting.push(id);
    let depth = 0;
    for (const dependency of byId.get(id)!.dependsOn) depth = Math.max(depth, visit(dependency) + 1);
    visiting.pop();
    onPath.delete(id);
    level.set(id, depth);
    return depth;
  };
  for (const node of nodes) visit(node.id);
  const levels: string[][] = [];
  for (const node of nodes) (levels[level.get(node.id)!] ??= []).push(node.id);
  return { level, levels, dependents };
}

/** Cuts each level into batches of at most `maxParallel` (docs/domain.md#workstreams-and-scheduling). */
export function batches(levels: readonly string[][], maxParallel: number): string[][] {
  const out: string[][] = [];
  for (const ids of levels) for (let i = 0; i < ids.length; i += maxParallel) out.push(ids.slice(i, i + maxParallel));
  return out;
}

/** Every task that depends on `id`, directly or not, in breadth-first order. */
export function downstream(id: string, dependents: ReadonlyMap<string, readonly string[]>): string[] {
  const seen = new Set<string>();
  const queue = [...(dependents.get(id) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(dependents.get(next) ?? []));
  }
  return [...seen];
}

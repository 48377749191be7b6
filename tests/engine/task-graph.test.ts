import { describe, expect, it } from 'vitest';
import { batches, downstream, orderTasks, type GraphNode } from '../../src/engine/workstreams/task-graph.js';

const graph = (edges: Record<string, string[]>): GraphNode[] => Object.entries(edges).map(([id, dependsOn]) => ({ id, dependsOn }));

describe('ordering a task graph', () => {
  it.each([
    ['a chain', { a: [], b: ['a'], c: ['b'], d: ['c'] }, [['a'], ['b'], ['c'], ['d']], 2, [['a'], ['b'], ['c'], ['d']]],
    ['a diamond', { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] }, [['a'], ['b', 'c'], ['d']], 1, [['a'], ['b'], ['c'], ['d']]],
    [
      'a wide fan-out',
      { root: [], t1: ['root'], t2: ['root'], t3: ['root'], t4: ['root'], t5: ['root'], join: ['t1', 't2', 't3', 't4', 't5'] },
      [['root'], ['t1', 't2', 't3', 't4', 't5'], ['join']],
      2,
      [['root'], ['t1', 't2'], ['t3', 't4'], ['t5'], ['join']],
    ],
    ['independent groups', { x1: [], y1: [], x2: ['x1'], y2: ['y1'], y3: ['y2'] }, [['x1', 'y1'], ['x2', 'y2'], ['y3']], 3, [['x1', 'y1'], ['x2', 'y2'], ['y3']]],
    ['a task listed before its dependency', { late: ['early'], early: [] }, [['early'], ['late']], 4, [['early'], ['late']]],
    ['the deepest dependency decides the level', { a: [], b: ['a'], c: ['b'], d: ['a', 'c'] }, [['a'], ['b'], ['c'], ['d']], 4, [['a'], ['b'], ['c'], ['d']]],
  ])('%s', (_name, edges, levels, maxParallel, expectedBatches) => {
    const order = orderTasks(graph(edges));
    expect(order.levels).toEqual(levels);
    expect(batches(order.levels, maxParallel)).toEqual(expectedBatches);
    // Each level depends only on earlier ones.
    for (const node of graph(edges)) for (const dep of node.dependsOn) expect(order.level.get(dep)!).toBeLessThan(order.level.get(node.id)!);
  });

  it.each([
    ['a self-loop', { a: ['a'] }, 'a -> a'],
    ['a two-task cycle', { a: ['b'], b: ['a'] }, 'a -> b -> a'],
    ['a cycle behind a valid start', { start: [], a: ['start', 'c'], b: ['a'], c: ['b'] }, 'a -> c -> b -> a'],
  ])('refuses %s, naming the cycle', (_name, edges, path) => {
    expect(() => orderTasks(graph(edges))).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining(path) }));
  });

  it('refuses a dependency on a task that does not exist, and a task_id used twice', () => {
    expect(() => orderTasks(graph({ a: [], b: ['ghost'] }))).toThrow(/task "b" depends on "ghost", which is not a task of this workstream/);
    expect(() =>
      orderTasks([
        { id: 'a', dependsOn: [] },
        { id: 'a', dependsOn: [] },
      ]),
    ).toThrow(/task_id "a" is used twice/);
  });

  it('finds everything downstream of a task', () => {
    const order = orderTasks(graph({ a: [], b: ['a'], c: ['b'], d: ['a'], e: [] }));
    expect(downstream('a', order.dependents).sort()).toEqual(['b', 'c', 'd']);
    expect(downstream('e', order.dependents)).toEqual([]);
  });
});

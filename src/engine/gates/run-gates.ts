import type { EntityManager } from '@mikro-orm/knex';
import { TestGateSchema, type TestGate } from './entities.js';

/** Where a run's gates stand, for the patches that wait on them. */
export interface RunGates {
  total: number;
  /** Pending or running: an outcome is still to come. */
  open: TestGate[];
  /** Failed, errored or skipped: they did not pass and never will. */
  notPassed: TestGate[];
}

export async function runGates(em: EntityManager, runId: string): Promise<RunGates> {
  const gates = await em.find(TestGateSchema, { runId }, { orderBy: { id: 'asc' } });
  return {
    total: gates.length,
    open: gates.filter((g) => g.state === 'pending' || g.state === 'running'),
    notPassed: gates.filter((g) => g.state === 'failed' || g.state === 'error' || g.state === 'skipped'),
  };
}

export const describeGates = (gates: TestGate[]) => gates.map((g) => `${g.name} (${g.state})`).join(', ');

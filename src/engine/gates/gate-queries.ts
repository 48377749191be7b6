import type { EntityManager } from '@mikro-orm/knex';
import type { FilterQuery } from '@mikro-orm/core';
import type { Page, PageArgs } from '../core/pagination.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { rowsByIds } from '../db/plain-rows.js';
import { TestGateSchema, type GateState, type GateType, type TestGate } from './entities.js';

export interface GateFilter {
  runId?: string | null;
  projectId?: string | null;
  states?: GateState[] | null;
  types?: GateType[] | null;
}

/** Reads of test gates, shaped for batching and keyset pages. */
export class GateQueries {
  constructor(private readonly fork: () => EntityManager) {}

  gatesByIds(ids: readonly string[]): Promise<TestGate[]> {
    return rowsByIds(this.fork(), TestGateSchema, ids);
  }

  /** Newest first. */
  gates(filter: GateFilter, args: PageArgs): Promise<Page<TestGate>> {
    const where: FilterQuery<TestGate> & Record<string, unknown> = {};
    if (filter.runId != null) where.runId = filter.runId;
    if (filter.projectId != null) where.projectId = filter.projectId;
    if (filter.states != null) where.state = { $in: filter.states };
    if (filter.types != null) where.type = { $in: filter.types };
    return pageNewestFirst(this.fork(), TestGateSchema, 'TestGate', where, args);
  }
}

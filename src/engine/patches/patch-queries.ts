import type { EntityManager } from '@mikro-orm/knex';
import type { FilterQuery } from '@mikro-orm/core';
import type { Page, PageArgs } from '../core/pagination.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { findRows, rowsByIds } from '../db/plain-rows.js';
import { LedgerEntrySchema, PatchSchema, type LedgerEntry, type Patch, type PatchState } from './entities.js';

/** Every ledger state, in the order a patch goes through them (then the side exits): the order of ledger counts. */
export const PATCH_STATES: readonly PatchState[] = ['created', 'validated', 'queued', 'applied', 'apply_failed', 'verified', 'committed', 'rolled_back', 'quarantined', 'dropped'];

export interface LedgerFilter {
  projectId?: string | null;
  runId?: string | null;
  workstreamId?: string | null;
  states?: PatchState[] | null;
}

/** Reads of patches and ledger entries, shaped for batching and keyset pages. */
export class PatchQueries {
  constructor(private readonly fork: () => EntityManager) {}

  patchesByIds(ids: readonly string[]): Promise<Patch[]> {
    return rowsByIds(this.fork(), PatchSchema, ids);
  }

  entriesByIds(ids: readonly string[]): Promise<LedgerEntry[]> {
    return rowsByIds(this.fork(), LedgerEntrySchema, ids);
  }

  entriesByPatchIds(patchIds: readonly string[]): Promise<LedgerEntry[]> {
    return findRows(this.fork(), LedgerEntrySchema, { patchId: { $in: [...patchIds] } });
  }

  /** Newest first. */
  ledger(filter: LedgerFilter, args: PageArgs): Promise<Page<LedgerEntry>> {
    const where: FilterQuery<LedgerEntry> & Record<string, unknown> = {};
    if (filter.projectId != null) where.projectId = filter.projectId;
    if (filter.runId != null) where.runId = filter.runId;
    if (filter.workstreamId != null) where.workstreamId = filter.workstreamId;
    if (filter.states != null) where.state = { $in: filter.states };
    return pageNewestFirst(this.fork(), LedgerEntrySchema, 'LedgerEntry', where, args);
  }

  /** How many entries matching the filter stand in each state: every state (zero included), in PATCH_STATES order, counted by the database in one grouped read. */
  async countsByState(filter: LedgerFilter): Promise<{ state: PatchState; count: number }[]> {
    const query = this.fork().getKnex()('patch_ledger').select('state').count({ count: '*' }).groupBy('state');
    if (filter.projectId != null) query.where('project_id', filter.projectId);
    if (filter.runId != null) query.where('run_id', filter.runId);
    if (filter.workstreamId != null) query.where('workstream_id', filter.workstreamId);
    if (filter.states != null) query.whereIn('state', filter.states);
    const counted = new Map(((await query) as { state: PatchState; count: number | string }[]).map((row) => [row.state, Number(row.count)]));
    return PATCH_STATES.map((state) => ({ state, count: counted.get(state) ?? 0 }));
  }
}

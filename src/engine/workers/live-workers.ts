import type { EntityManager } from '@mikro-orm/knex';
import type { EventBus } from '../core/event-bus.js';
import { isSqlite } from '../db/orm.js';
import { WorkerSchema, type Worker } from './entities.js';

interface Beat {
  at: Date;
  progress: number | null;
  staleAfter: Date;
}

/** Flushed in chunks so that one statement stays within SQLite's parameter limit. */
const FLUSH_CHUNK = 300;
/** Cached rows beyond this are dropped wholesale (they reload on demand). */
const ROW_CAPACITY = 50_000;

const later = (a: Date | null | undefined, b: Date | null | undefined): Date | null => {
  if (!a) return b ?? null;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
};

/**
 * The hot path's memory: worker rows as last committed, and the newest
 * heartbeat of each worker. A heartbeat costs no query: it is kept here and
 * written with every other changed one in one statement per flush (the
 * server flushes every second), so a crash loses at most the heartbeat
 * timestamps since the last flush and never a state change, which commits
 * on its own. Reads overlay the newest heartbeat on the stored row.
 */
export class LiveWorkers {
  private readonly rows = new Map<string, Worker>();
  private readonly beats = new Map<string, Beat>();
  private readonly dirty = new Set<string>();
  private flushing: Promise<number> | null = null;
  /** Heartbeats received since start (for the metrics' rate). */
  received = 0;

  constructor(
    private readonly fork: () => EntityManager,
    bus: EventBus,
  ) {
    // Another instance changed a worker: drop a cached row that no longer matches.
    bus.subscribe('worker.state', (notice) => {
      if (this.rows.get(notice.workerId)?.state !== notice.to) this.rows.delete(notice.workerId);
    });
    // Notices missed while a shared bus was away may have been such changes: reload every row on demand.
    bus.onConnectionChange((connected) => {
      if (connected) this.rows.clear();
    });
  }

  /** The worker's committed row, from memory when known. */
  async get(id: string): Promise<Worker | null> {
    const cached = this.rows.get(id);
    if (cached) return cached;
    const row = await this.fork().findOne(WorkerSchema, { id });
    if (row) this.remember(row);
    return row;
  }

  /** Called after a write commits with the row it wrote. */
  remember(worker: Worker): void {
    const known = this.rows.get(worker.id);
    if (!known && this.rows.size >= ROW_CAPACITY) this.rows.clear();
    // A write that read the row before a flush committed carries an older heartbeat: keep the newer.
    if (known?.lastHeartbeatAt && (!worker.lastHeartbeatAt || known.lastHeartbeatAt > worker.lastHeartbeatAt)) {
      worker.lastHeartbeatAt = known.lastHeartbeatAt;
      worker.heartbeatProgress = known.heartbeatProgress;
      worker.staleAfter = known.staleAfter;
    }
    this.rows.set(worker.id, worker);
  }

  beat(worker: Worker, at: Date, progress: number | null): void {
    this.received += 1;
    this.beats.set(worker.id, { at, progress, staleAfter: new Date(at.getTime() + worker.timeoutSeconds * 1000) });
    this.dirty.add(worker.id);
  }

  lastHeartbeat(worker: Worker): Date | null {
    return later(this.beats.get(worker.id)?.at, worker.lastHeartbeatAt);
  }

  /** The progress the newest heartbeat reported (0..100), if any. */
  progress(worker: Worker): number | null {
    const beat = this.beats.get(worker.id);
    if (beat && (!worker.lastHeartbeatAt || beat.at >= worker.lastHeartbeatAt)) return beat.progress;
    return worker.heartbeatProgress ?? null;
  }

  staleAfter(worker: Worker): Date {
    return later(this.beats.get(worker.id)?.staleAfter, worker.staleAfter)!;
  }

  /** Heartbeats received but not yet written. */
  get pending(): number {
    return this.dirty.size;
  }

  /**
   * Writes every heartbeat received since the last flush: one UPDATE per
   * chunk of workers, in one transaction. Concurrent callers share a flush.
   */
  flush(): Promise<number> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.dirty.size === 0) return Promise.resolve(0);
    const ids = [...this.dirty];
    this.dirty.clear();
    this.flushing = this.write(ids)
      .catch((error: unknown) => {
        // Not written: keep them for the next flush.
        for (const id of ids) this.dirty.add(id);
        throw error;
      })
      .finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async write(ids: string[]): Promise<number> {
    const written = ids.map((id) => [id, this.beats.get(id)!] as const);
    await this.fork().transactional(async (em) => {
      const date = (value: Date) => em.getPlatform().processDateProperty(value);
      // PostgreSQL types bare parameters in VALUES as text: cast them to the columns' types.
      const typed = (type: string) => (isSqlite(em) ? '?' : `cast(? as ${type})`);
      const row = `(?, ${typed('timestamptz')}, ${typed('double precision')}, ${typed('timestamptz')})`;
      for (let i = 0; i < written.length; i += FLUSH_CHUNK) {
        const chunk = written.slice(i, i + FLUSH_CHUNK);
        // Joined on the primary key, so the cost grows with the chunk (a CASE per column grew with its square).
        // A stored heartbeat only moves forward: with several instances, a worker's beats may land on
        // different ones, and an older beat flushed later must not overwrite a newer one.
        // Double-quoted names: standard SQL, read alike by SQLite and PostgreSQL (both name VALUES' columns column1...).
        await em.execute(
          `update "worker" set "last_heartbeat_at" = "beat"."column2", "heartbeat_progress" = "beat"."column3", "stale_after" = "beat"."column4" ` +
            `from (values ${chunk.map(() => row).join(', ')}) as "beat" where "worker"."id" = "beat"."column1" ` +
            `and ("worker"."last_heartbeat_at" is null or "worker"."last_heartbeat_at" < "beat"."column2")`,
          chunk.flatMap(([id, beat]) => [id, date(beat.at), beat.progress, date(beat.staleAfter)]),
        );
      }
    });
    for (const [id, beat] of written) {
      const row = this.rows.get(id);
      if (row && beat.at >= (row.lastHeartbeatAt ?? beat.at)) {
        row.lastHeartbeatAt = beat.at;
        row.heartbeatProgress = beat.progress;
        row.staleAfter = beat.staleAfter;
      }
      // Stored now: the overlay is needed only while a newer beat waits.
      if (this.beats.get(id) === beat && row) this.beats.delete(id);
    }
    return written.length;
  }
}

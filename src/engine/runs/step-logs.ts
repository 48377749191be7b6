import type { EntityManager } from '@mikro-orm/knex';
import type { WorkerActor } from '../auth/identity.js';
import { assertMayReport } from '../auth/report-access.js';
import { badInput, notFound } from '../core/errors.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import { rowMapper } from '../db/plain-rows.js';
import { StepLogChunkSchema, type StepLogChunk, type StepLogStream, type StepState } from './entities.js';
import { stepMachine } from './machines.js';

/** The most UTF-8 bytes one append carries. */
export const MAX_CHUNK_BYTES = 65_536;
/** The most bytes a step's log may grow to (its size, cut bytes included): past it appends are refused. */
export const MAX_LOG_BYTES = 1_073_741_824;
/** Bytes of a step's log stored by default (UET_STEP_LOG_MAX_BYTES): a quarter head, the rest the newest tail. */
export const DEFAULT_STEP_LOG_MAX_BYTES = 8_388_608;
/** Chunks of a stepLog page: 100 when not asked, at most 500. */
export const DEFAULT_LOG_PAGE = 100;
export const MAX_LOG_PAGE = 500;
/** A page (and a read of the live feed) also stops at about this many bytes of text, after at least one chunk. */
export const LOG_PAGE_BYTES = 1_048_576;

/** Bus notice: a step's log grew, or the step ended (its log will not grow). Readers read the stored log. */
export interface StepLogNotice {
  stepId: string;
  ended?: true;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'step.log': StepLogNotice;
  }
}

/** Inside the write that ends a step (whatever ends it): once committed, its log's subscribers deliver the rest and complete. */
export function announceStepEnded(scope: WriteScope, stepId: string): void {
  scope.announce('step.log', { stepId, ended: true });
}

export interface AppendStepLogInput {
  stepId: string;
  offset: number;
  stream?: StepLogStream | null;
  text: string;
}

export interface AppendStepLogResult {
  size: number;
  cutBytes: number;
  /** Every byte sent was stored already: nothing was written. */
  duplicate: boolean;
}

/** A chunk as read: its text starts at `offset` (later than stored when a page starts inside it). */
export interface StepLogChunkView {
  offset: number;
  endOffset: number;
  stream: StepLogStream;
  text: string;
  at: Date;
}

/** What a step's row says of its log. */
export interface StepLogSummary {
  size: number;
  cutFrom: number | null;
  cutTo: number | null;
  cutBytes: number;
  /** The step has ended: the log will not grow. */
  complete: boolean;
}

export interface StepLogPage extends StepLogSummary {
  chunks: StepLogChunkView[];
  hasMore: boolean;
}

export interface StepLogPageArgs {
  after?: number | null;
  first?: number | null;
  before?: number | null;
  last?: number | null;
}

interface StepRow {
  run_id: string;
  state: StepState;
  started_by_token_id: string | null;
  log_size: number;
  log_cut_from: number | null;
  log_cut_to: number | null;
}

const STEP_COLUMNS = '"run_id", "state", "started_by_token_id", "log_size", "log_cut_from", "log_cut_to"';

/** The step row's cut range as numbers (PostgreSQL returns bigint columns as strings); nulls when nothing was cut. */
function cutOf(row: StepRow): { from: number | null; to: number | null } {
  return { from: row.log_cut_from == null ? null : Number(row.log_cut_from), to: row.log_cut_to == null ? null : Number(row.log_cut_to) };
}

/**
 * Step logs: append-only UTF-8 output per step attempt, addressed by byte
 * offset. Appends to one step are serialised by the step row's lock (which
 * completeStep and a run's ending take too, so no chunk commits after the
 * step has ended); each commits its chunk and the step's summary together
 * and announces 'step.log' after the commit. Past `maxStoredBytes` the log
 * keeps its head (the first quarter) and its newest tail; the chunks between
 * are deleted and counted as cut.
 */
export class StepLogs {
  constructor(
    private readonly transact: Transact,
    private readonly fork: () => EntityManager,
    /** UET_STEP_LOG_MAX_BYTES; 0 stores every byte (up to MAX_LOG_BYTES). */
    private readonly maxStoredBytes: number,
  ) {}

  /** Idempotent by offset: the bytes at or past the log's size are appended, those before it were stored already. */
  async append(actor: WorkerActor, input: AppendStepLogInput): Promise<AppendStepLogResult> {
    const stream = input.stream ?? 'stdout';
    if (stream !== 'stdout' && stream !== 'stderr') throw badInput('stream', 'must be STDOUT or STDERR');
    if (!Number.isSafeInteger(input.offset) || input.offset < 0) throw badInput('offset', 'must be a whole number >= 0');
    if (typeof input.text !== 'string' || input.text === '') throw badInput('text', 'must not be empty: append only output there is');
    const bytes = Buffer.from(input.text, 'utf8');
    if (bytes.length > MAX_CHUNK_BYTES) {
      throw badInput('text', `is ${bytes.length} UTF-8 bytes, at most ${MAX_CHUNK_BYTES} allowed: send it in several appends`, { limit: 'maxChunkBytes', max: MAX_CHUNK_BYTES });
    }
    return this.transact(async (scope) => {
      const [step] = await scope.sql.all<StepRow>(`select ${STEP_COLUMNS} from "step_attempt" where "id" = ?${scope.sql.forUpdate}`, [input.stepId]);
      if (!step) throw notFound('StepAttempt', input.stepId);
      await assertMayReport(scope.em, actor, { runId: step.run_id, startedBy: { tokenId: step.started_by_token_id }, what: 'a step log' });
      if (step.state !== 'running') stepMachine.forbid(step.state, input.stepId, ": only a RUNNING step's log grows", { attemptedState: 'RUNNING' });
      const size = Number(step.log_size);
      let cut = cutOf(step);
      const answer = (duplicate: boolean) => ({ size, cutBytes: cutBytes(cut.from, cut.to), duplicate });
      if (input.offset > size) throw badInput('offset', `is past the end of the log: the next append must name offset ${size}`, { expectedOffset: size });
      const skip = size - input.offset;
      if (skip >= bytes.length) return answer(true);
      // A resend overlaps what is stored: its first new byte must start a character, as the stored text ended on one.
      if (skip > 0 && isContinuationByte(bytes[skip]!)) {
        throw badInput('offset', `the log's size ${size} falls inside a character of this text, so it is not the text stored: append from offset ${size}`, { expectedOffset: size });
      }
      const fresh = bytes.subarray(skip);
      const end = size + fresh.length;
      if (end > MAX_LOG_BYTES) {
        throw badInput('text', `would take the log to ${end} bytes, at most ${MAX_LOG_BYTES} allowed: stop sending this step's output`, { limit: 'maxLogBytes', max: MAX_LOG_BYTES });
      }
      await scope.sql.run(`insert into "step_log_chunk" ("step_id", "end_offset", "start_offset", "stream", "bytes", "at") values (?, ?, ?, ?, ?, ?)`, [
        input.stepId,
        end,
        size,
        stream,
        fresh,
        scope.sql.date(scope.now),
      ]);
      cut = await this.bound(scope, input.stepId, end, cut);
      await scope.sql.run(`update "step_attempt" set "log_size" = ?, "log_cut_from" = ?, "log_cut_to" = ? where "id" = ?`, [end, cut.from, cut.to, input.stepId]);
      scope.announce('step.log', { stepId: input.stepId });
      return { size: end, cutBytes: cutBytes(cut.from, cut.to), duplicate: false };
    });
  }

  /**
   * Keeps the stored log within maxStoredBytes: the head (the chunks that
   * end within the first quarter) for good, and the newest tail chunks that
   * fit in the rest. The oldest tail chunks go; [from, to) is what is gone.
   */
  private async bound(scope: WriteScope, stepId: string, end: number, cut: { from: number | null; to: number | null }): Promise<{ from: number | null; to: number | null }> {
    const max = this.maxStoredBytes;
    if (max === 0 || end - cutBytes(cut.from, cut.to) <= max) return cut;
    let headEnd = cut.from;
    if (headEnd === null) {
      const [head] = await scope.sql.all<{ end: number | null }>(`select max("end_offset") as "end" from "step_log_chunk" where "step_id" = ? and "end_offset" <= ?`, [stepId, Math.floor(max / 4)]);
      headEnd = head?.end == null ? 0 : Number(head.end);
    }
    // The tail starts at the first chunk that starts at or past `from`: everything from there fits in the rest.
    const from = end - (max - headEnd);
    const next = await scope.sql.all<{ start_offset: number }>(`select "start_offset" from "step_log_chunk" where "step_id" = ? and "end_offset" > ? order by "end_offset" limit 2`, [stepId, from]);
    const tailStart = next.map((row) => Number(row.start_offset)).find((start) => start >= from) ?? end;
    await scope.sql.run(`delete from "step_log_chunk" where "step_id" = ? and "end_offset" > ? and "end_offset" <= ?`, [stepId, headEnd, tailStart]);
    return { from: headEnd, to: tailStart };
  }

  /** What the step's row says of its log; NOT_FOUND for an unknown step. */
  async summary(stepId: string): Promise<StepLogSummary> {
    const [row] = await this.fork().execute<StepRow[]>(`select ${STEP_COLUMNS} from "step_attempt" where "id" = ?`, [stepId], 'all');
    if (!row) throw notFound('StepAttempt', stepId);
    const cut = cutOf(row);
    return { size: Number(row.log_size), cutFrom: cut.from, cutTo: cut.to, cutBytes: cutBytes(cut.from, cut.to), complete: row.state !== 'running' };
  }

  /**
   * A page of the log as it stood when its summary was read (chunks appended
   * since are left for the next page): forwards from `after` or backwards
   * from `before`, in offset order either way.
   */
  async page(stepId: string, args: StepLogPageArgs): Promise<StepLogPage> {
    const backward = args.before != null || args.last != null;
    if (backward && (args.after != null || args.first != null)) throw badInput('first', 'page with first/after or with last/before, not both');
    const size = pageSize(backward ? 'last' : 'first', backward ? args.last : args.first);
    const offset = (field: 'after' | 'before', value: number | null | undefined) => {
      if (value == null) return null;
      if (!Number.isSafeInteger(value) || value < 0) throw badInput(field, 'must be a byte offset (a whole number >= 0)');
      return value;
    };
    const after = offset('after', args.after) ?? 0;
    const before = offset('before', args.before);
    const summary = await this.summary(stepId);
    if (!backward) return { ...summary, ...(await this.readAfter(stepId, after, size, summary.size)) };
    return { ...summary, ...(await this.readBefore(stepId, Math.min(before ?? summary.size, summary.size), size)) };
  }

  /**
   * The chunks that end past `after` (and at or before `upTo`), at most
   * `limit` and about LOG_PAGE_BYTES of text (at least one); a chunk that
   * starts before `after` is returned from the first character at or past it.
   */
  async readAfter(stepId: string, after: number, limit: number, upTo: number = MAX_LOG_BYTES): Promise<{ chunks: StepLogChunkView[]; hasMore: boolean }> {
    const em = this.fork();
    // Offsets first, then the text of only the chunks the page takes: a page never reads more than it returns.
    const spans = await em.execute<{ start_offset: number; end_offset: number }[]>(
      'select "start_offset", "end_offset" from "step_log_chunk" where "step_id" = ? and "end_offset" > ? and "end_offset" <= ? order by "end_offset" limit ?',
      [stepId, after, upTo, limit + 1],
      'all',
    );
    const taken = takeWithinBytes(spans.slice(0, limit), (span) => Number(span.end_offset) - Math.max(Number(span.start_offset), after));
    if (taken === 0) return { chunks: [], hasMore: false };
    const chunks = await readChunks(em, stepId, after, Number(spans[taken - 1]!.end_offset));
    return { chunks: chunks.map((chunk) => chunkView(chunk, after)), hasMore: taken < spans.length };
  }

  /** The newest chunks that end at or before `before`, at most `limit` and about LOG_PAGE_BYTES (at least one), in offset order. */
  private async readBefore(stepId: string, before: number, limit: number): Promise<{ chunks: StepLogChunkView[]; hasMore: boolean }> {
    const em = this.fork();
    const spans = await em.execute<{ start_offset: number; end_offset: number }[]>(
      'select "start_offset", "end_offset" from "step_log_chunk" where "step_id" = ? and "end_offset" <= ? order by "end_offset" desc limit ?',
      [stepId, before, limit + 1],
      'all',
    );
    const taken = takeWithinBytes(spans.slice(0, limit), (span) => Number(span.end_offset) - Number(span.start_offset));
    if (taken === 0) return { chunks: [], hasMore: false };
    const chunks = await readChunks(em, stepId, Number(spans[taken - 1]!.start_offset), Number(spans[0]!.end_offset));
    return { chunks: chunks.map((chunk) => chunkView(chunk, 0)), hasMore: taken < spans.length };
  }
}

function cutBytes(from: number | null, to: number | null): number {
  return from === null || to === null ? 0 : Number(to) - Number(from);
}

function pageSize(field: 'first' | 'last', value: number | null | undefined): number {
  if (value == null) return DEFAULT_LOG_PAGE;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LOG_PAGE) throw badInput(field, `must be between 1 and ${MAX_LOG_PAGE}`, { max: MAX_LOG_PAGE });
  return value;
}

/** How many of `items` fit in LOG_PAGE_BYTES by `bytes` (at least one, when there is one). */
function takeWithinBytes<T>(items: readonly T[], bytes: (item: T) => number): number {
  let total = 0;
  let taken = 0;
  for (const item of items) {
    total += bytes(item);
    if (taken > 0 && total > LOG_PAGE_BYTES) break;
    taken += 1;
  }
  return taken;
}

/** 10xxxxxx: a byte inside a UTF-8 character, not the first of one. */
export function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/** The stored chunks of a step that end in (from, to], in offset order, as plain rows (db/plain-rows.ts). */
async function readChunks(em: EntityManager, stepId: string, from: number, to: number): Promise<StepLogChunk[]> {
  const chunks = rowMapper(em, StepLogChunkSchema);
  const columns = chunks.columns.map((column) => `"${column}"`).join(', ');
  const rows = await em.execute<Record<string, unknown>[]>(
    `select ${columns} from "step_log_chunk" where "step_id" = ? and "end_offset" > ? and "end_offset" <= ? order by "end_offset"`,
    [stepId, from, to],
    'all',
  );
  return rows.map((row) => chunks.map(row));
}

/** A stored chunk as read from `after` on (at the first character start at or past it). */
function chunkView(chunk: StepLogChunk, after: number): StepLogChunkView {
  const bytes = Buffer.from(chunk.bytes);
  let skip = Math.max(0, after - chunk.offset);
  while (skip < bytes.length && isContinuationByte(bytes[skip]!)) skip += 1;
  return { offset: chunk.offset + skip, endOffset: chunk.endOffset, stream: chunk.stream, text: bytes.subarray(skip).toString('utf8'), at: chunk.at };
}

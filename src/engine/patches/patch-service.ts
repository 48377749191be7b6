import type { EntityManager } from '@mikro-orm/knex';
import { DomainError, badInput, notFound } from '../core/errors.js';
import type { WorkerActor } from '../auth/identity.js';
import { isUlid, ulidTime } from '../core/ids.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import { TEXT_LIMIT, optionalText, requireText } from '../core/validate.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import type { ContractRegistry } from '../contracts/registry.js';
import { RunSchema, type Run, type RunEventKind } from '../runs/entities.js';
import { ExecutionRequestSchema } from '../workstreams/entities.js';
import { LedgerEntrySchema, PatchSchema, type LedgerEntry, type Patch, type PatchOrigin, type PatchPolicy, type PatchRelations, type PatchState } from './entities.js';
import { describeGates, runGates } from '../gates/run-gates.js';
import { recordForRun } from '../runs/record-for-run.js';
import { lockRow } from '../core/lock-row.js';
import { assertMayReport } from '../auth/report-access.js';
import { nonCanonicalPaths } from './canonical-path.js';
import type { FileDiff, ParsedDiff } from './diff-types.js';
import { ledgerMachine } from './machines.js';
import { checkConstraints, DEFAULT_CONSTRAINTS, type FileHistory } from './policy.js';
import type { PolicyStore } from './policy-store.js';
import { checkResourceScope, type ResourceScope } from './resource-scope.js';
import { DiffParseError, parseUnifiedDiff } from './unified-diff.js';

/** Paths per history query, and file rows per INSERT (3 values each): well under SQLite's and PostgreSQL's limits on bound parameters. */
const HISTORY_PATHS_PER_QUERY = 500;
const FILE_ROWS_PER_INSERT = 1000;

/** How big a patch createPatch accepts (UET_MAX_PATCH_FILES, UET_MAX_DIFF_BYTES in config.ts). */
export interface PatchLimits {
  maxPatchFiles: number;
  maxDiffBytes: number;
}

/**
 * UET_MAX_PATCH_FILES and UET_MAX_DIFF_BYTES unless set. A large refactor or
 * rename sweep touches a few thousand files (5,000 are created and judged in
 * 0.1 to 0.5 s each); 1 MiB is ~20,000 changed lines, and parsing is synchronous.
 */
export const DEFAULT_PATCH_LIMITS: PatchLimits = { maxPatchFiles: 5000, maxDiffBytes: 1_048_576 };

export interface PatchStateNotice {
  ledgerId: string;
  projectId: string;
  runId: string | null;
  state: PatchState;
}

declare module '../core/event-bus.js' {
  interface Topics {
    'patch.state': PatchStateNotice;
  }
}

export interface CreatePatchInput {
  projectId: string;
  runId?: string | null;
  phaseId?: string | null;
  workstreamId?: string | null;
  executionRequestId?: string | null;
  targetRepo: string;
  baseRef?: string | null;
  baseCommit?: string | null;
  diffText: string;
  summary?: string | null;
  origin?: unknown;
  relations?: { replacesPatchId?: string | null; rollbackOfPatchId?: string | null; chainId?: string | null } | null;
  reviewers?: string[] | null;
}

export interface RecordApplyInput {
  ledgerId: string;
  success: boolean;
  workspacePath?: string | null;
  appliedFiles?: string[] | null;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/** The run event each ledger state is entered with. */
const EVENT_OF: Record<Exclude<PatchState, 'created'>, RunEventKind> = {
  validated: 'patch_validated',
  apply_failed: 'patch_apply_failed',
  // Entering QUEUED hands the patch to the applier (queuePatch, retryPatch).
  queued: 'patch_apply_started',
  applied: 'patch_apply_succeeded',
  verified: 'patch_verified',
  committed: 'patch_committed',
  rolled_back: 'patch_rolled_back',
  dropped: 'patch_dropped',
  quarantined: 'patch_quarantined',
};

/** The patch ledger (docs/domain.md#patch-ledger): every transition is one transaction with its history entry and run event. */
export class PatchService {
  constructor(
    private readonly transact: Transact,
    private readonly contracts: ContractRegistry,
    private readonly policies: PolicyStore,
    private readonly streams: NoticeStreams,
    private readonly fork: () => EntityManager,
    private readonly limits: PatchLimits,
  ) {}

  /** `actor`: who reports it; a WORKER-only token only for a task its workers hold now, naming no other execution request (report-access.ts). */
  async create(actor: WorkerActor, input: CreatePatchInput): Promise<{ patch: Patch; entry: LedgerEntry }> {
    const fields = {
      projectId: requireText('projectId', input.projectId),
      phaseId: optionalText('phaseId', input.phaseId),
      workstreamId: optionalText('workstreamId', input.workstreamId),
      executionRequestId: optionalText('executionRequestId', input.executionRequestId),
      targetRepo: requireText('targetRepo', input.targetRepo, 1000),
      baseRef: optionalText('baseRef', input.baseRef, 1000),
      baseCommit: optionalText('baseCommit', input.baseCommit, 64),
      summary: optionalText('summary', input.summary, TEXT_LIMIT),
    };
    if (fields.baseCommit && !/^[0-9a-f]{7,64}$/.test(fields.baseCommit)) throw badInput('baseCommit', 'must be 7 to 64 lower-case hex digits');
    if (fields.executionRequestId && !isUlid(fields.executionRequestId)) throw badInput('executionRequestId', 'must be an execution request id (a ULID)');
    // Bounded in bytes (what the body and the database hold), not in characters.
    const diffText = requireText('diffText', input.diffText, Number.MAX_SAFE_INTEGER);
    const bytes = Buffer.byteLength(diffText);
    if (bytes > this.limits.maxDiffBytes) throw badInput('diffText', `is ${bytes} bytes, at most ${this.limits.maxDiffBytes} allowed: split the change into several patches`);
    const diff = parseDiff(diffText);
    const pathProblems = nonCanonicalPaths(pathsOf(diff));
    if (pathProblems.length > 0) throw badInput('diffText', `${summarize(pathProblems)}: git refuses such paths; name each file from the repository root`, { paths: pathProblems });
    if (diff.filesTouched.length > this.limits.maxPatchFiles) {
      throw badInput('diffText', `touches ${diff.filesTouched.length} files, at most ${this.limits.maxPatchFiles} allowed: split the change into several patches`);
    }
    const reviewers = (input.reviewers ?? []).map((r, i) => requireText(`reviewers[${i}]`, r));
    const relations = this.parseRelations(input.relations);
    const originInput = (input.origin ?? {}) as Record<string, unknown>;
    return this.transact(async (scope) => {
      await assertMayReport(scope.em, actor, { runId: input.runId ?? null, executionRequestId: fields.executionRequestId, what: 'a patch' });
      const run = input.runId != null ? await lockRow(scope.em, RunSchema, input.runId) : null;
      if (run && run.projectId !== fields.projectId) throw badInput('projectId', `the run belongs to project ${run.projectId}, not ${fields.projectId}`);
      if (fields.executionRequestId) await checkExecutionRequest(scope.em, fields.executionRequestId, fields.projectId, run);
      const phaseId = fields.phaseId ?? run?.phaseId ?? null;
      const workstreamId = fields.workstreamId ?? run?.workstreamId ?? null;
      const executionRequestId = fields.executionRequestId ?? run?.executionRequestId ?? null;
      const origin: PatchOrigin = {
        ...(phaseId ? { phase_id: phaseId } : {}),
        ...(workstreamId ? { workstream_id: workstreamId } : {}),
        ...originInput,
        created_at: scope.now.toISOString(),
      };
      this.contracts.check('origin', 'patch_artifact', origin, '#/properties/origin');
      const id = scope.newId();
      const patch = scope.em.create(PatchSchema, {
        id,
        format: 'unified_diff',
        projectId: fields.projectId,
        runId: run?.id ?? null,
        targetRepo: fields.targetRepo,
        baseRef: fields.baseRef,
        baseCommit: fields.baseCommit,
        origin,
        summary: fields.summary,
        scope: { files_touched: diff.filesTouched, line_insertions: diff.insertions, line_deletions: diff.deletions, hunks: diff.hunks },
        binary: diff.files.some((f) => f.binary),
        diffText,
        reviewers,
        createdAt: new Date(ulidTime(id)),
      });
      scope.em.persist(patch);
      // The patch row first (the file rows refer to it), then the file rows in a few multi-row INSERTs:
      // through the unit of work (or em.insertMany), 5,000 of them held the event loop and the write lock 0.3 to 1 s.
      await scope.em.flush();
      for (let i = 0; i < diff.filesTouched.length; i += FILE_ROWS_PER_INSERT) {
        const paths = diff.filesTouched.slice(i, i + FILE_ROWS_PER_INSERT);
        await scope.em.getConnection().execute(
          `insert into patch_file (patch_id, path, project_id) values ${paths.map(() => '(?, ?, ?)').join(', ')}`,
          paths.flatMap((path) => [id, path, fields.projectId]),
          'run',
          scope.em.getTransactionContext(),
        );
      }
      const entry = scope.em.create(LedgerEntrySchema, {
        id: scope.newId(),
        patchId: id,
        projectId: fields.projectId,
        runId: run?.id ?? null,
        phaseId,
        workstreamId,
        executionRequestId,
        state: 'created',
        stateHistory: [{ state: 'created', at: scope.now.toISOString(), reason: 'created' }],
        validation: { format_ok: true, scope_ok: false, constraints_ok: false, tests_ran: false, tests_passed: false, validation_errors: [] },
        apply: { attempts: 0, applied_files: [] },
        quarantine: { is_quarantined: false },
        relations,
        createdAt: scope.now,
        updatedAt: scope.now,
      });
      scope.em.persist(entry);
      if (run) {
        run.patchesCreated += 1;
        await recordForRun(scope, run.id, 'patch_created', { ledgerId: entry.id, patchId: id, files: diff.filesTouched.length });
      }
      this.announce(scope, entry);
      return { patch, entry };
    });
  }

  /**
   * Judges the patch: its format, its execution request's resource scope (else its run's), and the
   * effective policy's constraints. All hold: validated; else apply_failed,
   * with validation_errors saying which rule failed for which file.
   *
   * The judging (parsing, globs, the files' history) runs outside the write
   * transaction: inside it, a 9,000-file patch held the only SQLite
   * connection for 8 s. The transaction that writes the verdict
   * re-reads the entry (another call may have moved it on) and the effective
   * policy; a policy that changed meanwhile means judging again.
   *
   * A WORKER-only token validates only the patches it may report on
   * (report-access.ts): checked before judging, so that a refused caller
   * costs no judging, and again in the transaction that writes.
   */
  async validate(actor: WorkerActor, ledgerId: string): Promise<LedgerEntry> {
    for (let attempt = 1; ; attempt++) {
      const verdict = await this.judge(actor, ledgerId);
      let stale = false;
      const entry = await this.change(ledgerId, async (scope, entry) => {
        await assertMayReportOn(scope.em, actor, entry, 'the validation of a patch');
        ledgerMachine.assert(entry.state, 'validated', entry.id);
        const policy = await this.policies.effective(entry.projectId, entry.phaseId ?? null, scope.em);
        stale = policyVersion(policy) !== verdict.policyVersion;
        if (stale) return;
        const { errors, checks } = verdict;
        entry.validation = { ...entry.validation, ...checks, validation_errors: errors };
        const passed = errors.length === 0;
        const reason = passed ? 'validation passed' : `validation failed: ${errors.join('; ')}`;
        await this.move(scope, entry, passed ? 'validated' : 'apply_failed', reason, { passed, errors, policyId: policy?.id ?? null });
      });
      if (!stale) return entry;
      if (attempt === 3) throw new DomainError('UNAVAILABLE', `LedgerEntry ${ledgerId}: its patch policy kept changing while it was judged; try again`);
    }
  }

  /** The verdict on an entry's patch, read outside any transaction (see validate). */
  private async judge(actor: WorkerActor, ledgerId: string) {
    const em = this.fork();
    const entry = await em.findOne(LedgerEntrySchema, { id: ledgerId });
    if (!entry) throw notFound('LedgerEntry', ledgerId);
    await assertMayReportOn(em, actor, entry, 'the validation of a patch');
    ledgerMachine.assert(entry.state, 'validated', entry.id);
    const patch = await em.findOneOrFail(PatchSchema, { id: entry.patchId });
    const diff = parseDiff(patch.diffText);
    const policy = await this.policies.effective(entry.projectId, entry.phaseId ?? null, em);
    const constraints = policy?.constraints ?? DEFAULT_CONSTRAINTS;
    const scopeErrors = await this.scopeErrors(em, entry, diff);
    const history = await this.history(em, patch, diff, constraints.oscillation_window);
    const constraintErrors = checkConstraints(constraints, diff, { format: patch.format, summary: patch.summary ?? null, reviewers: patch.reviewers, history });
    const formatErrors = constraintErrors.filter((e) => e.startsWith('allowed_formats:'));
    // Refused at createPatch since; a patch stored before must not pass either.
    const pathErrors = nonCanonicalPaths(pathsOf(diff)).map((problem) => `format: ${problem}`);
    return {
      policyVersion: policyVersion(policy),
      errors: [...pathErrors, ...scopeErrors, ...constraintErrors],
      checks: {
        format_ok: formatErrors.length === 0 && pathErrors.length === 0,
        scope_ok: scopeErrors.length === 0,
        constraints_ok: constraintErrors.length === formatErrors.length,
      },
    };
  }

  /** validated -> queued; a WORKER-only token queues only the patches it may report on (report-access.ts). */
  queue(actor: WorkerActor, ledgerId: string): Promise<LedgerEntry> {
    return this.change(ledgerId, async (scope, entry) => {
      await assertMayReportOn(scope.em, actor, entry, 'the queueing of a patch');
      if (entry.state !== 'validated') ledgerMachine.refuse(entry.state, 'queued', entry.id);
      return this.move(scope, entry, 'queued', 'queued for apply', {});
    });
  }

  /** apply_failed -> queued: another apply attempt. */
  retry(ledgerId: string): Promise<LedgerEntry> {
    return this.change(ledgerId, (scope, entry) => {
      if (entry.state !== 'apply_failed') ledgerMachine.refuse(entry.state, 'queued', entry.id);
      return this.move(scope, entry, 'queued', `retry after ${entry.apply.attempts} attempt(s)`, { retry: true });
    });
  }

  /** Counts an apply attempt of a queued patch and records its files, or its error. */
  recordApply(actor: WorkerActor, input: RecordApplyInput): Promise<LedgerEntry> {
    const workspacePath = optionalText('workspacePath', input.workspacePath, 4096);
    const appliedFiles = (input.appliedFiles ?? []).map((f, i) => requireText(`appliedFiles[${i}]`, f, 4096));
    const errorCode = optionalText('errorCode', input.errorCode);
    const errorMessage = optionalText('errorMessage', input.errorMessage, TEXT_LIMIT);
    if (!input.success && !errorCode && !errorMessage) throw badInput('errorMessage', 'a failed apply says why (errorCode or errorMessage)');
    return this.change(input.ledgerId, async (scope, entry) => {
      await assertMayReportOn(scope.em, actor, entry, 'a patch apply');
      const to: PatchState = input.success ? 'applied' : 'apply_failed';
      if (entry.state !== 'queued') ledgerMachine.refuse(entry.state, to, entry.id);
      entry.apply = {
        attempts: entry.apply.attempts + 1,
        last_attempt_at: scope.now.toISOString(),
        ...(workspacePath ? { workspace_path: workspacePath } : entry.apply.workspace_path ? { workspace_path: entry.apply.workspace_path } : {}),
        applied_files: input.success ? appliedFiles : entry.apply.applied_files,
        ...(input.success ? {} : { ...(errorCode ? { last_error_code: errorCode } : {}), ...(errorMessage ? { last_error_message: errorMessage } : {}) }),
      };
      const reason = input.success ? `applied ${appliedFiles.length} file(s)` : `apply failed: ${errorMessage ?? errorCode}`;
      await this.move(scope, entry, to, reason, { attempt: entry.apply.attempts, ...(input.success ? { files: appliedFiles.length } : { errorCode, errorMessage }) }, (run) => {
        if (input.success) run.patchesApplied += 1;
      });
    });
  }

  /**
   * applied -> verified when the tests passed, else -> apply_failed. A
   * patch whose run has gates is judged by them (all passed: verified; one
   * failed, errored or was skipped: apply_failed) and waits while one is
   * open (GATES_PENDING); only a run without gates takes `testsPassed`.
   */
  verify(input: { ledgerId: string; testsPassed?: boolean | null }): Promise<LedgerEntry> {
    return this.change(input.ledgerId, async (scope, entry) => {
      if (entry.state !== 'applied') ledgerMachine.refuse(entry.state, 'verified', entry.id);
      const gates = entry.runId ? await runGates(scope.em, entry.runId) : null;
      let passed: boolean;
      let reason: string;
      if (gates && gates.total > 0) {
        if (gates.open.length > 0) throw gatesPending(entry, describeGates(gates.open));
        passed = gates.notPassed.length === 0;
        reason = passed ? `all ${gates.total} gates passed` : `gates did not pass: ${describeGates(gates.notPassed)}`;
      } else {
        if (input.testsPassed == null) throw badInput('testsPassed', 'the run has no test gates: say whether the tests passed');
        passed = input.testsPassed;
        reason = passed ? 'tests passed' : 'tests failed';
      }
      entry.validation = { ...entry.validation, tests_ran: true, tests_passed: passed };
      await this.move(scope, entry, passed ? 'verified' : 'apply_failed', reason, { testsPassed: passed });
    });
  }

  /** verified -> committed, only while every gate of its run has passed. */
  commit(ledgerId: string): Promise<LedgerEntry> {
    return this.change(ledgerId, async (scope, entry) => {
      ledgerMachine.assert(entry.state, 'committed', entry.id);
      if (entry.runId) {
        const gates = await runGates(scope.em, entry.runId);
        if (gates.open.length > 0) throw gatesPending(entry, describeGates(gates.open));
        if (gates.notPassed.length > 0) {
          throw new DomainError('GATES_FAILED', `LedgerEntry ${entry.id} cannot be committed: ${describeGates(gates.notPassed)} did not pass`, {
            entity: 'LedgerEntry',
            id: entry.id,
            gates: gates.notPassed.map((g) => g.name),
          });
        }
      }
      await this.move(scope, entry, 'committed', 'committed', {});
    });
  }

  rollback(ledgerId: string, reason: string): Promise<LedgerEntry> {
    const text = requireText('reason', reason, TEXT_LIMIT);
    return this.change(ledgerId, (scope, entry) => this.move(scope, entry, 'rolled_back', text, { reason: text }));
  }

  drop(ledgerId: string, reason: string): Promise<LedgerEntry> {
    const text = requireText('reason', reason, TEXT_LIMIT);
    return this.change(ledgerId, (scope, entry) => this.move(scope, entry, 'dropped', text, { reason: text }));
  }

  quarantine(input: { ledgerId: string; reason: string; quarantinePath?: string | null }): Promise<LedgerEntry> {
    const reason = requireText('reason', input.reason, TEXT_LIMIT);
    const path = optionalText('quarantinePath', input.quarantinePath, 4096);
    return this.change(input.ledgerId, (scope, entry) => {
      ledgerMachine.assert(entry.state, 'quarantined', entry.id);
      entry.quarantine = { is_quarantined: true, quarantine_reason: reason, quarantined_at: scope.now.toISOString(), ...(path ? { quarantine_path: path } : {}) };
      return this.move(scope, entry, 'quarantined', reason, { reason });
    });
  }

  /** Ledger entries as they are created and change state, filtered on the server. */
  stateChanges(filter: { projectId?: string | null; runId?: string | null }): AsyncIterableIterator<LedgerEntry> {
    return this.streams.follow(
      'patch.state',
      (notice) => this.fork().findOne(LedgerEntrySchema, { id: notice.ledgerId }),
      (notice) => (filter.projectId == null || notice.projectId === filter.projectId) && (filter.runId == null || notice.runId === filter.runId),
    );
  }

  private change(ledgerId: string, apply: (scope: WriteScope, entry: LedgerEntry) => Promise<void>): Promise<LedgerEntry> {
    return this.transact(async (scope) => {
      const entry = await lockRow(scope.em, LedgerEntrySchema, ledgerId);
      await apply(scope, entry);
      return entry;
    });
  }

  /** One transition: the state, its history entry, its run event, and the announcement. */
  private async move(scope: WriteScope, entry: LedgerEntry, to: Exclude<PatchState, 'created'>, reason: string, payload: Record<string, unknown>, bump?: (run: Run) => void): Promise<void> {
    const from = entry.state;
    ledgerMachine.assert(from, to, entry.id);
    entry.state = to;
    entry.updatedAt = scope.now;
    entry.stateHistory = [...entry.stateHistory, { state: to, at: scope.now.toISOString(), reason }];
    if (entry.runId) await recordForRun(scope, entry.runId, EVENT_OF[to], { ledgerId: entry.id, patchId: entry.patchId, from, to, ...payload }, bump);
    this.announce(scope, entry);
  }

  private announce(scope: WriteScope, entry: LedgerEntry): void {
    scope.announce('patch.state', {
      ledgerId: entry.id,
      projectId: entry.projectId,
      runId: entry.runId ?? null,
      state: entry.state,
    });
  }

  /**
   * The resource scope the patch is checked against: its execution
   * request's (the resource_scope of the request's document) when the entry
   * names one the gateway opened, else its run's (metadata.resource_scope,
   * in the execution_request form); none, no scope errors.
   */
  private async scopeErrors(em: EntityManager, entry: LedgerEntry, diff: ParsedDiff): Promise<string[]> {
    let resourceScope: unknown;
    let source: string;
    // The run's executionRequestId (createRun) is not checked and may name a request the gateway does not know: then the run's scope holds.
    const request = entry.executionRequestId ? await em.findOne(ExecutionRequestSchema, { id: entry.executionRequestId }, { fields: ['document'] }) : null;
    if (request) {
      resourceScope = request.document.resource_scope;
      source = `the execution request's resource_scope`;
    } else {
      if (!entry.runId) return [];
      const run = await em.findOne(RunSchema, { id: entry.runId }, { fields: ['metadata'] });
      resourceScope = run?.metadata?.resource_scope;
      source = `the run's metadata.resource_scope`;
    }
    if (resourceScope === undefined) return [];
    const check = this.contracts.validate('execution_request', resourceScope, '#/$defs/resource_scope');
    if (!check.valid) return [`scope: ${source} is not a valid resource scope (${check.errors.map((e) => `${e.path} ${e.message}`).join('; ')})`];
    return checkResourceScope(resourceScope as ResourceScope, diff);
  }

  /**
   * For each file the patch changes, its latest earlier changes in the
   * project (at most window - 1), oldest first. A query per 500 paths, whose
   * window function keeps each path's latest rows: a query per file kept a
   * 5,000-file patch waiting on 5,000 round trips.
   */
  private async history(em: EntityManager, patch: Patch, diff: ParsedDiff, window: number): Promise<FileHistory> {
    const history: FileHistory = new Map(diff.files.map((file) => [file.path, []]));
    const keep = window - 1;
    if (keep <= 0) return history;
    const knex = em.getKnex();
    const paths = [...history.keys()];
    const rows: { patch_id: string; path: string }[] = [];
    for (let i = 0; i < paths.length; i += HISTORY_PATHS_PER_QUERY) {
      const ranked = knex('patch_file')
        .select('patch_id', 'path', knex.raw('row_number() over (partition by path order by patch_id desc) as newest'))
        .where('project_id', patch.projectId)
        .where('patch_id', '<', patch.id)
        .whereIn('path', paths.slice(i, i + HISTORY_PATHS_PER_QUERY));
      rows.push(...(await knex.select('patch_id', 'path').from(ranked.as('ranked')).where('newest', '<=', keep).orderBy('patch_id')));
    }
    const earlier = new Map<string, Map<string, FileDiff>>();
    for (const { patch_id: patchId, path } of rows) {
      if (!earlier.has(patchId)) {
        const { diffText } = await em.findOneOrFail(PatchSchema, { id: patchId });
        earlier.set(patchId, new Map(parseUnifiedDiff(diffText).files.map((file) => [file.path, file])));
      }
      const file = earlier.get(patchId)!.get(path);
      if (file) history.get(path)!.push({ added: file.added, removed: file.removed });
    }
    return history;
  }

  private parseRelations(raw: CreatePatchInput['relations']): PatchRelations {
    const relations: PatchRelations = {};
    if (raw?.replacesPatchId) relations.replaces_patch_id = raw.replacesPatchId;
    if (raw?.rollbackOfPatchId) relations.rollback_of_patch_id = raw.rollbackOfPatchId;
    if (raw?.chainId) relations.chain_id = requireText('relations.chainId', raw.chainId);
    this.contracts.check('relations', 'patch_ledger_entry', relations, '#/properties/relations');
    return relations;
  }
}

/** A worker's report on a ledger entry (validating, queueing, an apply): through a task of the entry's run, and of its execution request when it names one. */
function assertMayReportOn(em: EntityManager, actor: WorkerActor, entry: LedgerEntry, what: string): Promise<unknown> {
  return assertMayReport(em, actor, { runId: entry.runId ?? null, executionRequestId: entry.executionRequestId ?? null, what });
}

/**
 * An execution request named by createPatch: it must exist (NOT_FOUND), be
 * of the patch's project, and, when the patch names a run, of that run.
 */
async function checkExecutionRequest(em: EntityManager, id: string, projectId: string, run: Run | null): Promise<void> {
  const request = await em.findOne(ExecutionRequestSchema, { id }, { fields: ['projectId', 'runId'] });
  if (!request) throw notFound('ExecutionRequest', id);
  if (request.projectId !== projectId) throw badInput('executionRequestId', `the execution request belongs to project ${request.projectId}, not ${projectId}`);
  if (run && request.runId && request.runId !== run.id) throw badInput('executionRequestId', 'the execution request belongs to another run than runId');
}

function parseDiff(text: string): ParsedDiff {
  try {
    return parseUnifiedDiff(text);
  } catch (error) {
    if (error instanceof DiffParseError) throw badInput('diffText', `is not a unified diff: line ${error.line}: ${error.message}`, { line: error.line });
    throw error;
  }
}

/** Both sides of every file: a path git would refuse is refused on either. */
function pathsOf(diff: ParsedDiff): string[] {
  return diff.files.flatMap((file) => [file.oldPath, file.newPath].filter((path): path is string => path !== null));
}

/** The first few of a long list of messages, and how many more. */
function summarize(messages: string[], shown = 10): string {
  return messages.length <= shown ? messages.join('; ') : `${messages.slice(0, shown).join('; ')}; and ${messages.length - shown} more`;
}

/** What the verdict depended on of the effective policy: which one, and its constraints. */
function policyVersion(policy: PatchPolicy | null): string {
  return policy ? JSON.stringify([policy.id, policy.constraints]) : 'none';
}

function gatesPending(entry: LedgerEntry, gates: string): DomainError {
  return new DomainError('GATES_PENDING', `LedgerEntry ${entry.id} waits for its run's test gates: ${gates}`, { entity: 'LedgerEntry', id: entry.id });
}

import sqlite3 from 'sqlite3';
import type { EntityKind, WriteModel } from './write-load.js';

/**
 * Reads a gateway's SQLite file (beside the running gateway: WAL readers do
 * not block it) in one read transaction, and checks
 * - every acknowledged write of the model: its row is there, in the state
 *   the answer said or a later one that a later write (answered or not)
 *   explains; no more rows than were asked for;
 * - the invariants of docs/domain.md#invariants, independently of the
 *   model: each run, step, task and ledger entry's state is the one its run events lead to
 *   (replayed from the log, each transition allowed by the machine tables
 *   below, copied from docs/domain.md rather than imported from src/), and no
 *   event names a row that does not exist; the counters match the rows and
 *   events they count; run_event positions are 1..log_sequence.value
 *   without a gap; SQLite's integrity_check and foreign_key_check are clean.
 */

const RUN_MACHINE: Record<string, string[]> = {
  pending: ['running', 'canceled'],
  running: ['succeeded', 'failed', 'quarantined', 'canceled'],
  failed: ['quarantined'],
};
const LEDGER_MACHINE: Record<string, string[]> = {
  created: ['validated', 'apply_failed', 'quarantined', 'dropped'],
  validated: ['queued', 'quarantined', 'dropped'],
  queued: ['applied', 'apply_failed', 'quarantined', 'dropped'],
  applied: ['verified', 'apply_failed', 'rolled_back', 'quarantined', 'dropped'],
  apply_failed: ['queued', 'quarantined', 'dropped'],
  verified: ['committed', 'rolled_back', 'quarantined', 'dropped'],
  quarantined: ['dropped'],
};
/** The event each ledger state is entered with (docs/domain.md#patch-ledger). */
const LEDGER_EVENT: Record<string, string> = {
  validated: 'patch_validated',
  apply_failed: 'patch_apply_failed',
  queued: 'patch_apply_started',
  applied: 'patch_apply_succeeded',
  verified: 'patch_verified',
  committed: 'patch_committed',
  rolled_back: 'patch_rolled_back',
  dropped: 'patch_dropped',
  quarantined: 'patch_quarantined',
};
/** Task events and the state each leaves the task in (docs/domain.md#tasks). */
const TASK_EVENT_STATE: Record<string, string> = {
  task_created: 'pending',
  task_started: 'running',
  task_completed: 'completed',
  task_failed: 'failed',
  task_requeued: 'pending',
  task_skipped: 'skipped',
};
const TASK_MACHINE: Record<string, string[]> = {
  pending: ['running', 'skipped'],
  running: ['pending', 'completed', 'failed', 'skipped'],
};
/** Kinds counted in run.errors (docs/domain.md#the-run-event-log). */
const ERROR_KINDS = new Set(['tool_call_error', 'patch_apply_failed', 'error_pipeline_triggered', 'task_failed', 'gate_failed', 'gate_errored']);

export interface AuditResult {
  /** Everything that is wrong, one line each (empty: all good). */
  problems: string[];
  /** Acknowledged writes (mutations answered with success) checked, and those whose effect is missing. */
  checked: number;
  lost: number;
  /**
   * Writes that committed though their answer never arrived: entities in a
   * state only an unanswered write explains, and rows beyond the
   * acknowledged creates.
   */
  unansweredApplied: number;
  heartbeats: { checked: number; lost: number; inWindow: number };
  rows: { runs: number; steps: number; tasks: number; ledgerEntries: number; workers: number; costs: number; events: number };
  /** run_event id -> position. */
  positions: Map<string, number>;
}

type Row = Record<string, any>;
type Tables = Record<'integrity' | 'foreignKeys' | 'sequence' | 'runs' | 'steps' | 'events' | 'tasks' | 'ledgers' | 'patches' | 'patchFiles' | 'workers' | 'costs' | 'budgets', Row[]>;

function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (error) => (error ? reject(error) : resolve(db)));
  });
}

export async function auditDatabase(file: string, model: WriteModel): Promise<AuditResult> {
  const db = await open(file);
  db.configure('busyTimeout', 30_000);
  const all = (sql: string) => new Promise<Row[]>((resolve, reject) => db.all(sql, [], (error, rows) => (error ? reject(error) : resolve(rows as Row[]))));
  const exec = (sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
  try {
    await exec('BEGIN');
    const tables: Tables = {
      integrity: await all('PRAGMA integrity_check'),
      foreignKeys: await all('PRAGMA foreign_key_check'),
      sequence: await all(`select value from log_sequence where name = 'run_event'`),
      runs: await all('select id, state, started_at, ended_at, step_attempts, patches_created, patches_applied, errors from run'),
      steps: await all('select id, run_id, sequence, state from step_attempt'),
      events: await all('select id, position, run_id, step_id, kind, payload from run_event order by position'),
      tasks: await all('select id, run_id, state, attempts, worker_id from task'),
      ledgers: await all('select id, patch_id, run_id, state, state_history from patch_ledger'),
      patches: await all('select id, run_id from patch'),
      patchFiles: await all('select patch_id, path from patch_file'),
      workers: await all('select id, state, active_tasks, current_task_id, tasks_completed, tasks_failed, last_heartbeat_at from worker'),
      costs: await all('select id, project_id, currency, amount_nanos from cost_record'),
      budgets: await all('select id, scope, project_id, run_id, currency, spent_nanos from budget'),
    };
    await exec('COMMIT');
    return check(tables, model);
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

function check(t: Tables, model: WriteModel): AuditResult {
  const problems: string[] = [];
  const problem = (line: string) => {
    if (problems.length < 200) problems.push(line);
  };
  for (const e of t.events) e.payload = JSON.parse(e.payload);

  // SQLite itself.
  if (t.integrity.length !== 1 || t.integrity[0]?.integrity_check !== 'ok') problem(`integrity_check: ${JSON.stringify(t.integrity)}`);
  if (t.foreignKeys.length > 0) problem(`foreign_key_check: ${JSON.stringify(t.foreignKeys.slice(0, 5))}`);

  // Positions: 1..log_sequence.value, no gap.
  const sequence = Number(t.sequence[0]?.value ?? 0);
  if (sequence !== t.events.length) problem(`log_sequence.value is ${sequence} but run_event has ${t.events.length} rows`);
  t.events.forEach((e, i) => {
    if (Number(e.position) !== i + 1) problem(`run_event positions have a gap or repeat: #${i + 1} is ${e.position}`);
  });

  const byId = (rows: Row[]) => new Map(rows.map((r) => [r.id as string, r]));
  const runs = byId(t.runs);
  const steps = byId(t.steps);
  const tasks = byId(t.tasks);
  const ledgers = byId(t.ledgers);
  const patches = byId(t.patches);
  const workers = byId(t.workers);
  const costs = byId(t.costs);
  const group = <K>(rows: Row[], key: (r: Row) => K | null | undefined) => {
    const map = new Map<K, Row[]>();
    for (const r of rows) {
      const k = key(r);
      if (k == null) continue;
      if (!map.has(k)) map.set(k, []);
      map.get(k)!.push(r);
    }
    return map;
  };
  const eventsOfRun = group(t.events, (e) => e.run_id as string);
  const eventsOfStep = group(t.events, (e) => e.step_id as string | null);
  const taskEvents = group(t.events, (e) => (e.kind in TASK_EVENT_STATE ? (e.payload.taskId as string) : null));
  const ledgerEvents = group(t.events, (e) => (e.kind.startsWith('patch_') ? (e.payload.ledgerId as string) : null));
  const stepsOfRun = group(t.steps, (s) => s.run_id as string);
  const patchesOfRun = group(t.patches, (p) => p.run_id as string | null);

  // No event lacks its row.
  for (const e of t.events) {
    if (!runs.has(e.run_id)) problem(`event ${e.position} (${e.kind}) names run ${e.run_id}, which does not exist`);
    if (e.step_id && steps.get(e.step_id)?.run_id !== e.run_id) problem(`event ${e.position} (${e.kind}) names step ${e.step_id}, not a step of its run`);
    if (e.kind in TASK_EVENT_STATE && tasks.get(e.payload.taskId)?.run_id !== e.run_id) problem(`event ${e.position} (${e.kind}) names task ${e.payload.taskId}, not a task of its run`);
    if (e.kind.startsWith('patch_') && ledgers.get(e.payload.ledgerId)?.run_id !== e.run_id) problem(`event ${e.position} (${e.kind}) names ledger entry ${e.payload.ledgerId}, not one of its run`);
  }

  // Runs: the log replays to the stored state; counters match what they count.
  for (const run of t.runs) {
    const events = eventsOfRun.get(run.id) ?? [];
    const name = `run ${run.id}`;
    if (events[0]?.kind !== 'run_created' || events.filter((e) => e.kind === 'run_created').length !== 1) problem(`${name}: its log does not start with one RUN_CREATED`);
    let state = 'pending';
    for (const e of events.filter((e) => e.kind === 'run_started' || e.kind === 'run_state_changed')) {
      const { from, to } = e.payload;
      if (from !== state || !RUN_MACHINE[state]?.includes(to) || (e.kind === 'run_started') !== (to === 'running')) {
        problem(`${name}: event ${e.position} ${e.kind} ${from} -> ${to} does not follow ${state}`);
      }
      state = to;
    }
    if (state !== run.state) problem(`${name}: state ${run.state} but its events lead to ${state}`);
    if ((run.started_at != null) !== events.some((e) => e.kind === 'run_started')) problem(`${name}: started_at ${run.started_at} disagrees with its RUN_STARTED event`);
    if ((run.ended_at != null) !== !['pending', 'running'].includes(run.state)) problem(`${name}: ended_at ${run.ended_at} in state ${run.state}`);
    const runSteps = (stepsOfRun.get(run.id) ?? []).map((s) => Number(s.sequence)).sort((a, b) => a - b);
    if (run.step_attempts !== runSteps.length || runSteps.some((n, i) => n !== i + 1)) {
      problem(`${name}: step_attempts ${run.step_attempts} but its steps are numbered ${runSteps.join(',')}`);
    }
    const created = (patchesOfRun.get(run.id) ?? []).length;
    if (run.patches_created !== created) problem(`${name}: patches_created ${run.patches_created} but ${created} patches`);
    const applied = events.filter((e) => e.kind === 'patch_apply_succeeded').length;
    if (run.patches_applied !== applied) problem(`${name}: patches_applied ${run.patches_applied} but ${applied} PATCH_APPLY_SUCCEEDED events`);
    const errors = events.filter((e) => ERROR_KINDS.has(e.kind)).length;
    if (run.errors !== errors) problem(`${name}: errors ${run.errors} but ${errors} error events`);
  }

  // Steps: one start event, and one end event exactly when ended, that says the stored state.
  for (const step of t.steps) {
    const events = eventsOfStep.get(step.id) ?? [];
    const name = `step ${step.id}`;
    const ends = events.filter((e) => e.kind === 'tool_call_completed' || e.kind === 'tool_call_error');
    if (events[0]?.kind !== 'tool_call_started' || events.filter((e) => e.kind === 'tool_call_started').length !== 1) problem(`${name}: no single TOOL_CALL_STARTED first`);
    if (step.state === 'running') {
      if (ends.length > 0) problem(`${name}: RUNNING but has an end event`);
    } else if (ends.length !== 1 || ends[0]?.payload.state !== step.state || (ends[0]?.kind === 'tool_call_error') !== (step.state === 'failed')) {
      problem(`${name}: ${step.state} but its end events are ${JSON.stringify(ends.map((e) => [e.kind, e.payload.state]))}`);
    }
  }

  // Tasks of a run: their events replay to the stored state; attempts count the attempts that ended.
  for (const task of t.tasks) {
    if (!task.run_id) continue;
    const events = taskEvents.get(task.id) ?? [];
    const name = `task ${task.id}`;
    if (events[0]?.kind !== 'task_created' || events.filter((e) => e.kind === 'task_created').length !== 1) {
      problem(`${name}: no single TASK_CREATED first`);
      continue;
    }
    let state = 'pending';
    for (const e of events.slice(1)) {
      const to = TASK_EVENT_STATE[e.kind]!; // taskEvents holds only the kinds it lists
      if (!TASK_MACHINE[state]?.includes(to)) problem(`${name}: event ${e.position} ${e.kind} does not follow ${state}`);
      state = to;
    }
    if (state !== task.state) problem(`${name}: state ${task.state} but its events lead to ${state}`);
    const attempts = events.filter((e) => e.kind === 'task_completed' || e.kind === 'task_failed' || ((e.kind === 'task_requeued' || e.kind === 'task_skipped') && e.payload.counted === true)).length;
    if (task.attempts !== attempts) problem(`${name}: attempts ${task.attempts} but ${attempts} ended attempts in its events`);
  }

  // Ledger entries of a run: one PATCH_CREATED, then transitions that replay to the state and to state_history.
  for (const entry of t.ledgers) {
    const name = `ledger entry ${entry.id}`;
    if (!patches.has(entry.patch_id)) problem(`${name}: its patch ${entry.patch_id} does not exist`);
    if (!entry.run_id) continue;
    const events = ledgerEvents.get(entry.id) ?? [];
    if (events[0]?.kind !== 'patch_created' || events.filter((e) => e.kind === 'patch_created').length !== 1) {
      problem(`${name}: no single PATCH_CREATED first`);
      continue;
    }
    let state = 'created';
    const entered = ['created'];
    for (const e of events.slice(1)) {
      const { from, to } = e.payload;
      if (from !== state || !LEDGER_MACHINE[state]?.includes(to) || LEDGER_EVENT[to] !== e.kind) problem(`${name}: event ${e.position} ${e.kind} ${from} -> ${to} does not follow ${state}`);
      state = to;
      entered.push(to);
    }
    if (state !== entry.state) problem(`${name}: state ${entry.state} but its events lead to ${state}`);
    const history = (JSON.parse(entry.state_history) as { state: string }[]).map((h) => h.state);
    if (history.join(',') !== entered.join(',')) problem(`${name}: state_history ${history.join(',')} but its events ${entered.join(',')}`);
  }

  // Workers: the tasks they hold, and their statistics, match the task rows and the task events (every
  // task of this load belongs to a run, so its events are its full record; no worker is crashed or reaped).
  const running = group(
    t.tasks.filter((task) => task.state === 'running'),
    (task) => task.worker_id as string | null,
  );
  const reported = new Map<string, { completed: number; failed: number }>();
  for (const e of t.events) {
    const workerId = e.payload.workerId as string | undefined;
    if (!workerId || !(e.kind in TASK_EVENT_STATE)) continue;
    const stats = reported.get(workerId) ?? { completed: 0, failed: 0 };
    if (e.kind === 'task_completed') stats.completed += 1;
    if (e.kind === 'task_failed' || ((e.kind === 'task_requeued' || e.kind === 'task_skipped') && e.payload.counted === true)) stats.failed += 1;
    reported.set(workerId, stats);
  }
  for (const worker of t.workers) {
    const name = `worker ${worker.id}`;
    const held = running.get(worker.id) ?? [];
    if (worker.active_tasks !== held.length) problem(`${name}: active_tasks ${worker.active_tasks} but holds ${held.length} running tasks`);
    if (worker.state === 'busy' || worker.state === 'idle') {
      if ((worker.state === 'busy') !== held.length > 0) problem(`${name}: ${worker.state} while holding ${held.length} tasks`);
    }
    if (held.length === 0 ? worker.current_task_id != null : !held.some((task) => task.id === worker.current_task_id)) {
      problem(`${name}: current_task_id ${worker.current_task_id} is not one of its running tasks`);
    }
    const stats = reported.get(worker.id) ?? { completed: 0, failed: 0 };
    if (worker.tasks_completed !== stats.completed || worker.tasks_failed !== stats.failed) {
      problem(`${name}: statistics ${worker.tasks_completed} completed / ${worker.tasks_failed} failed, events say ${stats.completed} / ${stats.failed}`);
    }
  }

  // Budgets: the spend is the sum of the costs they cover.
  for (const budget of t.budgets.filter((b) => b.scope === 'project')) {
    const covered = t.costs.filter((c) => c.currency === budget.currency && c.project_id === budget.project_id);
    const sum = covered.reduce((total, c) => total + BigInt(c.amount_nanos), 0n);
    if (BigInt(budget.spent_nanos) !== sum) problem(`budget ${budget.id}: spent ${budget.spent_nanos} but its costs sum to ${sum}`);
  }

  // The model: every acknowledged write is there.
  let lost = 0;
  let unansweredApplied = 0;
  const tableOf: Record<EntityKind, Map<string, Row>> = { run: runs, step: steps, task: tasks, worker: workers, ledger: ledgers };
  for (const entity of model.entities.values()) {
    const last = entity.writes.findLastIndex((w) => w.acked);
    if (last < 0) continue;
    const row = tableOf[entity.kind].get(entity.id);
    const allowed = new Set(entity.writes.slice(last).flatMap((w) => w.states));
    if (!row || !allowed.has(row.state)) {
      lost += 1;
      const history = entity.writes.map((w) => `${w.op}${w.acked ? '' : '?'}=${w.states.join('|')}`).join(' ');
      problem(`LOST: ${entity.kind} ${entity.id} is ${row ? row.state : 'missing'}; writes: ${history}`);
    } else if (!entity.writes[last]!.states.includes(row.state)) {
      unansweredApplied += 1;
    }
  }
  for (const [id, nanos] of model.costs) {
    const row = costs.get(id);
    if (!row || BigInt(row.amount_nanos) !== nanos) {
      lost += 1;
      problem(`LOST: cost ${id} ${row ? `is ${row.amount_nanos}, not ${nanos}` : 'is missing'}`);
    }
  }
  const filesOf = group(t.patchFiles, (f) => f.patch_id as string);
  for (const [ledgerId, patch] of model.patches) {
    const files = (filesOf.get(patch.patchId) ?? []).map((f) => f.path).join(',');
    if (ledgers.get(ledgerId)?.patch_id !== patch.patchId || !patches.has(patch.patchId) || files !== patch.files.join(',')) {
      lost += 1;
      problem(`LOST: patch ${patch.patchId} (ledger ${ledgerId}) or its files (${files})`);
    }
  }
  // No row that nobody asked for: at most one per create whose answer never arrived.
  const counts = { run: t.runs.length, step: t.steps.length, task: t.tasks.length, worker: t.workers.length, patch: t.patches.length, cost: t.costs.length };
  for (const [kind, { acked, unknown }] of Object.entries(model.created) as [keyof typeof counts, { acked: number; unknown: number }][]) {
    if (counts[kind] < acked || counts[kind] > acked + unknown) problem(`${counts[kind]} ${kind} rows, but ${acked} acknowledged creates and ${unknown} unanswered`);
    unansweredApplied += Math.max(0, counts[kind] - acked);
  }

  // Heartbeats (model.gatewayEnded): each one that must be stored is, or a newer one is.
  const heartbeats = { checked: 0, lost: 0, inWindow: 0 };
  for (const beat of model.heartbeats) {
    if (beat.mustBeStored === undefined) throw new Error('audit heartbeats once the gateway that took them has ended (model.gatewayEnded)');
    if (!beat.mustBeStored) {
      heartbeats.inWindow += 1;
      continue;
    }
    heartbeats.checked += 1;
    const stored = workers.get(beat.workerId)?.last_heartbeat_at;
    if (stored == null || Number(stored) < beat.at) {
      heartbeats.lost += 1;
      lost += 1;
      problem(`LOST: heartbeat of worker ${beat.workerId} at ${new Date(beat.at).toISOString()}, stored ${stored == null ? 'none' : new Date(Number(stored)).toISOString()}`);
    }
  }
  // setBudget: the budget exists.
  if (model.ackedByOp.setBudget) {
    if (t.budgets.length !== 1) problem(`LOST: the acknowledged budget (${t.budgets.length} budgets)`);
  }

  return {
    problems,
    // Every acknowledged mutation is checked above (through the row it wrote), except heartbeats still in the flush window.
    checked: model.acked - heartbeats.inWindow,
    lost,
    unansweredApplied,
    heartbeats,
    rows: {
      runs: t.runs.length,
      steps: t.steps.length,
      tasks: t.tasks.length,
      ledgerEntries: t.ledgers.length,
      workers: t.workers.length,
      costs: t.costs.length,
      events: t.events.length,
    },
    positions: new Map(t.events.map((e) => [e.id as string, Number(e.position)])),
  };
}

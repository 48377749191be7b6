/**
 * The invariants of docs/domain.md#invariants, checked against what the database holds:
 * after any sequence of requests, accepted or refused, these must hold.
 *
 * - every run, step, patch, gate, task and worker is in a state of its machine;
 * - a run's state is what its events say, replayed from RUN_CREATED through
 *   RUN_STARTED and RUN_STATE_CHANGED (each move allowed by the machine), and
 *   startedAt/endedAt agree with it;
 * - a run's counters match its rows and events: stepAttempts (steps and
 *   TOOL_CALL_STARTED), errors (error-kind events), patchesCreated (patches
 *   and PATCH_CREATED), patchesApplied (PATCH_APPLY_SUCCEEDED);
 * - step sequences are 1..n per run, and each ended step has one end event
 *   that names its state;
 * - event positions are 1..N without a gap, and the log sequence is at N;
 * - a ledger entry's history is a walk of the machine ending in its state,
 *   and (with a run) one event per history entry; a gate's and a task's
 *   events, replayed, end in their state;
 * - a RUNNING task has a BUSY worker; a worker's active task count is the
 *   number of RUNNING tasks it holds (0 unless BUSY, at most its
 *   maxParallelTasks), and its current task is one of them;
 * - a workstream's runningTasks is the number of its RUNNING tasks.
 */
import type { Orm } from '../../src/engine/db/orm.js';
import { RunEventSchema, RunSchema, StepAttemptSchema, TaskSchema, RUN_EVENT_KINDS } from '../../src/engine/runs/entities.js';
import { WorkerSchema } from '../../src/engine/workers/entities.js';
import { WorkstreamSchema } from '../../src/engine/workstreams/entities.js';
import { LedgerEntrySchema, PatchSchema } from '../../src/engine/patches/entities.js';
import { TestGateSchema } from '../../src/engine/gates/entities.js';
import { runMachine, stepMachine } from '../../src/engine/runs/machines.js';
import { taskMachine } from '../../src/engine/runs/machines.js';
import { workerMachine } from '../../src/engine/workers/machines.js';
import { ledgerMachine } from '../../src/engine/patches/machines.js';
import { gateMachine } from '../../src/engine/gates/machines.js';
import { ERROR_EVENT_KINDS } from '../../src/engine/runs/event-log.js';
import type { StateMachine } from '../../src/engine/core/state-machine.js';

export interface InvariantReport {
  violations: string[];
  /** Rows checked, by table. */
  checked: Record<string, number>;
}

const GATE_EVENT_STATE: Record<string, string> = {
  gate_created: 'pending',
  gate_started: 'running',
  gate_passed: 'passed',
  gate_failed: 'failed',
  gate_errored: 'error',
  gate_skipped: 'skipped',
};
const TASK_EVENT_STATE: Record<string, string> = {
  task_started: 'running',
  task_completed: 'completed',
  task_failed: 'failed',
  task_requeued: 'pending',
  task_skipped: 'skipped',
};
const PATCH_EVENT_STATE: Record<string, string> = {
  patch_validated: 'validated',
  patch_apply_failed: 'apply_failed',
  patch_apply_started: 'queued',
  patch_apply_succeeded: 'applied',
  patch_verified: 'verified',
  patch_committed: 'committed',
  patch_rolled_back: 'rolled_back',
  patch_dropped: 'dropped',
  patch_quarantined: 'quarantined',
};

function group<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

export async function checkDomainInvariants(orm: Orm): Promise<InvariantReport> {
  // One read transaction: a snapshot, which the server's background jobs (heartbeat flush, reaper) cannot change halfway.
  const { runs, steps, events, tasks, workers, workstreams, patches, ledger, gates, sequence } = await orm.em.fork().transactional(async (em) => ({
    runs: await em.find(RunSchema, {}),
    steps: await em.find(StepAttemptSchema, {}),
    events: await em.find(RunEventSchema, {}, { orderBy: { position: 'asc' } }),
    tasks: await em.find(TaskSchema, {}),
    workers: await em.find(WorkerSchema, {}),
    workstreams: await em.find(WorkstreamSchema, {}),
    patches: await em.find(PatchSchema, {}),
    ledger: await em.find(LedgerEntrySchema, {}),
    gates: await em.find(TestGateSchema, {}),
    sequence: await em.execute<{ value: number }[]>("select `value` from `log_sequence` where `name` = 'run_event'"),
  }));
  const v: string[] = [];
  const inMachine = <S extends string>(machine: StateMachine<S>, state: string, what: string) => {
    if (!machine.states.includes(state as S)) v.push(`${what} is in ${JSON.stringify(state)}, not a state of the ${machine.entity} machine`);
  };

  // The log: positions 1..N, the sequence at N, known kinds, known runs.
  const runIds = new Set(runs.map((r) => r.id));
  events.forEach((e, i) => {
    if (Number(e.position) !== i + 1) v.push(`event ${e.id} has position ${e.position}, expected ${i + 1} (gap or duplicate)`);
    if (!(RUN_EVENT_KINDS as readonly string[]).includes(e.kind)) v.push(`event ${e.id} has unknown kind ${e.kind}`);
    if (!runIds.has(e.runId)) v.push(`event ${e.id} names run ${e.runId}, which does not exist`);
  });
  const seqValue = Number(sequence[0]?.value ?? 0);
  if (seqValue !== events.length) v.push(`log_sequence run_event is ${seqValue}, but ${events.length} events exist`);

  const eventsByRun = group(events, (e) => e.runId);
  const stepsByRun = group(steps, (s) => s.runId);
  const patchesByRun = group(
    patches.filter((p) => p.runId),
    (p) => p.runId!,
  );

  for (const run of runs) {
    const what = `Run ${run.id}`;
    inMachine(runMachine, run.state, what);
    const log = eventsByRun.get(run.id) ?? [];
    // Replay the state.
    let state: string | null = null;
    let started = false;
    for (const e of log) {
      const p = e.payload as { from?: string; to?: string };
      if (e.kind === 'run_created') {
        if (state !== null) v.push(`${what}: a second RUN_CREATED at position ${e.position}`);
        state = 'pending';
      } else if (e.kind === 'run_started' || e.kind === 'run_state_changed') {
        const to = e.kind === 'run_started' ? 'running' : p.to;
        if (state === null) v.push(`${what}: ${e.kind} at position ${e.position} before RUN_CREATED`);
        else if (p.from !== state) v.push(`${what}: ${e.kind} at ${e.position} says from ${p.from}, but the log had it ${state}`);
        else if (!runMachine.allows(state as never, to as never)) v.push(`${what}: ${e.kind} at ${e.position} moves ${state} -> ${to}, which the machine forbids`);
        if (p.to !== to) v.push(`${what}: ${e.kind} at ${e.position} says to ${p.to}`);
        state = to ?? state;
        if (to === 'running') started = true;
      }
    }
    if (state !== run.state) v.push(`${what} is ${run.state}, but its events say ${state}`);
    if (Boolean(run.startedAt) !== started) v.push(`${what}: startedAt ${run.startedAt ? 'set' : 'unset'}, but RUN_STARTED ${started ? 'logged' : 'not logged'}`);
    const ended = run.state !== 'pending' && run.state !== 'running';
    if (Boolean(run.endedAt) !== ended) v.push(`${what} is ${run.state} with endedAt ${run.endedAt ? 'set' : 'unset'}`);
    // Counters.
    const count = (kind: string) => log.filter((e) => e.kind === kind).length;
    const runSteps = stepsByRun.get(run.id) ?? [];
    if (run.stepAttempts !== runSteps.length || run.stepAttempts !== count('tool_call_started')) {
      v.push(`${what}: counters.stepAttempts ${run.stepAttempts}, steps ${runSteps.length}, TOOL_CALL_STARTED ${count('tool_call_started')}`);
    }
    const errorEvents = log.filter((e) => ERROR_EVENT_KINDS.has(e.kind)).length;
    if (run.errors !== errorEvents) v.push(`${what}: counters.errors ${run.errors}, error events ${errorEvents}`);
    const runPatches = patchesByRun.get(run.id) ?? [];
    if (run.patchesCreated !== runPatches.length || run.patchesCreated !== count('patch_created')) {
      v.push(`${what}: counters.patchesCreated ${run.patchesCreated}, patches ${runPatches.length}, PATCH_CREATED ${count('patch_created')}`);
    }
    if (run.patchesApplied !== count('patch_apply_succeeded')) {
      v.push(`${what}: counters.patchesApplied ${run.patchesApplied}, PATCH_APPLY_SUCCEEDED ${count('patch_apply_succeeded')}`);
    }
    // Steps: sequences 1..n, one start and (once ended) one end event each.
    const sequences = runSteps.map((s) => s.sequence).sort((a, b) => a - b);
    if (sequences.some((s, i) => s !== i + 1)) v.push(`${what}: step sequences ${sequences.join(',')} are not 1..${sequences.length}`);
    const stepEvents = group(
      log.filter((e) => e.stepId),
      (e) => e.stepId!,
    );
    for (const step of runSteps) {
      const sw = `StepAttempt ${step.id}`;
      inMachine(stepMachine, step.state, sw);
      const own = stepEvents.get(step.id) ?? [];
      const starts = own.filter((e) => e.kind === 'tool_call_started').length;
      const ends = own.filter((e) => e.kind === 'tool_call_completed' || e.kind === 'tool_call_error');
      if (starts !== 1) v.push(`${sw}: ${starts} TOOL_CALL_STARTED events`);
      const expectedEnds = step.state === 'running' ? 0 : 1;
      if (ends.length !== expectedEnds) v.push(`${sw} is ${step.state} with ${ends.length} end events`);
      else if (ends[0] && (ends[0].payload as { state?: string }).state !== step.state) {
        v.push(`${sw} is ${step.state}, its end event says ${(ends[0].payload as { state?: string }).state}`);
      }
      if (Boolean(step.endedAt) !== (step.state !== 'running')) v.push(`${sw} is ${step.state} with endedAt ${step.endedAt ? 'set' : 'unset'}`);
    }
  }

  // Patches: one ledger entry each; history a walk of the machine; events per transition.
  const ledgerByPatch = group(ledger, (l) => l.patchId);
  for (const patch of patches) {
    const entries = ledgerByPatch.get(patch.id)?.length ?? 0;
    if (entries !== 1) v.push(`Patch ${patch.id} has ${entries} ledger entries`);
  }
  const patchEvents = group(
    events.filter((e) => typeof e.payload.ledgerId === 'string'),
    (e) => e.payload.ledgerId as string,
  );
  for (const entry of ledger) {
    const what = `LedgerEntry ${entry.id}`;
    inMachine(ledgerMachine, entry.state, what);
    const history = entry.stateHistory.map((h) => h.state);
    if (history[0] !== 'created') v.push(`${what}: history starts with ${history[0]}`);
    for (let i = 1; i < history.length; i++) {
      if (!ledgerMachine.allows(history[i - 1]!, history[i]!)) v.push(`${what}: history moves ${history[i - 1]} -> ${history[i]}`);
    }
    if (history.at(-1) !== entry.state) v.push(`${what} is ${entry.state}, its history ends in ${history.at(-1)}`);
    if (entry.runId) {
      const own = patchEvents.get(entry.id) ?? [];
      const replay = own.map((e) => (e.kind === 'patch_created' ? 'created' : (PATCH_EVENT_STATE[e.kind] ?? `?${e.kind}`)));
      if (replay.join(',') !== history.join(',')) v.push(`${what}: history ${history.join(',')}, events say ${replay.join(',')}`);
    }
  }

  // Gates: events, replayed, end in the gate's state.
  const gateEvents = group(
    events.filter((e) => typeof e.payload.gateId === 'string'),
    (e) => e.payload.gateId as string,
  );
  for (const gate of gates) {
    const what = `TestGate ${gate.id}`;
    inMachine(gateMachine, gate.state, what);
    if (!gate.runId) continue;
    let state: string | null = null;
    for (const e of gateEvents.get(gate.id) ?? []) {
      const to = GATE_EVENT_STATE[e.kind];
      if (!to) continue;
      if (e.kind === 'gate_created') {
        if (state !== null) v.push(`${what}: a second GATE_CREATED`);
      } else if (state === null || !gateMachine.allows(state as never, to as never)) {
        v.push(`${what}: ${e.kind} moves ${state} -> ${to}`);
      }
      state = to;
    }
    if (state !== gate.state) v.push(`${what} is ${gate.state}, its events say ${state}`);
  }

  // Tasks and workers.
  const workerById = new Map(workers.map((w) => [w.id, w]));
  const taskEvents = group(
    events.filter((e) => typeof e.payload.taskId === 'string'),
    (e) => e.payload.taskId as string,
  );
  const runningByWorker = group(
    tasks.filter((t) => t.state === 'running'),
    (t) => t.workerId ?? '',
  );
  for (const task of tasks) {
    const what = `Task ${task.id}`;
    inMachine(taskMachine, task.state, what);
    if (task.state === 'running') {
      const worker = task.workerId ? workerById.get(task.workerId) : undefined;
      if (!worker) v.push(`${what} is RUNNING without a worker (${task.workerId ?? 'none'})`);
      else if (worker.state !== 'busy') v.push(`${what} is RUNNING on worker ${worker.id}, which is ${worker.state}`);
    }
    if (!task.runId) continue;
    const own = taskEvents.get(task.id) ?? [];
    let state = 'pending';
    own.forEach((e, i) => {
      if (e.kind === 'task_created') {
        if (i !== 0) v.push(`${what}: TASK_CREATED is not its first event`);
        return;
      }
      const to = TASK_EVENT_STATE[e.kind];
      if (!to) return;
      if (!taskMachine.allows(state as never, to as never)) v.push(`${what}: ${e.kind} at ${e.position} moves ${state} -> ${to}`);
      state = to;
    });
    if (own[0] && own[0].kind !== 'task_created') v.push(`${what}: first event is ${own[0].kind}, not TASK_CREATED`);
    if (own.length === 0) v.push(`${what} belongs to run ${task.runId} but has no events`);
    if (state !== task.state) v.push(`${what} is ${task.state}, its events say ${state}`);
  }
  for (const worker of workers) {
    const what = `Worker ${worker.id}`;
    inMachine(workerMachine, worker.state, what);
    const held = runningByWorker.get(worker.id) ?? [];
    if (worker.activeTasks !== held.length) v.push(`${what}: activeTasks ${worker.activeTasks}, RUNNING tasks on it ${held.length}`);
    if ((worker.state === 'busy') !== worker.activeTasks > 0) v.push(`${what} is ${worker.state} with activeTasks ${worker.activeTasks}`);
    if (worker.activeTasks > worker.config.max_parallel_tasks) {
      v.push(`${what}: activeTasks ${worker.activeTasks} over maxParallelTasks ${worker.config.max_parallel_tasks}`);
    }
    if (worker.activeTasks === 0 ? worker.currentTaskId != null : !held.some((t) => t.id === worker.currentTaskId)) {
      v.push(`${what}: currentTaskId ${worker.currentTaskId ?? 'null'} with ${worker.activeTasks} tasks held`);
    }
    if (worker.state === 'stopped' && !worker.stoppedAt) v.push(`${what} is STOPPED without stoppedAt`);
    if (worker.state === 'crashed' && !worker.crashInfo) v.push(`${what} is CRASHED without crashInfo`);
  }
  const runningByWorkstream = group(
    tasks.filter((t) => t.state === 'running' && t.workstreamId),
    (t) => t.workstreamId!,
  );
  for (const ws of workstreams) {
    const running = runningByWorkstream.get(ws.id)?.length ?? 0;
    if (ws.runningTasks !== running) v.push(`Workstream ${ws.id}: runningTasks ${ws.runningTasks}, RUNNING tasks ${running}`);
  }

  return {
    violations: v,
    checked: {
      runs: runs.length,
      steps: steps.length,
      events: events.length,
      tasks: tasks.length,
      workers: workers.length,
      workstreams: workstreams.length,
      patches: patches.length,
      gates: gates.length,
    },
  };
}

import { createHash } from 'node:crypto';
import { GraphQLObjectType } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiTokenSchema } from '../../src/engine/auth/entities.js';
import { decodeGlobalId } from '../../src/schema/builder.js';
import { schema } from '../../src/graphql.js';
import { codes, ADMIN_SECRET, connectionInit, createRun, startTestServer, subscribe, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import { onPostgres } from '../helpers/database.js';
import { routerConfig, taskSpec, workstreamSpec } from '../helpers/specs.js';

type Scope = 'read' | 'operate' | 'worker' | 'admin';
type Caller = Scope | 'none';
const CALLERS: Caller[] = ['none', 'read', 'operate', 'worker', 'admin'];

let server: TestServer;
/** Secrets of stored tokens with exactly one scope each. */
const tokens = {} as Record<Scope, string>;

/** Runs a request as admin (the environment's admin secret) and fails on any error. */
async function admin<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await server.gql(query, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

async function createToken(name: string, scopes: string[], expiresAt?: string): Promise<{ secret: string; id: string }> {
  const data = await admin(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }`, { input: { name, scopes, expiresAt } });
  return { secret: data.createApiToken.token, id: data.createApiToken.apiToken.id };
}

const revoke = (id: string) => admin(`mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }`, { id });
const addNote = (runId: string, message: string) => admin(`mutation($runId: ID!, $m: String!) { addRunNote(input: {runId: $runId, message: $m}) { event { id } } }`, { runId, m: message });

async function runningRun(): Promise<string> {
  const id = await createRun(server);
  await admin(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id });
  return id;
}

async function runningStep(run?: string): Promise<{ runId: string; stepId: string }> {
  const runId = run ?? (await runningRun());
  const data = await admin(`mutation($runId: ID!) { startStep(input: {runId: $runId, toolId: "tool-1"}) { step { id } } }`, { runId });
  return { runId, stepId: data.startStep.step.id };
}

/**
 * Columns a refused call may still change: a token's lastUsedAt is noted
 * (off the request's path) whenever it authenticates, refused or not.
 */
const NOT_COMPARED: Record<string, string[]> = { api_token: ['last_used_at'] };

/** Every table of the database (read from the catalog, so a new table is covered without editing this list). */
async function tableNames(): Promise<string[]> {
  const rows = await server.engine.orm.em
    .getConnection()
    .execute<{ name: string }[]>(
      onPostgres ? `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name` : `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`,
    );
  return rows.map((r) => r.name);
}

/** Everything a refused call must leave as it was: every row of every table, every column (but NOT_COMPARED). */
async function snapshot(): Promise<Record<string, Record<string, unknown>[]>> {
  // Heartbeats are buffered in memory; write them first so that they are seen.
  await server.engine.liveWorkers.flush();
  const connection = server.engine.orm.em.getConnection();
  const tables: Record<string, Record<string, unknown>[]> = {};
  for (const table of await tableNames()) {
    const rows = await connection.execute<Record<string, unknown>[]>(`SELECT * FROM "${table}"`);
    // Sorted here: PostgreSQL has no rowid, and a heap's order may change with an update.
    tables[table] = rows
      .map((row) => {
        const kept = { ...row };
        for (const column of NOT_COMPARED[table] ?? []) delete kept[column];
        return kept;
      })
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  return tables;
}

interface Entry {
  /** The operation text; its root field is the entry's field. */
  op: string;
  /** Fresh fixtures for one call, made as admin. */
  vars?: () => Promise<Record<string, unknown>>;
  /** Scopes that may call it (admin always may); 'any' = every valid token. */
  allowed: Scope[] | 'any';
  /** For subscriptions: makes an event the subscription delivers. */
  trigger?: (vars: Record<string, unknown>) => Promise<unknown>;
}

/** Registers a worker with the `worker` token (so that token owns it); returns its id. */
async function ownWorker(): Promise<string> {
  const res = await server.gql(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`, {}, { token: tokens.worker });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data.registerWorker.worker.id;
}

async function pendingTask(): Promise<string> {
  return (await admin(`mutation { createTask(input: {kind: "ac-check"}) { task { id } } }`)).createTask.task.id;
}

/** An own worker holding a task (assigned as admin). */
async function busyWorker(): Promise<{ workerId: string; taskId: string }> {
  const workerId = await ownWorker();
  const taskId = await pendingTask();
  await admin(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id } } }`, { w: workerId, t: taskId });
  return { workerId, taskId };
}

/**
 * A running run of project "ac" that an own worker holds a task of: the
 * `worker` token reports only on such runs (operate and admin on any).
 */
async function workedRun(): Promise<string> {
  const runId = await createRun(server, { projectId: 'ac' });
  await admin(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
  const taskId = (await admin(`mutation($r: ID!) { createTask(input: {kind: "ac-report", runId: $r}) { task { id } } }`, { r: runId })).createTask.task.id;
  await admin(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id } } }`, { w: await ownWorker(), t: taskId });
  return runId;
}

const DIFF = 'diff --git a/src/a.ts b/src/a.ts\n--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-old\n+new\n';

/** A ledger entry (of `runId`, if given) driven (as admin) through `path` of patch mutations; returns its id. */
async function ledgerEntry(path: ('validatePatch' | 'queuePatch' | 'recordPatchApply' | 'verifyPatch')[] = [], runId?: string): Promise<string> {
  const created = await admin(`mutation($d: String!, $r: ID) { createPatch(input: {projectId: "ac", runId: $r, targetRepo: "r", diffText: $d}) { ledgerEntry { id } } }`, {
    d: DIFF,
    r: runId,
  });
  const id = created.createPatch.ledgerEntry.id;
  const extra = { recordPatchApply: ', success: true', verifyPatch: ', testsPassed: true' } as Record<string, string>;
  for (const step of path) await admin(`mutation($id: ID!) { ${step}(input: {ledgerId: $id${extra[step] ?? ''}}) { ledgerEntry { state } } }`, { id });
  return id;
}

async function gate(start = false, runId?: string, executionRequestId?: string): Promise<string> {
  const id = (
    await admin(`mutation($r: ID, $e: String) { createTestGate(input: {name: "ac-gate", type: LINT, runId: $r, executionRequestId: $e}) { gate { id } } }`, {
      r: runId,
      e: executionRequestId,
    })
  ).createTestGate.gate.id;
  if (start) await admin(`mutation($id: ID!) { startTestGate(input: {id: $id}) { gate { id } } }`, { id });
  return id;
}

/** A submitted one-task workstream (a lint task, which the test router configuration routes too). */
async function workstream(): Promise<{ id: string; run: { id: string }; tasks: { id: string }[] }> {
  const spec = workstreamSpec([taskSpec('t1', [], { kind: 'lint' })], { projectId: 'ac', id: `ws-${Math.random().toString(36).slice(2)}` });
  return (await admin(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { id run { id } tasks { id } } } }`, { s: spec })).submitWorkstream.workstream;
}

/**
 * A gate of a workstream task's attempt that an own worker holds: the `worker`
 * token passes or fails only such gates (operate and admin any gate).
 */
async function workedGate(start: boolean): Promise<string> {
  const ws = await workstream();
  const assigned = await admin(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { executionRequest { id } } } }`, {
    w: await ownWorker(),
    t: ws.tasks[0]!.id,
  });
  const executionRequestId = decodeGlobalId(assigned.assignTask.task.executionRequest.id, 'executionRequest').id;
  return gate(start, ws.run.id, executionRequestId);
}

/** Assigns the workstream's task to a new worker; returns the task's execution request id. */
async function startWorkstreamTask(ws: { tasks: { id: string }[] }): Promise<string> {
  const { registerWorker } = await admin(`mutation { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`);
  const assigned = await admin(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { executionRequest { id } } } }`, {
    w: registerWorker.worker.id,
    t: ws.tasks[0]!.id,
  });
  return assigned.assignTask.task.executionRequest.id;
}

const runVars = async () => ({ id: await createRun(server) });
const runningVars = async () => ({ id: await runningRun() });

const TABLE: Record<string, Entry> = {
  'Query.node': { op: `query($id: ID!) { node(id: $id) { id } }`, vars: runVars, allowed: ['read'] },
  'Query.nodes': {
    op: `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
    vars: async () => {
      const { runId, stepId } = await runningStep();
      return { ids: [runId, stepId] };
    },
    allowed: ['read'],
  },
  'Query.run': { op: `query($id: ID!) { run(id: $id) { id state } }`, vars: runVars, allowed: ['read'] },
  'Query.runs': { op: `{ runs(first: 2) { totalCount edges { node { id } } } }`, allowed: ['read'] },
  'Query.runEvents': {
    op: `query($runId: ID!) { runEvents(runId: $runId) { totalCount edges { node { kind } } } }`,
    vars: async () => ({ runId: await createRun(server) }),
    allowed: ['read'],
  },
  'Query.contracts': { op: `{ contracts { name } }`, allowed: ['read'] },
  'Query.validateDocument': {
    op: `{ validateDocument(contract: "run_record", document: {}) { valid errors { path } } }`,
    allowed: ['read'],
  },
  'Query.viewer': { op: `{ viewer { tokenName scopes } }`, allowed: 'any' },
  'Query.patch': {
    op: `query($id: ID!) { patch(id: $id) { id scope { hunks } } }`,
    vars: async () => ({ id: (await admin(`query($id: ID!) { ledgerEntry(id: $id) { patch { id } } }`, { id: await ledgerEntry() })).ledgerEntry.patch.id }),
    allowed: ['read'],
  },
  'Query.ledgerEntry': { op: `query($id: ID!) { ledgerEntry(id: $id) { id state } }`, vars: async () => ({ id: await ledgerEntry() }), allowed: ['read'] },
  'Query.patchLedger': { op: `{ patchLedger(first: 2) { totalCount edges { node { id } } } }`, allowed: ['read'] },
  'Query.patchLedgerCounts': { op: `{ patchLedgerCounts { state count } }`, allowed: ['read'] },
  'Query.patchPolicies': { op: `{ patchPolicies { id level } }`, allowed: ['read'] },
  'Query.effectivePatchPolicy': {
    op: `{ effectivePatchPolicy(projectId: "ac-effective", phaseId: "p") { id level } }`,
    vars: async () => {
      await admin(`mutation { setPatchPolicy(input: {level: PROJECT, projectId: "ac-effective", constraints: {}}) { policy { id } } }`);
      return {};
    },
    allowed: ['read'],
  },
  'Query.testGate': { op: `query($id: ID!) { testGate(id: $id) { id state } }`, vars: async () => ({ id: await gate() }), allowed: ['read'] },
  'Query.testGates': { op: `{ testGates(first: 2) { totalCount edges { node { id } } } }`, allowed: ['read'] },
  'Query.cost': {
    op: `query($id: ID!) { cost(id: $id) { id amount } }`,
    vars: async () => ({ id: (await admin(`mutation { recordCost(input: {projectId: "ac", resourceType: API_CALL, amount: "0.5", currency: "USD"}) { cost { id } } }`)).recordCost.cost.id }),
    allowed: ['read'],
  },
  'Query.costs': { op: `{ costs(first: 2) { totalCount edges { node { id } } } }`, allowed: ['read'] },
  'Query.costSummary': { op: `{ costSummary { currency total } }`, allowed: ['read'] },
  'Query.budgets': { op: `{ budgets { id spent } }`, allowed: ['read'] },
  'Query.workstream': { op: `query($id: ID!) { workstream(id: $id) { id name } }`, vars: async () => ({ id: (await workstream()).id }), allowed: ['read'] },
  'Query.workstreams': { op: `{ workstreams(first: 2) { totalCount edges { node { id progress { total } } } } }`, allowed: ['read'] },
  'Query.runProgress': {
    op: `query($id: ID!) { runProgress(runId: $id) { total completionPercent } }`,
    vars: async () => ({ id: (await workstream()).run.id }),
    allowed: ['read'],
  },
  'Query.runMetrics': { op: `query($id: ID!) { runMetrics(runId: $id) { events { total } } }`, vars: runVars, allowed: ['read'] },
  'Query.runSummary': { op: `{ runSummary { activeRuns } }`, allowed: ['read'] },
  'Query.routerConfig': {
    op: `{ routerConfig { version } }`,
    vars: async () => (await admin(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: routerConfig() }), {}),
    allowed: ['read'],
  },
  'Query.routeTask': { op: `{ routeTask(taskKind: "lint") { toolId reason } }`, allowed: ['read'] },
  'Query.tools': { op: `{ tools { id circuitState } }`, allowed: ['read'] },
  'Query.executionRequest': {
    op: `query($id: ID!) { executionRequest(id: $id) { id document } }`,
    vars: async () => ({ id: await startWorkstreamTask(await workstream()) }),
    allowed: ['read'],
  },
  'Query.executionRequests': { op: `{ executionRequests(first: 2) { totalCount } }`, allowed: ['read'] },
  'Query.worker': { op: `query($id: ID!) { worker(id: $id) { id state stale } }`, vars: async () => ({ id: await ownWorker() }), allowed: ['read'] },
  'Query.workers': { op: `{ workers(first: 2) { totalCount edges { node { id } } } }`, allowed: ['read'] },
  'Query.staleWorkers': { op: `{ staleWorkers(timeoutSeconds: 0) { id } }`, allowed: ['read'] },
  'Query.workerSummary': { op: `{ workerSummary { total stale byState { state count } } }`, allowed: ['read'] },
  'Query.task': { op: `query($id: ID!) { task(id: $id) { id state } }`, vars: async () => ({ id: await pendingTask() }), allowed: ['read'] },
  'Query.tasks': { op: `{ tasks(first: 2) { totalCount edges { node { id } } } }`, allowed: ['read'] },
  'Query.apiTokens': { op: `{ apiTokens(first: 1) { totalCount edges { node { id name } } } }`, allowed: ['admin'] },

  'Mutation.createRun': {
    op: `mutation { createRun(input: {projectId: "proj-ac", phaseId: "phase-1"}) { run { id } } }`,
    allowed: ['operate'],
  },
  'Mutation.startRun': { op: `mutation($id: ID!) { startRun(input: {id: $id}) { run { state } } }`, vars: runVars, allowed: ['operate'] },
  'Mutation.completeRun': {
    op: `mutation($id: ID!) { completeRun(input: {id: $id, state: SUCCEEDED}) { run { state } } }`,
    vars: runningVars,
    allowed: ['operate'],
  },
  'Mutation.cancelRun': { op: `mutation($id: ID!) { cancelRun(input: {id: $id, reason: "r"}) { run { state } } }`, vars: runVars, allowed: ['operate'] },
  'Query.stepLog': {
    op: `query($id: ID!) { stepLog(stepId: $id) { size chunks { text } } }`,
    vars: async () => ({ id: (await runningStep()).stepId }),
    allowed: ['read'],
  },
  'Mutation.quarantineRun': {
    op: `mutation($id: ID!) { quarantineRun(input: {id: $id, reason: "r"}) { run { state } } }`,
    vars: runningVars,
    allowed: ['operate'],
  },
  'Mutation.startStep': {
    op: `mutation($runId: ID!) { startStep(input: {runId: $runId, toolId: "tool-1"}) { step { sequence } } }`,
    vars: async () => ({ runId: await workedRun() }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.completeStep': {
    op: `mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`,
    // Started by the `worker` token: a worker token completes only the steps it started.
    vars: async () => {
      const runId = await workedRun();
      const started = await server.ok(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "tool-1"}) { step { id } } }`, { r: runId }, { token: tokens.worker });
      return { id: started.startStep.step.id };
    },
    allowed: ['operate', 'worker'],
  },
  'Mutation.appendStepLog': {
    op: `mutation($id: ID!) { appendStepLog(input: {stepId: $id, offset: 0, text: "out"}) { size duplicate } }`,
    // Started by the `worker` token: a worker token appends only to the steps it started.
    vars: async () => {
      const runId = await workedRun();
      const started = await server.ok(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "tool-1"}) { step { id } } }`, { r: runId }, { token: tokens.worker });
      return { id: started.startStep.step.id };
    },
    allowed: ['operate', 'worker'],
  },
  'Mutation.addRunNote': {
    op: `mutation($runId: ID!) { addRunNote(input: {runId: $runId, message: "hi"}) { event { kind } } }`,
    vars: async () => ({ runId: await createRun(server) }),
    allowed: ['operate'],
  },
  'Mutation.registerWorker': { op: `mutation { registerWorker(input: {type: MONITOR}) { worker { id } } }`, allowed: ['worker'] },
  'Mutation.heartbeat': {
    op: `mutation($id: ID!) { heartbeat(input: {workerId: $id, progress: 5}) { worker { lastHeartbeat } } }`,
    vars: async () => ({ id: await ownWorker() }),
    allowed: ['worker'],
  },
  'Mutation.pauseWorker': {
    op: `mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state } } }`,
    vars: async () => ({ id: await ownWorker() }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.resumeWorker': {
    op: `mutation($id: ID!) { resumeWorker(input: {id: $id}) { worker { state } } }`,
    vars: async () => {
      const id = await ownWorker();
      await admin(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { state } } }`, { id });
      return { id };
    },
    allowed: ['operate', 'worker'],
  },
  'Mutation.shutdownWorker': {
    op: `mutation($id: ID!) { shutdownWorker(input: {id: $id}) { worker { state } } }`,
    vars: async () => ({ id: await ownWorker() }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.crashWorker': {
    op: `mutation($id: ID!) { crashWorker(input: {id: $id, errorMessage: "oom"}) { worker { state } } }`,
    vars: async () => ({ id: await ownWorker() }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.createTask': { op: `mutation { createTask(input: {kind: "ac-created"}) { task { id } } }`, allowed: ['operate'] },
  'Mutation.claimTask': {
    op: `mutation($id: ID!) { claimTask(input: {workerId: $id, kinds: ["ac-check"]}) { task { id } worker { state } } }`,
    vars: async () => {
      await pendingTask();
      return { id: await ownWorker() };
    },
    allowed: ['worker'],
  },
  'Mutation.assignTask': {
    op: `mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { state } worker { state } } }`,
    vars: async () => ({ w: await ownWorker(), t: await pendingTask() }),
    allowed: ['operate'],
  },
  'Mutation.completeTask': {
    op: `mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { state } worker { state } } }`,
    vars: async () => ({ w: (await busyWorker()).workerId }),
    allowed: ['worker'],
  },
  'Mutation.createPatch': {
    op: `mutation($d: String!, $r: ID!) { createPatch(input: {projectId: "ac", runId: $r, targetRepo: "r", diffText: $d}) { ledgerEntry { state } } }`,
    vars: async () => ({ d: DIFF, r: await workedRun() }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.validatePatch': {
    op: `mutation($id: ID!) { validatePatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry() }),
    allowed: ['operate'],
  },
  'Mutation.queuePatch': {
    op: `mutation($id: ID!) { queuePatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry(['validatePatch']) }),
    allowed: ['operate'],
  },
  'Mutation.recordPatchApply': {
    op: `mutation($id: ID!) { recordPatchApply(input: {ledgerId: $id, success: true, appliedFiles: ["src/a.ts"]}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry(['validatePatch', 'queuePatch'], await workedRun()) }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.retryPatch': {
    op: `mutation($id: ID!) { retryPatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`,
    vars: async () => {
      const id = await ledgerEntry(['validatePatch', 'queuePatch']);
      await admin(`mutation($id: ID!) { recordPatchApply(input: {ledgerId: $id, success: false, errorCode: "conflict"}) { ledgerEntry { state } } }`, { id });
      return { id };
    },
    allowed: ['operate'],
  },
  'Mutation.verifyPatch': {
    op: `mutation($id: ID!) { verifyPatch(input: {ledgerId: $id, testsPassed: true}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry(['validatePatch', 'queuePatch', 'recordPatchApply']) }),
    allowed: ['operate'],
  },
  'Mutation.commitPatch': {
    op: `mutation($id: ID!) { commitPatch(input: {ledgerId: $id}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry(['validatePatch', 'queuePatch', 'recordPatchApply', 'verifyPatch']) }),
    allowed: ['operate'],
  },
  'Mutation.rollbackPatch': {
    op: `mutation($id: ID!) { rollbackPatch(input: {ledgerId: $id, reason: "r"}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry(['validatePatch', 'queuePatch', 'recordPatchApply']) }),
    allowed: ['operate'],
  },
  'Mutation.dropPatch': {
    op: `mutation($id: ID!) { dropPatch(input: {ledgerId: $id, reason: "r"}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry() }),
    allowed: ['operate'],
  },
  'Mutation.quarantinePatch': {
    op: `mutation($id: ID!) { quarantinePatch(input: {ledgerId: $id, reason: "r"}) { ledgerEntry { state } } }`,
    vars: async () => ({ id: await ledgerEntry() }),
    allowed: ['operate'],
  },
  'Mutation.setPatchPolicy': {
    op: `mutation { setPatchPolicy(input: {level: PROJECT, projectId: "ac-policy", constraints: {maxLinesChanged: 500}}) { policy { id } } }`,
    allowed: ['admin'],
  },
  'Mutation.createTestGate': { op: `mutation { createTestGate(input: {name: "g", type: LINT}) { gate { state } } }`, allowed: ['operate'] },
  'Mutation.startTestGate': {
    op: `mutation($id: ID!) { startTestGate(input: {id: $id, command: "npm test"}) { gate { state } } }`,
    vars: async () => ({ id: await workedGate(false) }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.completeTestGate': {
    op: `mutation($id: ID!) { completeTestGate(input: {id: $id, exitCode: 0}) { gate { state } } }`,
    vars: async () => ({ id: await workedGate(true) }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.skipTestGate': {
    op: `mutation($id: ID!) { skipTestGate(input: {id: $id, reason: "r"}) { gate { state } } }`,
    vars: async () => ({ id: await gate() }),
    allowed: ['operate'],
  },
  'Mutation.recordCost': {
    op: `mutation($r: ID!) { recordCost(input: {runId: $r, resourceType: API_CALL, amount: "0.25", currency: "USD"}) { cost { amount } } }`,
    vars: async () => ({ r: await workedRun() }),
    allowed: ['operate', 'worker'],
  },
  'Mutation.setBudget': {
    op: `mutation { setBudget(input: {scope: PROJECT, projectId: "ac-budget", currency: "USD", limit: "100", action: NOTIFY}) { budget { id } } }`,
    allowed: ['admin'],
  },
  'Mutation.submitWorkstream': {
    op: `mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { id } } }`,
    vars: async () => ({ s: workstreamSpec([taskSpec('only', [], { kind: 'ac_submitted' })], { projectId: 'ac' }) }),
    allowed: ['operate'],
  },
  'Mutation.setRouterConfig': {
    op: `mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`,
    vars: async () => ({ c: routerConfig() }),
    allowed: ['admin'],
  },
  'Mutation.createApiToken': {
    op: `mutation { createApiToken(input: {name: "made-in-table", scopes: [READ]}) { token apiToken { id } } }`,
    allowed: ['admin'],
  },
  'Mutation.revokeApiToken': {
    op: `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } } }`,
    vars: async () => ({ id: (await createToken('to-revoke', ['READ'])).id }),
    allowed: ['admin'],
  },

  'Subscription.runEvents': {
    op: `subscription($runId: ID) { runEvents(runId: $runId) { kind } }`,
    vars: async () => ({ runId: await createRun(server) }),
    trigger: (vars) => addNote(vars.runId as string, 'table'),
    allowed: ['read'],
  },
  'Subscription.runEventBatches': {
    op: `subscription($runId: ID) { runEventBatches(runId: $runId) { cursor events { kind } } }`,
    vars: async () => ({ runId: await createRun(server) }),
    trigger: (vars) => addNote(vars.runId as string, 'table'),
    allowed: ['read'],
  },
  'Subscription.stepLogAppended': {
    op: `subscription($id: ID!) { stepLogAppended(stepId: $id) { text } }`,
    vars: async () => ({ id: (await runningStep()).stepId }),
    trigger: (vars) => admin(`mutation($id: ID!) { appendStepLog(input: {stepId: $id, offset: 0, text: "table"}) { size } }`, { id: vars.id }),
    allowed: ['read'],
  },
  'Subscription.runStateChanged': {
    op: `subscription($runId: ID) { runStateChanged(runId: $runId) { state } }`,
    vars: async () => ({ runId: await createRun(server) }),
    trigger: (vars) => admin(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: vars.runId }),
    allowed: ['read'],
  },
  'Subscription.patchStateChanged': {
    op: `subscription($projectId: ID) { patchStateChanged(projectId: $projectId) { state } }`,
    vars: async () => ({ projectId: 'ac' }),
    trigger: () => ledgerEntry(),
    allowed: ['read'],
  },
  'Subscription.gateOutcomes': {
    op: `subscription($id: ID) { gateOutcomes(projectId: $id) { state decision { passed } } }`,
    vars: async () => ({ id: 'ac-gates' }),
    trigger: async () => {
      const id = (await admin(`mutation { createTestGate(input: {name: "sub", type: LINT, projectId: "ac-gates"}) { gate { id } } }`)).createTestGate.gate.id;
      await admin(`mutation($id: ID!) { skipTestGate(input: {id: $id, reason: "not today"}) { gate { id } } }`, { id });
    },
    allowed: ['read'],
  },
  'Subscription.costRecorded': {
    op: `subscription { costRecorded(projectId: "ac-costs") { amount currency } }`,
    trigger: () => admin(`mutation { recordCost(input: {projectId: "ac-costs", resourceType: NETWORK, amount: "1", currency: "EUR"}) { cost { id } } }`),
    allowed: ['read'],
  },
  'Subscription.budgetAlerts': {
    op: `subscription($p: ID) { budgetAlerts(projectId: $p) { threshold budget { id } } }`,
    vars: async () => {
      const projectId = `ac-alerts-${Math.random().toString(36).slice(2)}`;
      await admin(`mutation($p: String) { setBudget(input: {scope: PROJECT, projectId: $p, currency: "USD", limit: "1", thresholds: [50], action: NOTIFY}) { budget { id } } }`, { p: projectId });
      return { p: projectId };
    },
    trigger: (vars) => admin(`mutation($p: String) { recordCost(input: {projectId: $p, resourceType: API_CALL, amount: "0.6", currency: "USD"}) { cost { id } } }`, { p: vars.p }),
    allowed: ['read'],
  },
  'Subscription.runProgress': {
    op: `subscription($id: ID!) { runProgress(runId: $id) { total running } }`,
    vars: async () => {
      const ws = await workstream();
      return { id: ws.run.id, tasks: ws.tasks };
    },
    trigger: (vars) => startWorkstreamTask(vars as never),
    allowed: ['read'],
  },
  'Subscription.toolCircuitChanged': {
    op: `subscription($t: String) { toolCircuitChanged(toolId: $t) { toolId to } }`,
    // A tool of its own per case (the router keeps the test configuration's tools too).
    vars: async () => {
      const tool = `flaky-${Math.random().toString(36).slice(2)}`;
      const config = routerConfig() as any;
      config.apps[tool] = { command: 'run', capabilities: { task_kinds: [tool], domains: [] }, limits: { max_parallel: 5, timeout_seconds: 60 } };
      await admin(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: config });
      return { t: tool };
    },
    // Five failed attempts open its breaker.
    trigger: async (vars) => {
      const { registerWorker } = await admin(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 5}}) { worker { id } } }`);
      for (let i = 0; i < 5; i++) {
        const spec = workstreamSpec([taskSpec('t1', [], { kind: vars.t as string })], { projectId: 'ac', id: `ws-${Math.random().toString(36).slice(2)}` });
        const ws = (await admin(`mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { tasks { id } } } }`, { s: spec })).submitWorkstream.workstream;
        const ids = { w: registerWorker.worker.id, t: ws.tasks[0].id };
        await admin(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id } } }`, ids);
        await admin(`mutation($w: ID!, $t: ID!) { completeTask(input: {workerId: $w, taskId: $t, success: false}) { task { id } } }`, ids);
      }
    },
    allowed: ['read'],
  },
  'Subscription.toolChanged': {
    op: `subscription($t: String) { toolChanged(toolId: $t) { id inFlight } }`,
    // Leasing a lint task puts an attempt in flight on linter.
    vars: async () => ({ t: 'linter', tasks: (await workstream()).tasks }),
    trigger: (vars) => startWorkstreamTask(vars as never),
    allowed: ['read'],
  },
  'Subscription.workerHeartbeats': {
    op: `subscription($workerId: ID) { workerHeartbeats(workerId: $workerId) { at progress worker { id } } }`,
    vars: async () => ({ workerId: await ownWorker() }),
    trigger: (vars) => admin(`mutation($id: ID!) { heartbeat(input: {workerId: $id}) { worker { id } } }`, { id: vars.workerId }),
    allowed: ['read'],
  },
  'Subscription.workerStateChanged': {
    op: `subscription($workerId: ID) { workerStateChanged(workerId: $workerId) { from to reason } }`,
    vars: async () => ({ workerId: await ownWorker() }),
    trigger: (vars) => admin(`mutation($id: ID!) { pauseWorker(input: {id: $id}) { worker { id } } }`, { id: vars.workerId }),
    allowed: ['read'],
  },
};

const allows = (entry: Entry, caller: Caller) => caller !== 'none' && (entry.allowed === 'any' || caller === 'admin' || entry.allowed.includes(caller));

beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 100_000 } });
  for (const scope of ['read', 'operate', 'worker', 'admin'] as Scope[]) {
    tokens[scope] = (await createToken(`only-${scope}`, [scope.toUpperCase()])).secret;
  }
});
afterAll(() => server.stop());

describe('root fields against scopes', () => {
  it('has one table entry per root field of the schema', () => {
    const rootFields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      Object.keys((type as GraphQLObjectType).getFields()).map((field) => `${type!.name}.${field}`),
    );
    expect(Object.keys(TABLE).sort()).toEqual(rootFields.sort());
  });

  it('the "nothing written" snapshot covers every table, entity tables included, and sees a write', async () => {
    const before = await snapshot();
    const mapped = Object.values(server.engine.orm.getMetadata().getAll()).map((meta) => meta.tableName);
    expect(mapped.length).toBeGreaterThan(0);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(mapped));
    expect(Object.keys(before)).toEqual(await tableNames());
    // A table only an admin can write (control: the snapshot is not blind to it).
    await admin(`mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { id } } }`, { c: routerConfig() });
    const after = await snapshot();
    expect(after.router_config).toHaveLength(before.router_config!.length + 1);
    expect(after).not.toEqual(before);
  });

  const httpCases = Object.entries(TABLE)
    .filter(([field]) => !field.startsWith('Subscription.'))
    .flatMap(([field, entry]) => CALLERS.map((caller) => [field, caller, allows(entry, caller)] as const));

  it.each(httpCases)('%s as %s (allowed: %s)', async (field, caller, allowed) => {
    const entry = TABLE[field]!;
    const vars = (await entry.vars?.()) ?? {};
    const before = await snapshot();
    const res = await server.gql(entry.op, vars, { token: caller === 'none' ? null : tokens[caller] });
    if (allowed) {
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      expect(res.data?.[field.split('.')[1]!]).toBeTruthy();
    } else {
      expect(codes(res)).toEqual([caller === 'none' ? 'UNAUTHENTICATED' : 'FORBIDDEN']);
      expect(await snapshot()).toEqual(before);
    }
  });

  const wsCases = Object.entries(TABLE)
    .filter(([field]) => field.startsWith('Subscription.'))
    .flatMap(([field, entry]) => CALLERS.filter((c) => c !== 'none').map((caller) => [field, caller, allows(entry, caller)] as const));

  it.each(wsCases)('%s over graphql-ws as %s (allowed: %s)', async (field, caller, allowed) => {
    const entry = TABLE[field]!;
    const vars = (await entry.vars?.()) ?? {};
    const streams = server.engine.openStreams();
    const client = server.wsClient({ token: tokens[caller] });
    const sub = subscribe(client, entry.op, vars);
    try {
      if (allowed) {
        await until(() => server.engine.openStreams() > streams, 'the stream to open');
        await entry.trigger!(vars);
        await sub.next(1);
        expect(sub.results[0]?.errors).toBeUndefined();
        expect(sub.results[0]?.data?.[field.split('.')[1]!]).toBeTruthy();
      } else {
        await sub.next(1);
        expect(codes(sub.results[0]!)).toEqual(['FORBIDDEN']);
        await sub.done;
        expect(sub.results).toHaveLength(1);
      }
    } finally {
      sub.stop();
      await client.dispose();
      // The next case counts open streams from here: let this one close first.
      await until(() => server.engine.openStreams() === streams, 'the stream to close');
    }
  });

  it('a subscription over graphql-ws without a token is refused with 4403', async () => {
    const client = server.wsClient({ token: null });
    const sub = subscribe(client, TABLE['Subscription.runEvents']!.op, {});
    await expect(sub.done).rejects.toMatchObject({ code: 4403 });
    expect(sub.results).toEqual([]);
    await client.dispose();
  });
  it.each([
    ['none', 'UNAUTHENTICATED'],
    ['operate', 'FORBIDDEN'],
  ] as const)('a subscription over SSE as %s is refused with %s', async (caller, code) => {
    const streams = server.engine.openStreams();
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(caller === 'none' ? {} : { authorization: `Bearer ${tokens[caller]}` }),
      },
      body: JSON.stringify({ query: `subscription { runEvents { kind } }` }),
    });
    const payloads = await readSse(res);
    expect(payloads.map(codes)).toEqual([[code]]);
    expect(server.engine.openStreams()).toBe(streams);
  });

  it('a refused mutation field does not undo or block the allowed one before it', async () => {
    const before = await snapshot();
    const res = await server.gql(
      `mutation { createRun(input: {projectId: "proj-mixed", phaseId: "p"}) { run { id } } createApiToken(input: {name: "sneaky", scopes: [ADMIN]}) { token } }`,
      {},
      { token: tokens.operate },
    );
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(res.data?.createRun.run.id).toBeTruthy();
    expect(res.data?.createApiToken).toBeNull();
    const after = await snapshot();
    expect(after.api_token).toEqual(before.api_token);
    expect(after.run).toHaveLength(before.run!.length + 1);
  });
});

describe('viewer', () => {
  it('returns the name and scopes of a created token', async () => {
    const { secret } = await createToken('viewer-check', ['READ', 'WORKER']);
    const res = await server.gql(`{ viewer { tokenName scopes } }`, {}, { token: secret });
    expect(res).toEqual({ data: { viewer: { tokenName: 'viewer-check', scopes: ['READ', 'WORKER'] } } });
  });
});

describe('graphql-ws connection auth', () => {
  it.each([
    ['no token', {}],
    ['a malformed header', { authorization: 'Token abc' }],
    ['an unknown token', { authorization: 'Bearer uet_not-a-real-token' }],
    ['a wrong admin secret', { authorization: `Bearer ${ADMIN_SECRET}x` }],
  ])('closes the socket with 4403 given %s, before acknowledging', async (_label, payload) => {
    const { code, messages } = await connectionInit(server.wsUrl, payload);
    expect(code).toBe(4403);
    expect(messages).toEqual([]);
  });

  it('acknowledges a valid token (control)', async () => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const first = await new Promise<any>((resolve, reject) => {
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.read}` } })));
      socket.on('message', (data) => resolve(JSON.parse(String(data))));
      socket.on('error', reject);
    });
    expect(first.type).toBe('connection_ack');
    socket.close();
  });
});

/** Reads an SSE response until it ends; returns the JSON payloads of its `data:` lines. */
async function readSse(res: Response, timeoutMs = 5_000): Promise<any[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      await reader.cancel();
      throw new Error(`stream did not end: ${text}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const chunk = await Promise.race([reader.read(), new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left)))]).finally(() => clearTimeout(timer));
    if (chunk === 'timeout') continue;
    if (chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  return [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!));
}

describe('revoking a token', () => {
  it('closes its graphql-ws subscription with 4403 and delivers nothing after', async () => {
    const { secret, id } = await createToken('revoked-ws', ['READ']);
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const client = server.wsClient({ token: secret });
    const sub = subscribe(client, `subscription($runId: ID) { runEvents(runId: $runId) { kind payload } }`, { runId });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    await addNote(runId, 'before');
    await sub.next(1);
    await revoke(id);
    await expect(sub.done).rejects.toMatchObject({ code: 4403 });
    await addNote(runId, 'after');
    await sleep(100);
    expect(sub.results.map((r) => r.data?.runEvents.payload.message)).toEqual(['before']);
    await until(() => server.engine.openStreams() === streams, 'the stream to close');
    await client.dispose();
  });

  it('ends its SSE subscription without delivering later events', async () => {
    const { secret, id } = await createToken('revoked-sse', ['READ']);
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query: `subscription($runId: ID) { runEvents(runId: $runId) { kind payload } }`, variables: { runId } }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    await addNote(runId, 'before');
    await sleep(50);
    await revoke(id);
    await addNote(runId, 'after');
    const payloads = await readSse(res);
    const messages = payloads.filter((p) => p.data).map((p) => p.data.runEvents.payload.message);
    expect(messages).toEqual(['before']);
    expect(payloads.filter((p) => p.errors)).toEqual([]);
  });

  it('makes HTTP requests with it UNAUTHENTICATED and refuses new sockets', async () => {
    const { secret, id } = await createToken('revoked-http', ['OPERATE', 'READ']);
    expect((await server.gql(`{ viewer { tokenName } }`, {}, { token: secret })).data).toEqual({ viewer: { tokenName: 'revoked-http' } });
    await revoke(id);
    const before = await snapshot();
    expect(codes(await server.gql(`{ viewer { tokenName } }`, {}, { token: secret }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await server.gql(`{ runs(first: 1) { totalCount } }`, {}, { token: secret }))).toEqual(['UNAUTHENTICATED']);
    const created = await server.gql(`mutation { createRun(input: {projectId: "p", phaseId: "x"}) { run { id } } }`, {}, { token: secret });
    expect(codes(created)).toEqual(['UNAUTHENTICATED']);
    expect(await snapshot()).toEqual(before);
    expect((await connectionInit(server.wsUrl, { authorization: `Bearer ${secret}` })).code).toBe(4403);
  });
});

describe('an expiring token', () => {
  it('works until it expires, then is UNAUTHENTICATED and its subscription stops', async () => {
    const { secret } = await createToken('short-lived', ['READ'], new Date(Date.now() + 1_500).toISOString());
    expect((await server.gql(`{ viewer { tokenName } }`, {}, { token: secret })).data).toEqual({ viewer: { tokenName: 'short-lived' } });
    const runId = await createRun(server);
    const streams = server.engine.openStreams();
    const client = server.wsClient({ token: secret });
    const sub = subscribe(client, `subscription($runId: ID) { runEvents(runId: $runId) { kind } }`, { runId });
    await until(() => server.engine.openStreams() > streams, 'the stream to open');
    await sleep(1_700);
    await addNote(runId, 'after expiry');
    await expect(sub.done).rejects.toMatchObject({ code: 4403 });
    expect(sub.results).toEqual([]);
    expect(codes(await server.gql(`{ viewer { tokenName } }`, {}, { token: secret }))).toEqual(['UNAUTHENTICATED']);
    expect((await connectionInit(server.wsUrl, { authorization: `Bearer ${secret}` })).code).toBe(4403);
    await client.dispose();
  });

  it('cannot be created already expired', async () => {
    const res = await server.gql(`mutation($at: DateTime) { createApiToken(input: {name: "past", scopes: [READ], expiresAt: $at}) { token } }`, {
      at: new Date(Date.now() - 1_000).toISOString(),
    });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('token secrets', () => {
  it('shows the secret once: not listed, not stored', async () => {
    const { secret, id } = await createToken('secret-once', ['READ']);
    expect(secret).toMatch(/^uet_/);
    const fields = Object.keys((schema.getType('ApiToken') as GraphQLObjectType).getFields());
    expect(fields.filter((f) => /secret|hash|token/i.test(f))).toEqual([]);
    const listed = await server.gql(`{ apiTokens(first: 100) { edges { node { id name scopes createdAt expiresAt revokedAt lastUsedAt } } } }`);
    expect(listed.errors).toBeUndefined();
    const node = listed.data.apiTokens.edges.map((e: any) => e.node).find((n: any) => n.id === id);
    expect(node).toMatchObject({ name: 'secret-once', scopes: ['READ'], revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(secret);
    const row = (await server.engine.orm.em.fork().findOne(ApiTokenSchema, { name: 'secret-once' }))!;
    expect(row.secretHash).not.toBe(secret);
    expect(row.secretHash).not.toContain(secret.slice(4));
    expect(row.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret.slice(4));
  });
});

describe("a worker token and another token's worker", () => {
  const WORKER_CALLS = {
    heartbeat: `mutation($w: ID!) { heartbeat(input: {workerId: $w}) { worker { id } } }`,
    claimTask: `mutation($w: ID!) { claimTask(input: {workerId: $w}) { task { id } } }`,
    completeTask: `mutation($w: ID!) { completeTask(input: {workerId: $w, success: true}) { task { id } } }`,
    pauseWorker: `mutation($w: ID!) { pauseWorker(input: {id: $w}) { worker { state } } }`,
    shutdownWorker: `mutation($w: ID!) { shutdownWorker(input: {id: $w}) { worker { state } } }`,
    crashWorker: `mutation($w: ID!) { crashWorker(input: {id: $w, errorMessage: "x"}) { worker { state } } }`,
  };
  let owner: string;
  let intruder: string;
  let workerId: string;

  beforeAll(async () => {
    owner = (await createToken('worker-owner', ['WORKER'])).secret;
    intruder = (await createToken('worker-intruder', ['WORKER', 'READ'])).secret;
    const res = await server.gql(`mutation { registerWorker(input: {type: VALIDATOR}) { worker { id } } }`, {}, { token: owner });
    workerId = res.data.registerWorker.worker.id;
    // A task it holds, so that completing and claiming would change something.
    const { createTask } = await admin(`mutation { createTask(input: {kind: "owned"}) { task { id } } }`);
    await admin(`mutation($w: ID!, $t: ID!) { assignTask(input: {workerId: $w, taskId: $t}) { task { id } } }`, { w: workerId, t: createTask.task.id });
    await admin(`mutation { createTask(input: {kind: "owned"}) { task { id } } }`);
  });

  it.each(Object.entries(WORKER_CALLS))('%s over HTTP is FORBIDDEN and writes nothing', async (_field, call) => {
    const before = await snapshot();
    const res = await server.gql(call, { w: workerId }, { token: intruder });
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(res.errors?.[0]?.message).toContain('did not register');
    expect(await snapshot()).toEqual(before);
  });

  it('a heartbeat over graphql-ws is FORBIDDEN too, and the socket stays usable', async () => {
    const before = await snapshot();
    const client = server.wsClient({ token: intruder });
    const refused = subscribe(client, WORKER_CALLS.heartbeat, { w: workerId });
    await refused.done;
    expect(refused.results.map(codes)).toEqual([['FORBIDDEN']]);
    const viewer = subscribe(client, `{ viewer { tokenName } }`);
    await viewer.done;
    expect(viewer.results[0]?.data).toEqual({ viewer: { tokenName: 'worker-intruder' } });
    expect(await snapshot()).toEqual(before);
    await client.dispose();
  });

  it('the token that registered it may act for it (control)', async () => {
    const res = await server.gql(WORKER_CALLS.heartbeat, { w: workerId }, { token: owner });
    expect(res.errors).toBeUndefined();
    const done = await server.gql(WORKER_CALLS.completeTask, { w: workerId }, { token: owner });
    expect(done.errors).toBeUndefined();
    expect(done.data.completeTask.task.id).toBeTruthy();
  });

  it('an operator may steer any worker, but not heartbeat or claim for it', async () => {
    const { secret: operator } = await createToken('fleet-operator', ['OPERATE']);
    expect(codes(await server.gql(WORKER_CALLS.heartbeat, { w: workerId }, { token: operator }))).toEqual(['FORBIDDEN']);
    expect(codes(await server.gql(WORKER_CALLS.claimTask, { w: workerId }, { token: operator }))).toEqual(['FORBIDDEN']);
    const paused = await server.gql(WORKER_CALLS.pauseWorker, { w: workerId }, { token: operator });
    expect(paused.data?.pauseWorker.worker.state).toBe('PAUSED');
  });
});

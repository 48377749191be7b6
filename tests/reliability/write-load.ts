import { ADMIN_SECRET } from './child-gateway.js';

/**
 * A mixed write load (runs, steps, tasks, workers, heartbeats, patches,
 * costs) from concurrent clients, and the record of what each request got:
 * the model of every acknowledged write that the audit (db-audit.ts) checks
 * the database against after a restart.
 */

/** A deterministic PRNG (mulberry32), so that a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Outcome =
  | { kind: 'ok'; data: any }
  /** An answer that is not a success: GraphQL errors, or a non-JSON / non-2xx response. */
  | { kind: 'error'; detail: string }
  /** The connection was refused: the request never reached the server. */
  | { kind: 'refused'; detail: string }
  /** The connection closed before the whole answer arrived: it may or may not have been applied. */
  | { kind: 'dropped'; detail: string }
  /** No answer within the client's timeout: a hang. */
  | { kind: 'timeout'; detail: string };

const REQUEST_TIMEOUT_MS = 60_000;

/** One GraphQL POST, classified. */
export async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Outcome> {
  let text: string;
  let status: number;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        authorization: `Bearer ${ADMIN_SECRET}`,
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    status = res.status;
    text = await res.text();
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return { kind: 'timeout', detail: err.message };
    const code = err.cause?.code ?? '';
    const detail = `${err.message}: ${code} ${err.cause?.message ?? ''}`.trim();
    return code === 'ECONNREFUSED' ? { kind: 'refused', detail } : { kind: 'dropped', detail };
  }
  let body: { data?: any; errors?: unknown[] };
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'error', detail: `HTTP ${status}: ${text.slice(0, 300)}` };
  }
  if (status !== 200 || body.errors || !body.data) return { kind: 'error', detail: `HTTP ${status}: ${text.slice(0, 500)}` };
  return { kind: 'ok', data: body.data };
}

/** The database id inside a global id (base64url of "Type:id"). */
export function rawId(globalId: string): string {
  const text = Buffer.from(globalId, 'base64url').toString('utf8');
  return text.slice(text.indexOf(':') + 1);
}

export type EntityKind = 'run' | 'step' | 'task' | 'worker' | 'ledger';

/** One write to an entity: the states it may leave it in (exactly one once acknowledged). */
export interface ModelWrite {
  op: string;
  states: string[];
  acked: boolean;
}

export interface ModelEntity {
  kind: EntityKind;
  id: string;
  writes: ModelWrite[];
}

export type CreatedKind = 'run' | 'step' | 'task' | 'worker' | 'patch' | 'cost';

/** What the clients were told, and what may have happened without their knowing. */
export class WriteModel {
  readonly entities = new Map<string, ModelEntity>();
  /** Rows created: acknowledged, and sent without an answer (that may exist). */
  readonly created: Record<CreatedKind, { acked: number; unknown: number }> = {
    run: { acked: 0, unknown: 0 },
    step: { acked: 0, unknown: 0 },
    task: { acked: 0, unknown: 0 },
    worker: { acked: 0, unknown: 0 },
    patch: { acked: 0, unknown: 0 },
    cost: { acked: 0, unknown: 0 },
  };
  /** Acknowledged costs: id -> amount in nano-units. */
  readonly costs = new Map<string, bigint>();
  /** Acknowledged patches: ledger id -> patch id and files. */
  readonly patches = new Map<string, { patchId: string; files: string[] }>();
  /**
   * Acknowledged heartbeats: the server's lastHeartbeat, when the answer
   * arrived, and (once the gateway that took it has ended) whether it must
   * be stored or fell in the flush window that a crash may lose.
   */
  readonly heartbeats: { workerId: string; at: number; ackedAt: number; mustBeStored?: boolean }[] = [];
  readonly stepsOfRun = new Map<string, string[]>();
  readonly tasksOfRun = new Map<string, string[]>();
  /** Requests by outcome. */
  readonly outcomes = { ok: 0, error: 0, refused: 0, dropped: 0, timeout: 0 };
  /** Acknowledged writes by mutation. */
  readonly ackedByOp: Record<string, number> = {};
  /** Answers that were neither a success nor a closed connection. */
  readonly unclean: string[] = [];
  /** When the last success arrived (Date.now()). */
  lastAckAt = 0;

  get acked(): number {
    return this.outcomes.ok;
  }

  entity(kind: EntityKind, id: string): ModelEntity {
    const key = `${kind}:${id}`;
    let entity = this.entities.get(key);
    if (!entity) this.entities.set(key, (entity = { kind, id, writes: [] }));
    return entity;
  }

  write(kind: EntityKind, id: string, op: string, states: string[], acked: boolean): void {
    this.entity(kind, id).writes.push({ op, states, acked });
  }

  /** The entity's state as far as the model knows (exact while its writes were all acknowledged). */
  state(kind: EntityKind, id: string): string | null {
    const writes = this.entities.get(`${kind}:${id}`)?.writes ?? [];
    const last = writes.at(-1);
    return last && last.acked ? (last.states[0] ?? null) : null;
  }

  /**
   * The gateway that took the heartbeats so far has ended: those answered at
   * or before `durableBefore` (Date.now() clock) must be stored, later ones
   * may be lost.
   */
  gatewayEnded(durableBefore: number): void {
    for (const beat of this.heartbeats) beat.mustBeStored ??= beat.ackedAt <= durableBefore;
  }

  /** Records an outcome; true for a success. */
  count(op: string, outcome: Outcome): outcome is Extract<Outcome, { kind: 'ok' }> {
    this.outcomes[outcome.kind] += 1;
    if (outcome.kind === 'ok') {
      this.ackedByOp[op] = (this.ackedByOp[op] ?? 0) + 1;
      this.lastAckAt = Date.now();
    }
    if (outcome.kind === 'error' || outcome.kind === 'timeout') this.unclean.push(`${op}: ${outcome.kind}: ${outcome.detail}`);
    return outcome.kind === 'ok';
  }

  /** A create without an answer: a row that may exist (a refused connection never reached the server). */
  maybeCreated(kind: CreatedKind, outcome: Outcome): void {
    if (outcome.kind !== 'refused') this.created[kind].unknown += 1;
  }
}

/** A request that did not succeed ends the client (the gateway is going away). */
class Halt extends Error {}

const lower = (state: string) => state.toLowerCase();

const RESOURCE_SCOPE = { read: ['**'], write: ['src/**'], create: ['src/**'], forbidden: ['secrets/**'] };

export const PROJECT = 'reliability';

function diffFor(path: string): string {
  return `diff --git a/${path} b/${path}\n--- a/${path}\n+++ b/${path}\n@@ -1 +1 @@\n-old\n+new\n`;
}

function decimal(nanos: bigint): string {
  const whole = nanos / 1_000_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${whole}.${fraction}`;
}

/** Sets a NOTIFY project budget (never crossed) so that every cost also moves a counter: budget.spent. */
export async function setProjectBudget(url: string, model: WriteModel): Promise<void> {
  const outcome = await post(url, `mutation($input: SetBudgetInput!) { setBudget(input: $input) { budget { id } } }`, {
    input: { scope: 'PROJECT', projectId: PROJECT, currency: 'USD', limit: '900000000', thresholds: [100], action: 'NOTIFY' },
  });
  if (!model.count('setBudget', outcome)) throw new Error(`setBudget: ${JSON.stringify(outcome)}`);
}

export interface LoadOptions {
  clients: number;
  /** Clients that only heartbeat a worker of their own, back to back (a fleet's hot path). */
  heartbeaters?: number;
  rng: () => number;
}

/**
 * Runs `clients` concurrent clients against one gateway: each registers a
 * worker, then repeats a run's life (create, start, steps, a task claimed
 * and completed by its worker with heartbeats between, a patch created and
 * validated, a cost, the run's end) until `stop()` or its first request that
 * does not succeed. Each client waits for each answer before its next
 * request, so its only unanswered write is its last one.
 */
export class WriteLoad {
  private stopped = false;
  private counter = 0;

  constructor(
    readonly model: WriteModel,
    private readonly options: LoadOptions,
  ) {}

  stop(): void {
    this.stopped = true;
  }

  /** Resolves when every client has ended. */
  async run(url: string): Promise<void> {
    this.stopped = false;
    await Promise.all([
      ...Array.from({ length: this.options.clients }, (_, c) => this.client(url, c)),
      ...Array.from({ length: this.options.heartbeaters ?? 0 }, (_, h) => this.heartbeater(url, this.options.clients + h)),
    ]);
  }

  private async heartbeater(url: string, c: number): Promise<void> {
    const session = new ClientSession(url, c, this.model, this.options.rng, () => ++this.counter);
    try {
      await session.registerWorker();
      while (!this.stopped) {
        await session.heartbeat();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } catch (error) {
      if (!(error instanceof Halt)) throw error;
    }
  }

  private async client(url: string, c: number): Promise<void> {
    const session = new ClientSession(url, c, this.model, this.options.rng, () => ++this.counter);
    try {
      await session.registerWorker();
      while (!this.stopped) await session.iteration();
    } catch (error) {
      if (!(error instanceof Halt)) throw error;
    }
  }
}

class ClientSession {
  private workerId = '';
  private readonly kind: string;

  constructor(
    private readonly url: string,
    private readonly c: number,
    private readonly model: WriteModel,
    private readonly rng: () => number,
    private readonly next: () => number,
  ) {
    this.kind = `reliability-c${c}`;
  }

  private chance(p: number): boolean {
    return this.rng() < p;
  }

  /** Sends a mutation; returns its data, or records the failure and halts the client. */
  private async send(op: string, query: string, variables: Record<string, unknown>, onFailure: (outcome: Outcome) => void): Promise<any> {
    const outcome = await post(this.url, query, variables);
    if (this.model.count(op, outcome)) return outcome.data[op];
    onFailure(outcome);
    throw new Halt(op);
  }

  async registerWorker(): Promise<void> {
    const data = await this.send(
      'registerWorker',
      `mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { worker { id state } } }`,
      { input: { type: 'EXECUTOR', config: { maxParallelTasks: 1, timeoutSeconds: 3600 }, metadata: { client: this.c } } },
      (o) => this.model.maybeCreated('worker', o),
    );
    this.workerId = rawId(data.worker.id);
    this.model.created.worker.acked += 1;
    this.model.write('worker', this.workerId, 'registerWorker', [lower(data.worker.state)], true);
  }

  async heartbeat(): Promise<void> {
    const data = await this.send(
      'heartbeat',
      `mutation($input: HeartbeatInput!) { heartbeat(input: $input) { worker { id lastHeartbeat } } }`,
      { input: { workerId: this.encode('Worker', this.workerId), progress: Math.round(this.rng() * 100) } },
      () => {},
    );
    this.model.heartbeats.push({ workerId: this.workerId, at: Date.parse(data.worker.lastHeartbeat), ackedAt: Date.now() });
  }

  private encode(type: string, id: string): string {
    return Buffer.from(`${type}:${id}`, 'utf8').toString('base64url');
  }

  async iteration(): Promise<void> {
    const model = this.model;
    // A run, started.
    const created = await this.send(
      'createRun',
      `mutation($input: CreateRunInput!) { createRun(input: $input) { run { id state } } }`,
      { input: { projectId: PROJECT, phaseId: 'phase-1', metadata: { client: this.c, resource_scope: RESOURCE_SCOPE } } },
      (o) => model.maybeCreated('run', o),
    );
    const runId = rawId(created.run.id);
    const runGid = created.run.id as string;
    model.created.run.acked += 1;
    model.write('run', runId, 'createRun', [lower(created.run.state)], true);
    model.stepsOfRun.set(runId, []);
    model.tasksOfRun.set(runId, []);
    const started = await this.send('startRun', `mutation($input: StartRunInput!) { startRun(input: $input) { run { id state } } }`, { input: { id: runGid } }, () =>
      model.write('run', runId, 'startRun', ['running'], false),
    );
    model.write('run', runId, 'startRun', [lower(started.run.state)], true);

    // Steps, each ended (sometimes failed: TOOL_CALL_ERROR counts in errors).
    for (let i = 0, n = 1 + Math.floor(this.rng() * 2); i < n; i++) {
      const stepId = await this.startStep(runId, runGid);
      if (this.chance(0.3)) await this.heartbeat();
      const state = this.chance(0.2) ? 'FAILED' : 'SUCCEEDED';
      const done = await this.send(
        'completeStep',
        `mutation($input: CompleteStepInput!) { completeStep(input: $input) { step { id state } } }`,
        { input: { id: this.encode('StepAttempt', stepId), state, exitCode: state === 'FAILED' ? 1 : 0 } },
        () => model.write('step', stepId, 'completeStep', [lower(state)], false),
      );
      model.write('step', stepId, 'completeStep', [lower(done.step.state)], true);
    }

    // A task of the run: claimed and completed by this client's worker (a failure is retried once).
    const taskId = await this.createTask(runId, runGid);
    for (let attempt = 0; attempt < 2 && model.state('task', taskId) === 'pending'; attempt++) {
      const claimed = await this.send(
        'claimTask',
        `mutation($input: ClaimTaskInput!) { claimTask(input: $input) { task { id state } worker { id state } } }`,
        { input: { workerId: this.encode('Worker', this.workerId), kinds: [this.kind], runId: runGid } },
        () => {
          for (const id of model.tasksOfRun.get(runId)!) if (model.state('task', id) === 'pending') model.write('task', id, 'claimTask', ['running'], false);
          model.write('worker', this.workerId, 'claimTask', ['busy'], false);
        },
      );
      if (!claimed.task) throw new Error(`claimTask found no task of run ${runId}, though task ${taskId} is pending`);
      const claimedId = rawId(claimed.task.id);
      model.write('task', claimedId, 'claimTask', [lower(claimed.task.state)], true);
      model.write('worker', this.workerId, 'claimTask', [lower(claimed.worker.state)], true);
      await this.heartbeat();
      const success = attempt === 1 || this.chance(0.75);
      const completed = await this.send(
        'completeTask',
        `mutation($input: CompleteTaskInput!) { completeTask(input: $input) { task { id state } worker { id state } } }`,
        { input: { workerId: this.encode('Worker', this.workerId), taskId: claimed.task.id, success, ...(success ? { result: { ok: true } } : { error: 'tests failed' }) } },
        () => {
          model.write('task', claimedId, 'completeTask', success ? ['completed'] : ['pending', 'failed'], false);
          model.write('worker', this.workerId, 'completeTask', ['idle', 'busy'], false);
        },
      );
      model.write('task', claimedId, 'completeTask', [lower(completed.task.state)], true);
      model.write('worker', this.workerId, 'completeTask', [lower(completed.worker.state)], true);
    }

    // A patch, validated (one touching secrets/ fails the run's resource scope: APPLY_FAILED, an error event).
    const n = this.next();
    const path = this.chance(0.2) ? `secrets/c${this.c}-${n}.txt` : `src/c${this.c}/f${n}.ts`;
    const patch = await this.send(
      'createPatch',
      `mutation($input: CreatePatchInput!) { createPatch(input: $input) { patch { id } ledgerEntry { id state } } }`,
      { input: { projectId: PROJECT, runId: runGid, targetRepo: 'git@example.com:demo.git', summary: `change ${n}`, diffText: diffFor(path) } },
      (o) => model.maybeCreated('patch', o),
    );
    const ledgerId = rawId(patch.ledgerEntry.id);
    model.created.patch.acked += 1;
    model.patches.set(ledgerId, { patchId: rawId(patch.patch.id), files: [path] });
    model.write('ledger', ledgerId, 'createPatch', [lower(patch.ledgerEntry.state)], true);
    const validated = await this.send(
      'validatePatch',
      `mutation($input: ValidatePatchInput!) { validatePatch(input: $input) { ledgerEntry { id state } } }`,
      { input: { ledgerId: patch.ledgerEntry.id } },
      () => model.write('ledger', ledgerId, 'validatePatch', ['validated', 'apply_failed'], false),
    );
    model.write('ledger', ledgerId, 'validatePatch', [lower(validated.ledgerEntry.state)], true);

    // A cost of the run (it also moves the project budget's spend).
    const nanos = BigInt(1 + Math.floor(this.rng() * 5_000_000_000));
    const cost = await this.send(
      'recordCost',
      `mutation($input: RecordCostInput!) { recordCost(input: $input) { cost { id amount } } }`,
      { input: { runId: runGid, resourceType: 'API_CALL', currency: 'USD', amount: decimal(nanos), metadata: { model: 'model-x' } } },
      (o) => model.maybeCreated('cost', o),
    );
    model.created.cost.acked += 1;
    model.costs.set(rawId(cost.cost.id), nanos);

    // Sometimes a step left running and a task left pending: ending the run cancels and skips them.
    if (this.chance(0.3)) await this.startStep(runId, runGid);
    if (this.chance(0.3)) await this.createTask(runId, runGid);
    if (this.chance(0.1)) return; // the run stays RUNNING
    const end = this.chance(0.25) ? 'FAILED' : 'SUCCEEDED';
    const cascade = (acked: boolean) => {
      for (const id of model.stepsOfRun.get(runId)!) if (model.state('step', id) === 'running') model.write('step', id, 'completeRun', ['canceled'], acked);
      for (const id of model.tasksOfRun.get(runId)!) if (model.state('task', id) === 'pending') model.write('task', id, 'completeRun', ['skipped'], acked);
    };
    const ended = await this.send(
      'completeRun',
      `mutation($input: CompleteRunInput!) { completeRun(input: $input) { run { id state } } }`,
      { input: { id: runGid, state: end, exitCode: end === 'FAILED' ? 1 : 0 } },
      () => {
        model.write('run', runId, 'completeRun', [lower(end)], false);
        cascade(false);
      },
    );
    model.write('run', runId, 'completeRun', [lower(ended.run.state)], true);
    cascade(true);
  }

  private async startStep(runId: string, runGid: string): Promise<string> {
    const data = await this.send(
      'startStep',
      `mutation($input: StartStepInput!) { startStep(input: $input) { step { id state sequence } } }`,
      { input: { runId: runGid, toolId: 'aider', inputPrompt: 'fix the test' } },
      (o) => this.model.maybeCreated('step', o),
    );
    const stepId = rawId(data.step.id);
    this.model.created.step.acked += 1;
    this.model.stepsOfRun.get(runId)!.push(stepId);
    this.model.write('step', stepId, 'startStep', [lower(data.step.state)], true);
    return stepId;
  }

  private async createTask(runId: string, runGid: string): Promise<string> {
    const data = await this.send(
      'createTask',
      `mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id state } } }`,
      { input: { kind: this.kind, runId: runGid, maxAttempts: 2, payload: { client: this.c } } },
      (o) => this.model.maybeCreated('task', o),
    );
    const taskId = rawId(data.task.id);
    this.model.created.task.acked += 1;
    this.model.tasksOfRun.get(runId)!.push(taskId);
    this.model.write('task', taskId, 'createTask', [lower(data.task.state)], true);
    return taskId;
  }
}

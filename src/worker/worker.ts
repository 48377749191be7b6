import { ClaimTask, Heartbeat, HeldTasks, RegisterWorker, RunState, RunStateChanged, ShutdownWorker, WorkerStateChanged } from './documents.js';
import { Gateway, GatewayError, ReplyLost } from './gateway.js';
import { cleanUpLeftovers } from './leftovers.js';
import { TaskRun, type StopReason, type WorkerTask } from './task-run.js';

export interface WorkerOptions {
  /** The gateway's GraphQL endpoint (http://host:port/graphql). */
  url: string;
  token: string;
  /** Tool ids it runs; empty: any. */
  tools: string[];
  /** Tasks at once. */
  slots: number;
  workdirRoot: string;
  repo: string | null;
  heartbeatSeconds: number;
  /** How long without a beat before the gateway judges the worker stale. */
  timeoutSeconds: number;
  graceSeconds: number;
  pollSeconds: number;
  /** One line on stderr. */
  say: (line: string) => void;
}

/** What the worker does: claim, sit paused, re-register after the gateway judged it crashed, or stop. */
type Mode = 'claiming' | 'paused' | 'registering' | 'stopping';

interface Running {
  run: TaskRun;
  done: Promise<void>;
}

/** How long the goodbye (completing steps, shutdownWorker) may wait for an unreachable gateway after the tools stopped. */
const GOODBYE_MS = 15_000;
const ENDED_RUN_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'QUARANTINED']);

/**
 * The worker process: registers, beats, claims tasks while it has free
 * slots, and runs each (TaskRun); follows its own state (pause, shutdown,
 * crash) and each running task's run (cancel) over the one connection.
 * run() resolves to the process's exit code.
 */
export class Worker {
  private readonly gateway: Gateway;
  private workerId = '';
  private mode: Mode = 'registering';
  private readonly running = new Map<string, Running>();
  private wakeClaims: () => void = () => {};
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private beating = false;
  private unsubscribeState: () => void = () => {};
  private finish: (code: number) => void = () => {};
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));

  constructor(private readonly options: WorkerOptions) {
    this.gateway = new Gateway({ url: options.url, token: options.token, say: options.say });
  }

  async run(): Promise<number> {
    void this.gateway.refused.then((refusal) => this.end(1, `error: ${refusal.message}`));
    this.gateway.onReconnect(() => void this.afterReconnect());
    // Before claiming: a predecessor killed on this root may have left a tool running and its folders.
    await cleanUpLeftovers(this.options.workdirRoot, this.options.say);
    try {
      // A refused connection ends the worker while the registration may still wait for an answer.
      if ((await Promise.race([this.register(), this.finished.then(() => 'ended' as const)])) === 'ended') return this.finished;
    } catch (error) {
      if (this.mode !== 'stopping') await this.end(1, `error: could not register: ${error instanceof Error ? error.message : String(error)}`);
      return this.finished;
    }
    this.heartbeatTimer = setInterval(() => void this.beat(), this.options.heartbeatSeconds * 1000);
    void this.claimLoop();
    return this.finished;
  }

  /** SIGTERM or SIGINT: stop claiming, stop the tools, hand the tasks back (shutdownWorker), exit 0. A second signal kills the tools at once. */
  stop(signal: string): void {
    if (this.mode === 'stopping') {
      this.options.say(`${signal} again: killing the tools now`);
      for (const { run } of this.running.values()) run.kill();
      return;
    }
    this.options.say(`${signal}: stopping ${this.running.size} tool${this.running.size === 1 ? '' : 's'}, then shutting down`);
    void this.shutdown();
  }

  private async register(): Promise<void> {
    this.mode = 'registering';
    const { options } = this;
    for (;;) {
      try {
        const { registerWorker } = await this.gateway.request(
          RegisterWorker,
          {
            tools: options.tools.length ? options.tools : null,
            config: { maxParallelTasks: options.slots, heartbeatInterval: options.heartbeatSeconds, timeoutSeconds: options.timeoutSeconds },
            metadata: { pid: process.pid, slots: options.slots },
          },
          'once',
        );
        this.workerId = registerWorker!.worker.id;
        break;
      } catch (error) {
        // A registration whose answer was lost leaves an idle worker the reaper ends; registering again is safe.
        if (!(error instanceof ReplyLost) || this.stopping()) throw error;
      }
    }
    options.say(`worker ${this.workerId} registered (tools: ${options.tools.length ? options.tools.join(', ') : 'any'}; slots: ${options.slots})`);
    const workerId = this.workerId;
    this.unsubscribeState();
    this.unsubscribeState = this.gateway.subscribe(
      WorkerStateChanged,
      { workerId },
      (data) => void this.onState(workerId, data.workerStateChanged.to, data.workerStateChanged.reason),
      (error) => options.say(`workerStateChanged refused: ${error.message}`),
    );
    this.mode = 'claiming';
    this.wakeClaims();
  }

  /** The worker's state as the gateway says it (a state change, a heartbeat's reply). */
  private async onState(workerId: string, state: string, reason: string): Promise<void> {
    if (workerId !== this.workerId || this.mode === 'stopping') return;
    if (state === 'PAUSED' && this.mode === 'claiming') {
      this.mode = 'paused';
      this.options.say(`worker ${workerId} paused (${reason}): stopping ${this.running.size} tool${this.running.size === 1 ? '' : 's'}, claiming nothing until resumed`);
      await this.stopAll('taken-back');
    } else if ((state === 'IDLE' || state === 'BUSY') && this.mode === 'paused') {
      this.mode = 'claiming';
      this.options.say(`worker ${workerId} resumed`);
      this.wakeClaims();
    } else if (state === 'STOPPED') {
      this.mode = 'stopping';
      this.options.say(`worker ${workerId} shut down by the gateway (${reason}): stopping its tools`);
      await this.stopAll('taken-back');
      await this.end(0, `worker ${workerId} stopped`);
    } else if (state === 'CRASHED' && this.mode !== 'registering') {
      this.mode = 'registering';
      this.options.say(`the gateway judged worker ${workerId} crashed (${reason}): its tasks were requeued; stopping its tools and registering anew`);
      await this.stopAll('taken-back');
      try {
        await this.register();
      } catch (error) {
        await this.end(1, `error: could not register again: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private async beat(): Promise<void> {
    if (this.beating || this.mode === 'stopping' || this.mode === 'registering') return;
    this.beating = true;
    const workerId = this.workerId;
    try {
      const { heartbeat } = await this.gateway.request(Heartbeat, { workerId }, 'resend');
      await this.onState(workerId, heartbeat!.worker.state, 'heartbeat reply');
    } catch (error) {
      const state = error instanceof GatewayError && error.code === 'INVALID_TRANSITION' ? error.extensions.currentState : undefined;
      // STOPPED or CRASHED, as the refusal says.
      if (typeof state === 'string') await this.onState(workerId, state, 'heartbeat refused');
      else this.options.say(`heartbeat failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.beating = false;
    }
  }

  /** Claims while there is a free slot; waits --poll-seconds when nothing is queued, and not at all after a task ends. */
  private async claimLoop(): Promise<void> {
    while (this.mode !== 'stopping') {
      if (this.mode !== 'claiming' || this.running.size >= this.options.slots) {
        await this.idle(null);
        continue;
      }
      const workerId = this.workerId;
      let task: WorkerTask | null = null;
      try {
        task = (await this.gateway.request(ClaimTask, { workerId }, 'once')).claimTask?.task ?? null;
      } catch (error) {
        if (error instanceof ReplyLost) await this.adoptHeldTasks(workerId);
        else if (error instanceof GatewayError && error.code === 'INVALID_TRANSITION' && typeof error.extensions.currentState === 'string') {
          await this.onState(workerId, error.extensions.currentState, 'claim refused');
        } else this.options.say(`claimTask failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (task && workerId === this.workerId && this.mode === 'claiming') this.start(task);
      else if (!task) await this.idle(this.options.pollSeconds * 1000);
    }
  }

  /** Waits until woken (a task ended, the worker resumed) or `ms` passed. */
  private idle(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === null ? null : setTimeout(done, ms);
      function done() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      this.wakeClaims = done;
    });
  }

  /** A claim whose answer was lost may have leased a task: the gateway's list of the worker's held tasks says which, and it is run. */
  private async adoptHeldTasks(workerId: string): Promise<void> {
    const held = await this.gateway.request(HeldTasks, { workerId }, 'resend').catch((error: Error) => {
      this.options.say(`the answer to a claim was lost, and the held tasks cannot be read (${error.message}): a task it leased waits until the gateway requeues it`);
      return null;
    });
    if (!held) return;
    const { tasks } = held;
    for (const { node } of tasks.edges) {
      if (this.running.has(node.id) || workerId !== this.workerId) continue;
      this.options.say(`task ${node.id}: the answer to its claim was lost; running it`);
      this.start(node);
    }
  }

  private start(task: WorkerTask): void {
    const { options } = this;
    options.say(`task ${task.id} claimed: ${task.toolId ?? `no tool (kind ${task.kind})`}`);
    const run = new TaskRun(this.gateway, task, { workerId: this.workerId, workdirRoot: options.workdirRoot, repo: options.repo, graceMs: options.graceSeconds * 1000, say: options.say });
    const runId = run.runId;
    const unsubscribe = runId
      ? this.gateway.subscribe(
          RunStateChanged,
          { runId },
          (data) => this.onRunState(run, data.runStateChanged.state),
          (error) => options.say(`task ${task.id}: runStateChanged refused: ${error.message}`),
        )
      : () => {};
    // A run that ended between the claim and the subscription's start.
    if (task.run) this.onRunState(run, task.run.state);
    const done = run.run().finally(() => {
      unsubscribe();
      this.running.delete(task.id);
      this.wakeClaims();
    });
    this.running.set(task.id, { run, done });
  }

  private onRunState(run: TaskRun, state: string): void {
    if (ENDED_RUN_STATES.has(state)) void run.stop('canceled');
  }

  /** The run's state read again; if the read fails, the step's refused appends say the run ended. */
  private async checkRun(run: TaskRun): Promise<void> {
    const answer = await this.gateway.request(RunState, { id: run.runId! }, 'resend').catch(() => null);
    if (answer?.run) this.onRunState(run, answer.run.state);
  }

  /** Events sent while the connection was down are lost: read the worker's and each run's state again. */
  private async afterReconnect(): Promise<void> {
    await this.beat();
    for (const { run } of this.running.values()) if (run.runId) void this.checkRun(run);
  }

  private async stopAll(reason: StopReason): Promise<void> {
    const all = [...this.running.values()];
    await Promise.all(all.map(({ run }) => run.stop(reason)));
    await Promise.all(all.map(({ done }) => done));
  }

  private async shutdown(): Promise<void> {
    const previous = this.mode;
    this.mode = 'stopping';
    this.wakeClaims();
    await Promise.all([...this.running.values()].map(({ run }) => run.stop('worker-stopping')));
    if (previous === 'registering' && !this.workerId) return this.end(0, 'stopped before registering');
    const goodbye = (async () => {
      await Promise.all([...this.running.values()].map(({ done }) => done));
      await this.gateway.request(ShutdownWorker, { id: this.workerId }, 'resend');
    })();
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, GOODBYE_MS, 'timeout').unref());
    try {
      if ((await Promise.race([goodbye, timeout])) === 'timeout') {
        return this.end(1, `error: the gateway did not answer within ${GOODBYE_MS / 1000} s; it requeues this worker's tasks once it judges it stale (--timeout-seconds)`);
      }
    } catch (error) {
      // Already stopped or crashed for the gateway: its tasks were handed back.
      if (!(error instanceof GatewayError && error.code === 'INVALID_TRANSITION')) return this.end(1, `error: shutdownWorker failed: ${(error as Error).message}`);
    }
    await this.end(0, `worker ${this.workerId} shut down`);
  }

  /** Read through a call: TypeScript would narrow the field across the awaits that change it. */
  private stopping(): boolean {
    return this.mode === 'stopping';
  }

  private async end(code: number, line: string): Promise<void> {
    this.mode = 'stopping';
    this.wakeClaims();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    // A detached tool would outlive the worker: none is left running.
    await Promise.all([...this.running.values()].map(({ run }) => run.stop('worker-stopping')));
    this.unsubscribeState();
    this.options.say(line);
    await this.gateway.close().catch(() => {});
    this.finish(code);
  }
}

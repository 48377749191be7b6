import { commandArgv } from './command-line.js';
import { CostLineReader } from './cost-lines.js';
import { CompleteStep, CompleteTask, StartStep, Tools, type ClaimTask } from './documents.js';
import { GatewayError, type Gateway } from './gateway.js';
import type { ResultOf } from './graphql.js';
import { readJUnitReport, type JUnitResults } from './junit-report.js';
import { MAX_DIFF_BYTES, refusalText, reportChanges, reportCost, reportTests, type Attempt } from './reports.js';
import { StepLogSender } from './step-log.js';
import { taskInputs, toolEnv } from './tool-env.js';
import { ToolProcess, type ToolExit } from './tool-process.js';
import { recordTool } from './leftovers.js';
import { makeWorkdir, workdirChanges, type Workdir } from './workdir.js';

export type WorkerTask = NonNullable<NonNullable<ResultOf<typeof ClaimTask>['claimTask']>['task']>;

export interface TaskSettings {
  workerId: string;
  /** Where task folders are made. */
  workdirRoot: string;
  /** The repository each task folder is cloned from, or null for an empty folder. */
  repo: string | null;
  /** SIGTERM -> SIGKILL. */
  graceMs: number;
  say: (line: string) => void;
}

/**
 * Why the worker stopped a tool: its time ran out; its run was canceled
 * (the task fails "canceled"); the gateway took the task back (the worker
 * was paused, shut down or judged crashed: the task is no longer the
 * worker's to complete); the worker itself is stopping (SIGTERM: shutdownWorker
 * hands the task back afterwards).
 */
/** 'taken-back': the gateway handed the task back, and ended the attempt's step with it (CANCELED): nothing to report. */
export type StopReason = 'timeout' | 'canceled' | 'taken-back' | 'worker-stopping';

/** A failure of the task the worker says on the task, as its error. */
class TaskFailure extends Error {}

/** What completeTask's result holds. */
interface TaskResult {
  exit_code: number | null;
  signal: string | null;
  timed_out: boolean;
  log_bytes: number;
  gate_id: string | null;
  patch_ids: string[];
}

/**
 * One claimed task, from start to completeTask: the tool looked up, a fresh
 * folder, a step whose log streams the tool's output, the tool run with its
 * timeout, the reports (costs as they come, then tests and changes), then
 * completeStep and completeTask. Every failure is said on the task; run()
 * never throws.
 */
export class TaskRun {
  private tool: ToolProcess | null = null;
  private stopReason: StopReason | null = null;
  private stopped: Promise<void> | null = null;
  private readonly started = Date.now();
  /** Notes for the step's errorLog and the task's error (a skipped cost line, a report refused). */
  private readonly notes: string[] = [];

  constructor(
    private readonly gateway: Gateway,
    readonly task: WorkerTask,
    private readonly settings: TaskSettings,
  ) {}

  get runId(): string | null {
    return this.task.run?.id ?? null;
  }

  /** Stops the tool (SIGTERM to its group, SIGKILL after the grace) for `reason`; the first reason is the one that counts. */
  stop(reason: StopReason): Promise<void> {
    this.stopReason ??= reason;
    this.stopped ??= this.tool ? this.tool.stop(this.settings.graceMs) : Promise.resolve();
    return this.stopped;
  }

  /** Kills the tool's group at once (a second signal to the worker). */
  kill(): void {
    this.tool?.kill();
  }

  async run(): Promise<void> {
    const { task, settings } = this;
    const result: TaskResult = { exit_code: null, signal: null, timed_out: false, log_bytes: 0, gate_id: null, patch_ids: [] };
    let workdir: Workdir | null = null;
    let stepId: string | null = null;
    let log: StepLogSender | null = null;
    let outcome: { success: boolean; error: string | null };
    try {
      if (!task.toolId) throw new TaskFailure(`task ${task.id} names no tool (kind "${task.kind}" was not routed to one): this worker runs tools only`);
      const { tools } = await this.gateway.request(Tools, {}, 'resend');
      const tool = tools.find((t) => t.id === task.toolId);
      if (!tool) throw new TaskFailure(`tool "${task.toolId}" is not in the router configuration (tools: ${tools.map((t) => t.id).join(', ') || 'none'})`);
      const inputs = failing("the task's inputs", () => taskInputs(task.payload));
      const argv = [...failing("the tool's command", () => commandArgv(tool.command)), ...inputs.args];
      const timeoutSeconds = Math.min(task.timeoutSeconds ?? Infinity, tool.limits.timeoutSeconds);
      workdir = await makeWorkdir(settings.workdirRoot, task.id, settings.repo).catch((error: Error) => {
        throw new TaskFailure(`could not make the task's folder: ${error.message}`);
      });
      const attempt = this.attempt(tool.id, tool.command);
      if (attempt) {
        const { startStep } = await this.gateway.request(StartStep, { runId: attempt.runId, toolId: tool.id, executionRequestId: attempt.executionRequestId }, 'once').catch((error: unknown) => {
          throw new TaskFailure(refusalText('startStep', error));
        });
        stepId = startStep!.step.id;
        // An append refused because the step ended means its run ended: a cancel this worker may have missed while disconnected.
        log = new StepLogSender(this.gateway, stepId, settings.say, () => void this.stop('canceled'));
      } else this.notes.push('the task has no run: its output is not kept and nothing is reported');
      if (this.stopReason) throw new TaskFailure(this.stopReason === 'canceled' ? 'canceled' : 'stopped before the tool started');

      const costs = this.costReader(attempt);
      const uet: Record<string, string> = {
        UET_TASK_ID: task.id,
        UET_WORKDIR: workdir.path,
        UET_JUNIT_FILE: workdir.junitFile,
        UET_COST_FD: '3',
        ...(attempt ? { UET_RUN_ID: attempt.runId } : {}),
        ...(stepId ? { UET_STEP_ID: stepId } : {}),
        ...(attempt?.executionRequestId ? { UET_EXECUTION_REQUEST_ID: attempt.executionRequestId } : {}),
      };
      this.tool = new ToolProcess({
        argv,
        cwd: workdir.path,
        env: toolEnv(process.env, inputs, uet),
        onStdout: (chunk) => log?.write('STDOUT', chunk),
        onStderr: (chunk) => log?.write('STDERR', chunk),
        onCostBytes: (chunk) => costs.reader.push(chunk),
      });
      const timer = setTimeout(() => void this.stop('timeout'), timeoutSeconds * 1000);
      if (this.tool.pid !== undefined) await recordTool(workdir.path, this.tool.pid).catch((error: Error) => settings.say(`task ${task.id}: the tool's record was not written: ${error.message}`));
      let exit: ToolExit;
      try {
        exit = await this.tool.exited;
      } catch (error) {
        throw new TaskFailure(`could not start ${argv[0]}: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
      costs.reader.end();
      Object.assign(result, { exit_code: exit.code, signal: exit.signal, timed_out: this.stopReason === 'timeout' });
      await log?.end();
      result.log_bytes = log?.producedBytes ?? 0;
      if (log?.droppedBytes) this.notes.push(`${log.droppedBytes} bytes of output were dropped while the gateway was unreachable`);
      await costs.recorded();

      if (this.stopReason === 'taken-back' || this.stopReason === 'worker-stopping') {
        if (this.stopReason === 'worker-stopping') await this.endStep(stepId, 'CANCELED', exit.code, [], null);
        settings.say(`task ${task.id} stopped: ${this.stopReason === 'taken-back' ? 'the gateway took it back' : 'the worker is stopping'}`);
        return;
      }
      if (this.stopReason === 'canceled') {
        // The gateway canceled the step with its run.
        outcome = { success: false, error: 'canceled' };
      } else if (this.stopReason === 'timeout') {
        outcome = { success: false, error: `timed out after ${timeoutSeconds} s` };
      } else {
        const tests = attempt ? await this.readTests(workdir) : null;
        if (attempt && tests) result.gate_id = await this.report('the test gate', () => reportTests(this.gateway, attempt, tests, exit.code));
        if (attempt) result.patch_ids = await this.reportPatch(attempt, workdir);
        const success = exit.code === 0 || (exit.code === 1 && tests !== null);
        outcome = { success, error: success ? null : exit.code !== null ? `exit code ${exit.code}` : `killed by ${exit.signal}` };
      }
      if (this.stopReason !== 'canceled') {
        const errorLog = outcome.success ? (this.notes.length ? this.notes.join('\n') : null) : [outcome.error, ...this.notes].join('\n');
        await this.endStep(stepId, outcome.success ? 'SUCCEEDED' : 'FAILED', exit.code, result.patch_ids, errorLog);
      }
    } catch (error) {
      const reason = error instanceof TaskFailure ? error.message : `the worker failed on this task: ${error instanceof Error ? error.message : String(error)}`;
      outcome = { success: false, error: reason };
      log?.abandon('the task failed');
      if (this.stopReason === 'taken-back' || this.stopReason === 'worker-stopping') {
        if (this.stopReason === 'worker-stopping') await this.endStep(stepId, 'CANCELED', null, [], null);
        return void settings.say(`task ${task.id} stopped: ${reason}`);
      }
      if (stepId) await this.endStep(stepId, 'FAILED', result.exit_code, [], [reason, ...this.notes].join('\n'));
    } finally {
      await workdir?.remove().catch((error: Error) => settings.say(`task ${task.id}: could not remove ${workdir!.path}: ${error.message}`));
    }
    await this.complete(outcome, result);
  }

  /** What every report of this attempt names; null for a task without a run (nothing is reported on it). */
  private attempt(toolId: string, command: string): Attempt | null {
    const run = this.task.run;
    if (!run) return null;
    const document = this.task.executionRequest?.document as { request_id?: unknown } | undefined;
    return {
      runId: run.id,
      projectId: run.projectId,
      executionRequestId: typeof document?.request_id === 'string' ? document.request_id : null,
      taskName: this.task.name ?? this.task.kind,
      toolId,
      command,
    };
  }

  /** Cost lines from fd 3, each recorded as it comes, in order. */
  private costReader(attempt: Attempt | null) {
    let chain = Promise.resolve();
    const bad = (why: string) => {
      this.settings.say(`task ${this.task.id}: cost line skipped: ${why}`);
      this.notes.push(`cost line skipped: ${why}`);
    };
    const reader = new CostLineReader((cost) => {
      if (!attempt) return bad('the task has no run to record it on');
      chain = chain.then(() => this.report('a cost', () => reportCost(this.gateway, attempt, cost)).then(() => {}));
    }, bad);
    return { reader, recorded: () => chain };
  }

  private async readTests(workdir: Workdir): Promise<JUnitResults | null> {
    try {
      return await readJUnitReport(workdir.junitFile);
    } catch (error) {
      this.notes.push(`the JUnit report was not read: ${(error as Error).message}`);
      this.settings.say(`task ${this.task.id}: the JUnit report was not read: ${(error as Error).message}`);
      return null;
    }
  }

  private async reportPatch(attempt: Attempt, workdir: Workdir): Promise<string[]> {
    const changes = await workdirChanges(workdir.path, MAX_DIFF_BYTES).catch((error: Error) => {
      this.notes.push(`the changes were not read: ${error.message}`);
      return null;
    });
    if (!changes) return [];
    const patch = await this.report('the patch', () => reportChanges(this.gateway, attempt, changes, this.settings.repo, workdir.path));
    if (!patch) return [];
    if (patch.stoppedAt) {
      this.notes.push(`patch ${patch.patchId}: ${patch.stoppedAt}`);
      this.settings.say(`task ${this.task.id}: patch ${patch.patchId}: ${patch.stoppedAt}`);
    }
    return [patch.patchId];
  }

  /** A report that fails is a note on the task (and a line on stderr), not the end of it. */
  private async report<T>(what: string, send: () => Promise<T>): Promise<T | null> {
    try {
      return await send();
    } catch (error) {
      const text = refusalText(what, error);
      this.notes.push(text);
      this.settings.say(`task ${this.task.id}: ${text}`);
      return null;
    }
  }

  private async endStep(stepId: string | null, state: 'SUCCEEDED' | 'FAILED' | 'CANCELED', exitCode: number | null, outputPatchIds: string[], errorLog: string | null): Promise<void> {
    if (!stepId) return;
    try {
      await this.gateway.request(CompleteStep, { id: stepId, state, exitCode, outputPatchIds, errorLog }, 'resend');
    } catch (error) {
      // Already ended (its run was canceled, or a resent completion): nothing left to say.
      if (error instanceof GatewayError && error.code === 'INVALID_TRANSITION') return;
      this.settings.say(`task ${this.task.id}: ${refusalText(`completeStep of step ${stepId}`, error)}`);
    }
  }

  private async complete(outcome: { success: boolean; error: string | null }, result: TaskResult): Promise<void> {
    const seconds = (Date.now() - this.started) / 1000;
    const error = outcome.success ? null : [outcome.error, ...this.notes].join('\n');
    try {
      await this.gateway.request(CompleteTask, { workerId: this.settings.workerId, taskId: this.task.id, success: outcome.success, seconds, result: { ...result }, error }, 'resend');
    } catch (err) {
      this.settings.say(`task ${this.task.id}: ${refusalText('completeTask', err)}`);
      return;
    }
    const exit = result.exit_code !== null ? `exit ${result.exit_code}` : result.signal ? `killed by ${result.signal}` : 'not run';
    if (outcome.success) this.settings.say(`task ${this.task.id} done: ${exit} in ${seconds.toFixed(1)} s`);
    else this.settings.say(`task ${this.task.id} failed: ${outcome.error} (${exit} in ${seconds.toFixed(1)} s)`);
  }
}

/** A part of the task that cannot be used (its command, its inputs) fails the task with what is wrong. */
function failing<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new TaskFailure(`${what}: ${(error as Error).message}`);
  }
}

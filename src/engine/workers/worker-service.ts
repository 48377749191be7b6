import type { WorkerActor } from '../auth/identity.js';
import type { Clock } from '../core/clock.js';
import { DomainError, badInput, notFound } from '../core/errors.js';
import type { EventBus, Topics } from '../core/event-bus.js';
import type { NoticeStreams } from '../core/notice-stream.js';
import { TEXT_LIMIT, jsonObject, optionalText, requireText } from '../core/validate.js';
import { lockRow } from '../core/lock-row.js';
import type { Transact, WriteScope } from '../core/write-scope.js';
import { WorkerSchema, type Worker, type WorkerConfig, type WorkerState, type WorkerType } from './entities.js';
import type { LiveWorkers } from './live-workers.js';
import { isTerminalWorker, workerMachine } from './machines.js';
import type { WorkerTopic } from './notices.js';
import { announceWorkerState, assertActsFor, moveWorker, releaseAll, remembered } from './worker-writes.js';

export const WORKER_TYPES: readonly WorkerType[] = ['executor', 'monitor', 'validator', 'scheduler', 'custom'];
/** docs/domain.md#workers: a worker whose config names no timeout is stale after this long without a heartbeat. */
export const DEFAULT_WORKER_TIMEOUT_SECONDS = 60;
const MAX_PARALLEL_TASKS = 1000;

export interface RegisterWorkerInput {
  type: WorkerType;
  /** The tools it can run (router_config app ids); none: any tool. */
  tools?: string[] | null;
  config?: { maxParallelTasks?: number | null; heartbeatInterval?: number | null; timeoutSeconds?: number | null } | null;
  metadata?: unknown;
}

export interface WorkerFilter {
  workerId?: string | null;
  /** Only these workers (a console's page of them); every worker when null. */
  workerIds?: readonly string[] | null;
  types?: readonly WorkerType[] | null;
}

export interface WorkerHeartbeat {
  worker: Worker;
  at: Date;
  progress: number | null;
}

export interface WorkerStateChange {
  worker: Worker;
  from: WorkerState | null;
  to: WorkerState;
  reason: string;
  at: Date;
}

/** Worker lifecycle (docs/domain.md#workers), heartbeats, and the live views of both. */
export class WorkerService {
  constructor(
    private readonly transact: Transact,
    private readonly live: LiveWorkers,
    private readonly bus: EventBus,
    private readonly streams: NoticeStreams,
    private readonly clock: Clock,
  ) {}

  async register(actor: WorkerActor, input: RegisterWorkerInput): Promise<Worker> {
    if (!WORKER_TYPES.includes(input.type)) throw badInput('type', `must be one of ${WORKER_TYPES.join(', ')}`);
    const config = parseConfig(input.config);
    const metadata = jsonObject('metadata', input.metadata);
    const tools = [...new Set((input.tools ?? []).map((tool, i) => requireText(`tools[${i}]`, tool)))];
    const timeoutSeconds = config.timeout_seconds ?? DEFAULT_WORKER_TIMEOUT_SECONDS;
    return this.transact(async (scope) => {
      const worker = scope.em.create(WorkerSchema, {
        id: scope.newId(),
        type: input.type,
        state: 'idle',
        activeTasks: 0,
        startedAt: scope.now,
        staleAfter: new Date(scope.now.getTime() + timeoutSeconds * 1000),
        timeoutSeconds,
        tasksCompleted: 0,
        tasksFailed: 0,
        totalExecutionTime: 0,
        config,
        metadata,
        registeredByTokenId: actor.tokenId,
        tools,
      });
      scope.em.persist(worker);
      announceWorkerState(scope, worker, null, 'registered');
      return remembered(scope, this.live, worker);
    });
  }

  /**
   * The hot path: no transaction and no query once the worker is known. The
   * beat is kept in memory (LiveWorkers flushes it) and announced at once.
   */
  async heartbeat(actor: WorkerActor, input: { workerId: string; progress?: number | null }): Promise<Worker> {
    const progress = input.progress ?? null;
    if (progress !== null && !(Number.isFinite(progress) && progress >= 0 && progress <= 100)) {
      throw badInput('progress', 'must be between 0 and 100');
    }
    const worker = await this.live.get(input.workerId);
    if (!worker) throw notFound('Worker', input.workerId);
    assertActsFor(actor, worker);
    if (isTerminalWorker(worker.state)) workerMachine.forbid(worker.state, worker.id, '; a terminal worker cannot heartbeat');
    const at = this.clock.now();
    this.live.beat(worker, at, progress);
    this.bus.publish('worker.heartbeat', {
      workerId: worker.id,
      type: worker.type,
      at: at.toISOString(),
      progress,
    });
    return worker;
  }

  /** Stops taking work; tasks it holds go back to the queue without counting an attempt. */
  pause(actor: WorkerActor, id: string): Promise<Worker> {
    return this.change(actor, id, async (scope, worker) => {
      moveWorker(scope, worker, 'paused', 'paused');
      await releaseAll(scope, worker, { outcome: 'interrupted', error: `worker ${worker.id} was paused` });
    });
  }

  resume(actor: WorkerActor, id: string): Promise<Worker> {
    return this.change(actor, id, async (scope, worker) => {
      // BUSY -> IDLE is a completion's move, not a resume's.
      if (worker.state !== 'paused') workerMachine.refuse(worker.state, 'idle', worker.id);
      moveWorker(scope, worker, 'idle', 'resumed');
    });
  }

  shutdown(actor: WorkerActor, id: string): Promise<Worker> {
    return this.change(actor, id, async (scope, worker) => {
      moveWorker(scope, worker, 'stopped', 'shut down');
      worker.stoppedAt = scope.now;
      await releaseAll(scope, worker, { outcome: 'interrupted', error: `worker ${worker.id} was shut down` });
    });
  }

  /** Records the crash; the tasks it held count the attempt and go back to the queue (or fail for good). */
  crash(actor: WorkerActor, input: { id: string; errorMessage: string; stackTrace?: string | null }): Promise<Worker> {
    const errorMessage = requireText('errorMessage', input.errorMessage, TEXT_LIMIT);
    const stackTrace = optionalText('stackTrace', input.stackTrace, TEXT_LIMIT);
    return this.change(actor, input.id, async (scope, worker) => {
      moveWorker(scope, worker, 'crashed', errorMessage);
      worker.crashInfo = { crashed_at: scope.now.toISOString(), error_message: errorMessage, ...(stackTrace ? { stack_trace: stackTrace } : {}) };
      await releaseAll(scope, worker, { outcome: 'failed', error: `worker ${worker.id} crashed: ${errorMessage}` });
    });
  }

  /** Heartbeats as they arrive, filtered on the server by worker and type. */
  heartbeats(filter: WorkerFilter): AsyncIterableIterator<WorkerHeartbeat> {
    return this.follow('worker.heartbeat', filter, (worker, notice) => ({
      worker,
      at: new Date(notice.at),
      progress: notice.progress,
    }));
  }

  /**
   * Registrations and state changes, filtered on the server by worker and type. A WORKER-only `actor`
   * watches only a worker it registered, named by workerId (so that it sees itself paused or stopped).
   */
  async stateChanges(actor: WorkerActor, filter: WorkerFilter): Promise<AsyncIterableIterator<WorkerStateChange>> {
    if (!actor.anyWorker) {
      if (filter.workerId == null) {
        throw new DomainError(
          'FORBIDDEN',
          `token "${actor.tokenName}" may not watch every worker: a WORKER-only token watches only a worker it registered, and must name it (workerId) (the read scope watches any worker)`,
          { entity: 'Worker', id: null },
        );
      }
      const worker = await this.live.get(filter.workerId);
      if (!worker) throw notFound('Worker', filter.workerId);
      assertActsFor(actor, worker);
    }
    return this.follow('worker.state', filter, (worker, notice) => ({
      worker,
      from: notice.from,
      to: notice.to,
      reason: notice.reason,
      at: new Date(notice.at),
    }));
  }

  /** Notices of one topic that pass the filter, each with the worker it names (from memory when known). */
  private follow<K extends WorkerTopic, T>(topic: K, filter: WorkerFilter, shape: (worker: Worker, notice: Topics[K]) => T): AsyncIterableIterator<T> {
    const types = filter.types?.length ? new Set(filter.types) : null;
    const ids = filter.workerIds ? new Set(filter.workerIds) : null;
    return this.streams.follow(
      topic,
      async (notice) => {
        const worker = await this.live.get(notice.workerId);
        return worker && shape(worker, notice);
      },
      (notice) => (filter.workerId == null || notice.workerId === filter.workerId) && (ids === null || ids.has(notice.workerId)) && (types === null || types.has(notice.type)),
    );
  }

  private change(actor: WorkerActor, id: string, apply: (scope: WriteScope, worker: Worker) => Promise<void>): Promise<Worker> {
    return this.transact(async (scope) => {
      const worker = await lockRow(scope.em, WorkerSchema, id);
      assertActsFor(actor, worker);
      await apply(scope, worker);
      return remembered(scope, this.live, worker);
    });
  }
}

function parseConfig(raw: RegisterWorkerInput['config']): WorkerConfig {
  const maxParallel = raw?.maxParallelTasks ?? 1;
  if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > MAX_PARALLEL_TASKS) {
    throw badInput('config.maxParallelTasks', `must be a whole number from 1 to ${MAX_PARALLEL_TASKS}`);
  }
  const config: WorkerConfig = { max_parallel_tasks: maxParallel };
  for (const [field, key] of [
    ['heartbeatInterval', 'heartbeat_interval'],
    ['timeoutSeconds', 'timeout_seconds'],
  ] as const) {
    const value = raw?.[field];
    if (value == null) continue;
    if (!Number.isFinite(value) || value <= 0 || value > 86_400) throw badInput(`config.${field}`, 'must be more than 0 and at most 86400 seconds');
    config[key] = value;
  }
  // Against the timeout in force, given or the default: a worker beating less often would turn stale between beats.
  const timeout = config.timeout_seconds ?? DEFAULT_WORKER_TIMEOUT_SECONDS;
  if (config.heartbeat_interval && config.heartbeat_interval >= timeout) {
    const which = config.timeout_seconds ? 'config.timeoutSeconds' : `the default timeout of ${DEFAULT_WORKER_TIMEOUT_SECONDS} s (config.timeoutSeconds not given)`;
    throw badInput('config.heartbeatInterval', `must be shorter than ${which}, or the worker would turn stale between beats`, {
      heartbeatInterval: config.heartbeat_interval,
      timeoutSeconds: timeout,
    });
  }
  return config;
}

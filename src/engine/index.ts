import { systemClock, type Clock } from './core/clock.js';
import { createEventBus, type EventBus } from './core/event-bus.js';
import { NoticeStreams } from './core/notice-stream.js';
import { createIdSource } from './core/ids.js';
import { createTransact } from './core/write-scope.js';
import { ContractRegistry, sharedContracts } from './contracts/registry.js';
import type { Orm } from './db/orm.js';
import { RateLimiter, type RateLimitStore } from './auth/rate-limiter.js';
import { TokenService } from './auth/token-service.js';
import { RunEventReader } from './runs/event-log.js';
import { RunEventFeed } from './runs/event-feed.js';
import { RunQueries } from './runs/run-queries.js';
import { RunService } from './runs/run-service.js';
import { StepLogFeed } from './runs/step-log-feed.js';
import { DEFAULT_STEP_LOG_MAX_BYTES, StepLogs } from './runs/step-logs.js';
import { CostQueries } from './costs/cost-queries.js';
import { CostService } from './costs/cost-service.js';
import { GateQueries } from './gates/gate-queries.js';
import { GateService } from './gates/gate-service.js';
import { PatchQueries } from './patches/patch-queries.js';
import { DEFAULT_PATCH_LIMITS, PatchService, type PatchLimits } from './patches/patch-service.js';
import { PolicyStore } from './patches/policy-store.js';
import { LiveWorkers } from './workers/live-workers.js';
import { Reaper } from './workers/reaper.js';
import { TaskQueue } from './workers/task-queue.js';
import { WorkerQueries } from './workers/worker-queries.js';
import { WorkerService } from './workers/worker-service.js';
import { ProgressQueries } from './workers/progress.js';
import { RoutingService } from './routing/routing-service.js';
import { ExecutionRequestQueries } from './workstreams/execution-requests.js';
import { WorkstreamService } from './workstreams/workstream-service.js';

export interface EngineOptions {
  orm: Orm;
  clock?: Clock;
  bus?: EventBus;
  contracts?: ContractRegistry;
  /** Where failures that no caller can receive (background reads) are reported. */
  onError?: (error: unknown) => void;
  /** A secret that works as an admin token (UET_ADMIN_TOKEN). */
  adminSecret?: string | null;
  /** Where rate-limit counters live (in memory unless given: Redis when instances share the load). */
  rateLimitStore?: RateLimitStore;
  /** How big a patch createPatch accepts (config.limits); DEFAULT_PATCH_LIMITS unless given. */
  patchLimits?: PatchLimits;
  /** Costs a WORKER-only token may record through one task, in whole currency units (UET_WORKER_COST_PER_TASK); 0 or absent: no bound. */
  workerCostPerTask?: number;
  /** Bytes of each step's log kept (UET_STEP_LOG_MAX_BYTES): its head and newest tail; 0 keeps all. DEFAULT_STEP_LOG_MAX_BYTES unless given. */
  stepLogMaxBytes?: number;
}

/** The domain, wired: everything a resolver, a CLI command or a test calls. */
export interface Engine {
  orm: Orm;
  clock: Clock;
  bus: EventBus;
  contracts: ContractRegistry;
  runs: RunService;
  queries: RunQueries;
  events: RunEventReader;
  feed: RunEventFeed;
  /** Step logs: appends and pages (step-logs.ts). */
  stepLogs: StepLogs;
  /** Live, resumable streams of step logs. */
  stepLogFeed: StepLogFeed;
  tokens: TokenService;
  rateLimiter: RateLimiter;
  workers: WorkerService;
  tasks: TaskQueue;
  workerQueries: WorkerQueries;
  /** Buffered heartbeats; the server flushes them every second (and on stop). */
  liveWorkers: LiveWorkers;
  reaper: Reaper;
  patches: PatchService;
  policies: PolicyStore;
  gates: GateService;
  gateQueries: GateQueries;
  patchQueries: PatchQueries;
  costs: CostService;
  costQueries: CostQueries;
  workstreams: WorkstreamService;
  progress: ProgressQueries;
  routing: RoutingService;
  executionRequests: ExecutionRequestQueries;
  /** Subscriptions currently open (event, run state and worker streams). */
  openStreams(): number;
  /** Ends open streams; the caller flushes heartbeats and closes the ORM. */
  close(): void;
}

export function createEngine(options: EngineOptions): Engine {
  const { orm } = options;
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? ((error) => console.error(error));
  const bus = options.bus ?? createEventBus(undefined, onError);
  const contracts = options.contracts ?? sharedContracts();
  const fork = () => orm.em.fork();
  const transact = createTransact(orm, clock, createIdSource(clock), bus);
  const events = new RunEventReader(fork);
  const feed = new RunEventFeed(events, bus, onError);
  const streams = new NoticeStreams(bus);
  const runs = new RunService(transact, contracts, events, streams, fork);
  const stepLogs = new StepLogs(transact, fork, options.stepLogMaxBytes ?? DEFAULT_STEP_LOG_MAX_BYTES);
  const stepLogFeed = new StepLogFeed(stepLogs, bus, onError);
  const liveWorkers = new LiveWorkers(fork, bus);
  const workers = new WorkerService(transact, liveWorkers, bus, streams, clock);
  const policies = new PolicyStore(transact, contracts, fork);
  const patches = new PatchService(transact, contracts, policies, streams, fork, options.patchLimits ?? DEFAULT_PATCH_LIMITS);
  const gates = new GateService(transact, contracts, streams, fork, clock);
  return {
    orm,
    clock,
    bus,
    contracts,
    runs,
    queries: new RunQueries(fork, events),
    events,
    feed,
    stepLogs,
    stepLogFeed,
    tokens: new TokenService(transact, fork, clock, bus, options.adminSecret ?? null, onError),
    rateLimiter: new RateLimiter(clock, options.rateLimitStore),
    workers,
    tasks: new TaskQueue(transact, liveWorkers),
    workerQueries: new WorkerQueries(fork, liveWorkers, clock),
    liveWorkers,
    reaper: new Reaper(transact, liveWorkers, fork, clock),
    patches,
    policies,
    gates,
    gateQueries: new GateQueries(fork),
    patchQueries: new PatchQueries(fork),
    costs: new CostService(transact, streams, fork, options.workerCostPerTask ? BigInt(options.workerCostPerTask) * 1_000_000_000n : null),
    costQueries: new CostQueries(fork),
    workstreams: new WorkstreamService(transact, contracts, fork),
    progress: new ProgressQueries(fork, liveWorkers, clock, streams),
    routing: new RoutingService(transact, contracts, fork, clock, streams),
    executionRequests: new ExecutionRequestQueries(fork),
    openStreams: () => feed.openStreams + stepLogFeed.openStreams + streams.size,
    close: () => {
      feed.close();
      stepLogFeed.close();
      streams.closeAll();
    },
  };
}

export { DomainError } from './core/errors.js';

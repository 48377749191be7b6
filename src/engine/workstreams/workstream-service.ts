import type { EntityManager } from '@mikro-orm/knex';
import { ulidTime } from '../core/ids.js';
import type { Transact } from '../core/write-scope.js';
import { DomainError } from '../core/errors.js';
import { canonicalJson, type ContractRegistry } from '../contracts/registry.js';
import { RunSchema, TaskSchema, type RunState, type Task } from '../runs/entities.js';
import type { Page, PageArgs } from '../core/pagination.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { WorkstreamSchema, type Workstream, type WorkstreamErrorStrategy } from './entities.js';
import { rowMapper, rowsByIds, type RowFilter } from '../db/plain-rows.js';
import { checkGlobs } from '../core/globs.js';
import { recordForRun } from '../runs/record-for-run.js';
import { routeTask } from '../routing/routing-service.js';
import { insertRun } from '../runs/run-service.js';
import { batches, orderTasks } from './task-graph.js';

export interface WorkstreamFilter {
  projectId?: string | null;
  active?: boolean | null;
}

const WORKSTREAM_CURSOR = 'Workstream';
const ACTIVE_RUN_STATES: RunState[] = ['pending', 'running'];

/** The parts of a workstream_spec (and its task_specs) the engine acts on; the contract checks the rest. */
interface WorkstreamSpec {
  workstream_id: string;
  project_id: string;
  phase_id: string;
  name: string;
  objective: string;
  tags: string[];
  resource_scope: Record<string, string[]>;
  constraints: Record<string, unknown>;
  concurrency: { max_parallel: number };
  error_handling: { strategy: WorkstreamErrorStrategy };
  tasks: TaskSpec[];
}

interface TaskSpec {
  task_id: string;
  name: string;
  kind: string;
  depends_on: string[];
  execution: { max_attempts: number; timeout_seconds: number; retry_strategy: 'fixed' | 'exponential' | 'none' };
  error_handling: { on_failure: 'skip_dependents' | 'continue' | 'abort_workstream' };
  [field: string]: unknown;
}

/** Submitted workstreams (docs/domain.md#workstreams-and-scheduling): a run, and its tasks queued along their dependencies. */
export class WorkstreamService {
  constructor(
    private readonly transact: Transact,
    private readonly contracts: ContractRegistry,
    private readonly fork: () => EntityManager,
  ) {}

  /**
   * Validates the spec (workstream_spec and task_spec, filling in their
   * defaults), orders its tasks (a missing dependency or a cycle is refused,
   * naming it), and in one transaction creates the run and the tasks. A task
   * is claimable once its dependencies completed; the first claim starts the
   * run. A workstream_id is one workstream per project: the same spec again
   * returns that workstream and writes nothing (a retried request is safe);
   * another spec under it is ALREADY_EXISTS.
   */
  async submit(document: unknown): Promise<Workstream> {
    const spec = this.contracts.accept<WorkstreamSpec>('spec', 'workstream_spec', document);
    for (const [list, globs] of Object.entries(spec.resource_scope)) checkGlobs(`spec.resource_scope.${list}`, globs);
    const graph = orderTasks(spec.tasks.map((task) => ({ id: task.task_id, dependsOn: task.depends_on })));
    return this.transact(async (scope) => {
      // The unique index (project_id, spec_id) settles a race: the loser's transaction is retried (write-scope.ts) and finds the winner's here.
      const existing = await scope.em.findOne(WorkstreamSchema, { projectId: spec.project_id, specId: spec.workstream_id });
      if (existing) return sameSpecOrRefuse(existing, spec);
      const run = insertRun(scope, {
        projectId: spec.project_id,
        phaseId: spec.phase_id,
        workstreamId: spec.workstream_id,
        executionRequestId: null,
        origin: { trigger_type: 'manual' },
        // Patches of the run are validated against the workstream's resource scope.
        metadata: { resource_scope: spec.resource_scope, constraints: spec.constraints, tags: spec.tags },
      });
      const workstream = scope.em.create(WorkstreamSchema, {
        id: scope.newId(),
        specId: spec.workstream_id,
        projectId: spec.project_id,
        phaseId: spec.phase_id,
        name: spec.name,
        objective: spec.objective,
        runId: run.id,
        maxParallel: spec.concurrency.max_parallel,
        errorStrategy: spec.error_handling.strategy,
        runningTasks: 0,
        spec: spec as unknown as Record<string, unknown>,
        createdAt: scope.now,
      });
      scope.em.persist(workstream);
      const ids = new Map(spec.tasks.map((task) => [task.task_id, scope.newId()]));
      for (const task of spec.tasks) {
        const id = ids.get(task.task_id)!;
        const row = scope.em.create(TaskSchema, {
          id,
          kind: task.kind,
          runId: run.id,
          state: 'pending',
          payload: task,
          attempts: 0,
          maxAttempts: task.execution.max_attempts,
          timeoutSeconds: task.execution.timeout_seconds,
          createdAt: new Date(ulidTime(id)),
          workstreamId: workstream.id,
          specTaskId: task.task_id,
          name: task.name,
          dependsOn: task.depends_on.map((dependency) => ids.get(dependency)!),
          unmetDependencies: task.depends_on.length,
          level: graph.level.get(task.task_id)!,
          onFailure: task.error_handling.on_failure,
          retryStrategy: task.execution.retry_strategy,
        });
        scope.em.persist(row);
        if (row.unmetDependencies === 0) await routeTask(scope, row);
        await recordForRun(scope, run.id, 'task_created', { taskId: id, kind: task.kind, specTaskId: task.task_id, dependsOn: task.depends_on });
      }
      return workstream;
    });
  }

  /** Newest first (by submission); `active`: whether its run is PENDING or RUNNING. */
  list(filter: WorkstreamFilter, args: PageArgs): Promise<Page<Workstream>> {
    const em = this.fork();
    return pageNewestFirst(em, WorkstreamSchema, WORKSTREAM_CURSOR, workstreamWhere(em, filter), args);
  }

  byIds(ids: readonly string[]): Promise<Workstream[]> {
    return rowsByIds(this.fork(), WorkstreamSchema, ids);
  }

  /** Its tasks in execution order: by level, then as the spec lists them. */
  tasks(workstreamId: string): Promise<Task[]> {
    return this.tasksOf([workstreamId]);
  }

  /** The tasks of several workstreams in one query, each workstream's in execution order. */
  async tasksOf(workstreamIds: readonly string[]): Promise<Task[]> {
    const tasks = await this.fork().find(TaskSchema, { workstreamId: { $in: [...workstreamIds] } }, { orderBy: { id: 'asc' } });
    return tasks.sort((a, b) => (a.level ?? 0) - (b.level ?? 0));
  }

  /** The execution order as levels of tasks, and those levels cut into batches of at most max_parallel. */
  async order(workstream: Workstream): Promise<{ levels: Task[][]; batches: Task[][] }> {
    const tasks = await this.tasks(workstream.id);
    const levels: Task[][] = [];
    for (const task of tasks) (levels[task.level ?? 0] ??= []).push(task);
    const byId = new Map(tasks.map((t) => [t.id, t]));
    const cut = batches(
      levels.map((level) => level.map((t) => t.id)),
      workstream.maxParallel,
    );
    return { levels, batches: cut.map((batch) => batch.map((id) => byId.get(id)!)) };
  }
}

function workstreamWhere(em: EntityManager, filter: WorkstreamFilter): RowFilter {
  const workstreams = rowMapper(em, WorkstreamSchema);
  const runs = rowMapper(em, RunSchema);
  return (query) => {
    if (filter.projectId != null) query.where(workstreams.column('projectId'), filter.projectId);
    if (filter.active != null) {
      // One run per workstream (a unique run_id): a subquery on run's state index, no join.
      const active = em.getKnex().from(runs.table).select(runs.column('id')).whereIn(runs.column('state'), ACTIVE_RUN_STATES);
      if (filter.active) query.whereIn(workstreams.column('runId'), active);
      else query.whereNotIn(workstreams.column('runId'), active);
    }
  };
}

/** A repeated submission: the workstream it already made, when the spec (defaults filled in) is the same, in any key order. */
function sameSpecOrRefuse(existing: Workstream, spec: WorkstreamSpec): Workstream {
  if (canonicalJson(existing.spec) === canonicalJson(spec)) return existing;
  throw new DomainError(
    'ALREADY_EXISTS',
    `spec: project "${spec.project_id}" already has workstream_id "${spec.workstream_id}" (Workstream ${existing.id}, submitted ${existing.createdAt.toISOString()}) with a different spec; ` +
      'choose a new workstream_id, or submit the same spec to get that workstream back',
    { field: 'spec', entity: 'Workstream', id: existing.id, workstreamId: spec.workstream_id, projectId: spec.project_id },
  );
}

import type { EntityManager } from '@mikro-orm/knex';
import type { FilterQuery } from '@mikro-orm/core';
import type { Page, PageArgs } from '../core/pagination.js';
import type { WriteScope } from '../core/write-scope.js';
import { sharedContracts } from '../contracts/registry.js';
import { WorkstreamSchema } from '../workstreams/entities.js';
import type { Task } from '../runs/entities.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { rowsByIds } from '../db/plain-rows.js';
import { ExecutionRequestSchema, type ExecutionRequest } from './entities.js';

/**
 * Inside a lease: the execution_request (docs/domain.md#routing-and-execution-requests) that describes this
 * attempt of a workstream task, built from its task spec, its workstream's
 * resource scope and constraints, and the routing decision, and checked
 * against the contract. Steps, patches, gates and costs of the attempt name
 * it (executionRequestId).
 */
export async function openExecutionRequest(scope: WriteScope, task: Task): Promise<void> {
  if (!task.workstreamId) return;
  const workstream = await scope.em.findOneOrFail(WorkstreamSchema, { id: task.workstreamId });
  const spec = workstream.spec as { resource_scope: unknown; constraints: unknown };
  const id = scope.newId();
  const document = {
    request_id: id,
    project_id: workstream.projectId,
    phase_id: workstream.phaseId,
    workstream_id: workstream.specId,
    task_kind: task.kind,
    origin: { created_by: 'uet-gateway', created_at: scope.now.toISOString() },
    classification: task.payload.classification,
    resource_scope: spec.resource_scope,
    constraints: spec.constraints,
    routing: {
      // Without a router configuration nothing was chosen: any worker may run it, as with `fixed` over every tool.
      strategy: task.routeStrategy ?? 'fixed',
      allowed_tools: task.toolId ? [task.toolId] : [],
      max_attempts: task.maxAttempts,
      timeout_seconds: Math.max(1, Math.round(task.timeoutSeconds ?? 3600)),
    },
    telemetry: { correlation_id: workstream.runId, trace_flags: '01' },
  };
  sharedContracts().check('executionRequest', 'execution_request', document);
  scope.em.persist(
    scope.em.create(ExecutionRequestSchema, {
      id,
      projectId: workstream.projectId,
      runId: workstream.runId,
      taskId: task.id,
      taskKind: task.kind,
      attempt: task.attempts + 1,
      toolId: task.toolId ?? null,
      document,
      createdAt: scope.now,
    }),
  );
  task.executionRequestId = id;
}

export interface ExecutionRequestFilter {
  projectId?: string | null;
  runId?: string | null;
  taskKind?: string | null;
}

export class ExecutionRequestQueries {
  constructor(private readonly fork: () => EntityManager) {}

  byIds(ids: readonly string[]): Promise<ExecutionRequest[]> {
    return rowsByIds(this.fork(), ExecutionRequestSchema, ids);
  }

  /** Newest first. */
  list(filter: ExecutionRequestFilter, args: PageArgs): Promise<Page<ExecutionRequest>> {
    const where: FilterQuery<ExecutionRequest> & Record<string, unknown> = {};
    if (filter.projectId != null) where.projectId = filter.projectId;
    if (filter.runId != null) where.runId = filter.runId;
    if (filter.taskKind != null) where.taskKind = filter.taskKind;
    return pageNewestFirst(this.fork(), ExecutionRequestSchema, 'ExecutionRequest', where, args);
  }
}

import type { EntityManager } from '@mikro-orm/knex';
import type { FilterQuery } from '@mikro-orm/core';
import { badInput } from '../core/errors.js';
import { optionalText } from '../core/validate.js';
import type { Transact } from '../core/write-scope.js';
import type { ContractRegistry } from '../contracts/registry.js';
import { PatchPolicySchema, type PatchPolicy, type PolicyConstraints, type PolicyLevel } from './entities.js';
import { checkGlobs } from '../core/globs.js';
import { DEFAULT_CONSTRAINTS } from './policy.js';

/** The constraints as a client names them (camelCase); any left out take DEFAULT_CONSTRAINTS. */
export interface ConstraintsInput {
  allowedFormats?: string[] | null;
  maxLinesChanged?: number | null;
  maxFilesChanged?: number | null;
  forbidBinaryPatches?: boolean | null;
  forbidTouchingPaths?: string[] | null;
  requireTestsForPaths?: string[] | null;
  requireIssueRef?: boolean | null;
  minReviewers?: number | null;
  oscillationWindow?: number | null;
  oscillationThreshold?: number | null;
}

const FIELDS: [keyof ConstraintsInput, keyof PolicyConstraints][] = [
  ['allowedFormats', 'allowed_formats'],
  ['maxLinesChanged', 'max_lines_changed'],
  ['maxFilesChanged', 'max_files_changed'],
  ['forbidBinaryPatches', 'forbid_binary_patches'],
  ['forbidTouchingPaths', 'forbid_touching_paths'],
  ['requireTestsForPaths', 'require_tests_for_paths'],
  ['requireIssueRef', 'require_issue_ref'],
  ['minReviewers', 'min_reviewers'],
  ['oscillationWindow', 'oscillation_window'],
  ['oscillationThreshold', 'oscillation_threshold'],
];

const scopeKey = (level: PolicyLevel, projectId: string | null, phaseId: string | null) =>
  level === 'global' ? 'global' : level === 'project' ? `project:${projectId}` : `phase:${projectId}/${phaseId}`;

/** Patch policies: one per level and place; the most specific that applies wins. */
export class PolicyStore {
  constructor(
    private readonly transact: Transact,
    private readonly contracts: ContractRegistry,
    private readonly fork: () => EntityManager,
  ) {}

  /** Creates or replaces the policy of a level and place. */
  async set(input: { level: PolicyLevel; projectId?: string | null; phaseId?: string | null; constraints: ConstraintsInput }): Promise<PatchPolicy> {
    const projectId = optionalText('projectId', input.projectId);
    const phaseId = optionalText('phaseId', input.phaseId);
    if (input.level === 'global' && (projectId || phaseId)) throw badInput('projectId', 'a GLOBAL policy names no project or phase');
    if (input.level === 'project' && (!projectId || phaseId)) throw badInput('projectId', 'a PROJECT policy names its project and no phase');
    if (input.level === 'phase' && (!projectId || !phaseId)) throw badInput('phaseId', 'a PHASE policy names its project and its phase');
    const constraints = { ...DEFAULT_CONSTRAINTS };
    for (const [from, to] of FIELDS) {
      const value = input.constraints[from];
      if (value != null) (constraints as Record<string, unknown>)[to] = value;
    }
    const document = { level: input.level, ...(projectId ? { project_id: projectId } : {}), ...(phaseId ? { phase_id: phaseId } : {}), ...constraints };
    this.contracts.check('constraints', 'patch_policy', document);
    checkGlobs('forbidTouchingPaths', constraints.forbid_touching_paths);
    checkGlobs('requireTestsForPaths', constraints.require_tests_for_paths);
    const key = scopeKey(input.level, projectId, phaseId);
    return this.transact(async (scope) => {
      const existing = await scope.em.findOne(PatchPolicySchema, { scopeKey: key });
      if (existing) {
        existing.constraints = constraints;
        existing.updatedAt = scope.now;
        return existing;
      }
      const policy = scope.em.create(PatchPolicySchema, {
        id: scope.newId(),
        level: input.level,
        projectId,
        phaseId,
        scopeKey: key,
        constraints,
        createdAt: scope.now,
        updatedAt: scope.now,
      });
      scope.em.persist(policy);
      return policy;
    });
  }

  /** The phase's policy, else the project's, else the global one; null when none is set. */
  async effective(projectId: string, phaseId: string | null, em: EntityManager = this.fork()): Promise<PatchPolicy | null> {
    const keys = [...(phaseId ? [scopeKey('phase', projectId, phaseId)] : []), scopeKey('project', projectId, null), 'global'];
    const found = await em.find(PatchPolicySchema, { scopeKey: { $in: keys } });
    return keys.map((key) => found.find((p) => p.scopeKey === key)).find((p) => p !== undefined) ?? null;
  }

  /** Every policy (of one project, with the global one), the global first, then projects and their phases. */
  async list(filter: { projectId?: string | null }): Promise<PatchPolicy[]> {
    const where: FilterQuery<PatchPolicy> = filter.projectId != null ? { $or: [{ level: 'global' }, { projectId: filter.projectId }] } : {};
    const rank = { global: 0, project: 1, phase: 2 };
    const policies = await this.fork().find(PatchPolicySchema, where);
    return policies.sort((a, b) => (a.projectId ?? '').localeCompare(b.projectId ?? '') || rank[a.level] - rank[b.level] || (a.phaseId ?? '').localeCompare(b.phaseId ?? ''));
  }
}

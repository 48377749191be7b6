import { basename } from 'node:path';
import type { CostReport } from './cost-lines.js';
import { CompleteTestGate, CreatePatch, CreateTestGate, QueuePatch, RecordCost, RecordPatchApply, StartTestGate, ValidatePatch } from './documents.js';
import { GatewayError, type Gateway } from './gateway.js';
import type { JUnitResults } from './junit-report.js';
import type { WorkdirChanges } from './workdir.js';

/** The gateway's own bound on a patch's diff (UET_MAX_DIFF_BYTES' default): a bigger one is refused, so it is not sent. */
export const MAX_DIFF_BYTES = 1_048_576;

/** What every report of one attempt names. */
export interface Attempt {
  runId: string;
  projectId: string;
  /** The execution request's id (its ULID), when the task has one. */
  executionRequestId: string | null;
  taskName: string;
  toolId: string;
  command: string;
}

/** A refusal in words for the task's error and the worker's stderr; FORBIDDEN on a patch says which part of the gateway is missing. */
export function refusalText(what: string, error: unknown): string {
  if (error instanceof GatewayError) return `${what} refused (${error.code ?? 'error'}): ${error.message}`;
  return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * The JUnit report as a gate on the run: created, started with the tool's
 * command, completed with the results. exitCode 0 when the report was read
 * and the tool exited 0 or 1 (a runner's "tests failed": the gate's criteria
 * decide), else the tool's own. Returns the gate's id.
 */
export async function reportTests(gateway: Gateway, attempt: Attempt, results: JUnitResults, toolExitCode: number | null): Promise<string> {
  const { createTestGate } = await gateway.request(CreateTestGate, { runId: attempt.runId, name: `${attempt.taskName}: tests`, executionRequestId: attempt.executionRequestId }, 'once');
  const gateId = createTestGate!.gate.id;
  await gateway.request(StartTestGate, { id: gateId, command: attempt.command }, 'resend');
  const exitCode = toolExitCode === 0 || toolExitCode === 1 ? 0 : (toolExitCode ?? -1);
  await gateway.request(CompleteTestGate, { id: gateId, exitCode, results }, 'resend');
  return gateId;
}

/** One cost line, recorded at once on the run (and the attempt's execution request). */
export async function reportCost(gateway: Gateway, attempt: Attempt, cost: CostReport): Promise<void> {
  await gateway.request(
    RecordCost,
    {
      runId: attempt.runId,
      executionRequestId: attempt.executionRequestId,
      resourceType: cost.resourceType,
      resourceName: cost.resourceName,
      amount: cost.amount,
      currency: cost.currency,
      metadata: { model: cost.model, tokensInput: cost.tokensInput, tokensOutput: cost.tokensOutput },
    },
    'once',
  );
}

export interface PatchOutcome {
  patchId: string;
  /** Why it went no further than created or validated, or null when it was queued and recorded applied. */
  stoppedAt: string | null;
}

/**
 * The tool's changes as a patch of the run: created, validated, and when
 * VALIDATED queued and recorded applied (the worker's folder already holds
 * the changes). Returns the patch with where it stopped.
 */
export async function reportChanges(gateway: Gateway, attempt: Attempt, changes: WorkdirChanges, repo: string | null, workdir: string): Promise<PatchOutcome> {
  const { createPatch } = await gateway.request(
    CreatePatch,
    {
      projectId: attempt.projectId,
      runId: attempt.runId,
      executionRequestId: attempt.executionRequestId,
      targetRepo: repo ? basename(repo) : 'workdir',
      baseCommit: changes.baseCommit,
      diffText: changes.diffText,
      summary: `${attempt.taskName} (${attempt.toolId}): ${changes.files.length} file${changes.files.length === 1 ? '' : 's'} changed`,
      origin: { tool_id: attempt.toolId },
    },
    'once',
  );
  const patchId = createPatch!.patch.id;
  const ledgerId = createPatch!.ledgerEntry.id;
  const validated = await unlessForbidden('validate', () => gateway.request(ValidatePatch, { ledgerId }, 'resend'));
  if ('refused' in validated) return { patchId, stoppedAt: validated.refused };
  const entry = validated.value.validatePatch!.ledgerEntry;
  if (entry.state !== 'VALIDATED') return { patchId, stoppedAt: `not valid (${entry.state}: ${entry.validation.validationErrors.join('; ')})` };
  const queued = await unlessForbidden('queue', () => gateway.request(QueuePatch, { ledgerId }, 'resend'));
  if ('refused' in queued) return { patchId, stoppedAt: queued.refused };
  await gateway.request(RecordPatchApply, { ledgerId, workspacePath: workdir, appliedFiles: changes.files }, 'resend');
  return { patchId, stoppedAt: null };
}

/**
 * A patch step a worker token may not be allowed (validate, queue: the
 * gateway lets an operator do them): FORBIDDEN is said as such, and the
 * patch stays where it is; any other error is the caller's.
 */
async function unlessForbidden<T>(what: string, step: () => Promise<T>): Promise<{ value: T } | { refused: string }> {
  try {
    return { value: await step() };
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'FORBIDDEN') {
      return { refused: `${what} FORBIDDEN for this token (this gateway does not let worker tokens ${what} their own patches: an operator does it): ${error.message}` };
    }
    throw error;
  }
}

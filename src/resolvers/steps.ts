import { REPORT, workerActor } from './scopes.js';
import { builder, parseId } from '../schema/builder.js';
import { StepAttemptRef, StepCompletionStateEnum } from '../schema/runs.js';

builder.relayMutationField(
  'startStep',
  {
    description: 'The run a tool invocation belongs to, and what it is.',
    inputFields: (t) => ({
      runId: t.id({ required: true, description: "The run's global id (Run.id); it must be RUNNING." }),
      toolId: t.string({ required: true, description: 'The tool it invokes (e.g. "aider"), 1 to 200 characters.' }),
      toolRunId: t.string({ description: "The tool's own id for this invocation, at most 200 characters." }),
      executionRequestId: t.string({ description: 'The execution request it carries out, at most 200 characters; not checked.' }),
      promptId: t.string({ description: 'The prompt instance it uses, at most 200 characters; not checked.' }),
      inputPrompt: t.string({ description: 'The prompt given to the tool, at most 1,000,000 characters.' }),
      metadata: t.field({ type: 'JSON', description: 'A JSON object kept with the step ({} when omitted); anything else is BAD_USER_INPUT.' }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      'Starts a step attempt, RUNNING, in a RUNNING run: the server assigns the next sequence, bumps counters.stepAttempts and ' +
      'appends TOOL_CALL_STARTED. NOT_FOUND for an unknown run, INVALID_TRANSITION when the run is not RUNNING, ' +
      'BUDGET_EXCEEDED when a HALT budget stopped the run or a HALT budget of its project is spent. Needs OPERATE, or WORKER: a WORKER-only token only on the run of a task one of its workers holds now, naming no execution request of another task, else FORBIDDEN.',
    resolve: async (_, { input }, ctx) => ({
      step: await ctx.engine.runs.startStep(workerActor(ctx, true), { ...input, runId: parseId(input.runId, 'Run', 'runId') }),
    }),
  },
  {
    description: 'What startStep returns.',
    outputFields: (t) => ({ step: t.field({ type: StepAttemptRef, description: 'The new step attempt, RUNNING.', resolve: (p) => p.step }) }),
  },
);

builder.relayMutationField(
  'completeStep',
  {
    description: 'Which step attempt ended, how, and what it produced.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: "The step attempt's global id (StepAttempt.id)." }),
      state: t.field({ type: StepCompletionStateEnum, required: true, description: 'The state to end it in.' }),
      exitCode: t.int({ description: "The tool's exit code; null when omitted." }),
      errorLog: t.string({ description: 'Error output, at most 1,000,000 characters.' }),
      outputPatchIds: t.stringList({
        description: 'Ids of the patches it produced, each 1 to 200 characters; stored as given, not checked ([] when omitted).',
      }),
      logsPath: t.string({ description: 'Where its logs are kept, at most 4096 characters.' }),
      rawResponsePath: t.string({ description: "Where the tool's raw response is kept, at most 4096 characters." }),
    }),
  },
  {
    authScopes: REPORT,
    description:
      "Ends a RUNNING step attempt and records its outputs; appends TOOL_CALL_ERROR for FAILED (counted in the run's errors), " +
      'else TOOL_CALL_COMPLETED. NOT_FOUND for an unknown step, INVALID_TRANSITION when it already ended. Needs OPERATE, or WORKER: a WORKER-only token only a step it started, while one of its workers holds a task of the run, else FORBIDDEN.',
    resolve: async (_, { input }, ctx) => ({
      step: await ctx.engine.runs.completeStep(workerActor(ctx, true), { ...input, id: parseId(input.id, 'StepAttempt', 'id') }),
    }),
  },
  {
    description: 'What completeStep returns.',
    outputFields: (t) => ({ step: t.field({ type: StepAttemptRef, description: 'The step attempt, now ended.', resolve: (p) => p.step }) }),
  },
);

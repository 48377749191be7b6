import { REPORT } from './scopes.js';
import { builder, parseId } from '../schema/builder.js';
import { StepAttemptRef, StepCompletionStateEnum } from '../schema/runs.js';

builder.relayMutationField(
  'startStep',
  {
    inputFields: (t) => ({
      runId: t.id({ required: true }),
      toolId: t.string({ required: true }),
      toolRunId: t.string(),
      executionRequestId: t.string(),
      promptId: t.string(),
      inputPrompt: t.string(),
      metadata: t.field({ type: 'JSON', description: 'A JSON object.' }),
    }),
  },
  {
    authScopes: REPORT,
    description: 'Starts a step attempt in a running run; the server assigns its sequence.',
    resolve: async (_, { input }, ctx) => ({
      step: await ctx.engine.runs.startStep({ ...input, runId: parseId(input.runId, 'Run', 'runId') }),
    }),
  },
  { outputFields: (t) => ({ step: t.field({ type: StepAttemptRef, resolve: (p) => p.step }) }) },
);

builder.relayMutationField(
  'completeStep',
  {
    inputFields: (t) => ({
      id: t.id({ required: true }),
      state: t.field({ type: StepCompletionStateEnum, required: true }),
      exitCode: t.int(),
      errorLog: t.string(),
      outputPatchIds: t.stringList(),
      logsPath: t.string(),
      rawResponsePath: t.string(),
    }),
  },
  {
    authScopes: REPORT,
    resolve: async (_, { input }, ctx) => ({
      step: await ctx.engine.runs.completeStep({ ...input, id: parseId(input.id, 'StepAttempt', 'id') }),
    }),
  },
  { outputFields: (t) => ({ step: t.field({ type: StepAttemptRef, resolve: (p) => p.step }) }) },
);

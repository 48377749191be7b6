import { badInput, notFound } from '../engine/core/errors.js';
import { DEFAULT_LOG_PAGE, LOG_PAGE_BYTES, MAX_CHUNK_BYTES, MAX_LOG_BYTES, MAX_LOG_PAGE } from '../engine/runs/step-logs.js';
import { REPORT, workerActor } from './scopes.js';
import { builder, parseId } from '../schema/builder.js';
import { liveSubscription, logAppendBudget } from '../schema/field-policy.js';
import { StepLogChunkRef, StepLogRef, StepLogStreamEnum } from '../schema/step-logs.js';

const PAGE_MIB = LOG_PAGE_BYTES / 1_048_576;

builder.queryField('stepLog', (t) =>
  t.field({
    type: StepLogRef,
    description:
      "A page of a step attempt's log (docs/domain.md#step-logs), in offset order: forwards with first/after, or backwards with last/before (the newest chunks, then older ones, as a log view scrolls back). " +
      `A page also stops at about ${PAGE_MIB} MiB of text (after at least one chunk). NOT_FOUND for an unknown step.`,
    args: {
      stepId: t.arg.id({ required: true, description: "The step attempt's global id (StepAttempt.id)." }),
      after: t.arg.int({
        description: 'A byte offset: the chunks that end past it (a chunk that straddles it is returned from it, at a character start). 0 when not given.',
      }),
      first: t.arg.int({ description: `Chunks per page walking forwards: ${DEFAULT_LOG_PAGE} when not given, 1 to ${MAX_LOG_PAGE} (else BAD_USER_INPUT).` }),
      before: t.arg.int({ description: "A byte offset: the chunks that end at or before it; the log's size when not given. Use with last." }),
      last: t.arg.int({
        description: `Chunks per page walking backwards from \`before\`: 1 to ${MAX_LOG_PAGE} (else BAD_USER_INPUT); not combined with first/after (BAD_USER_INPUT).`,
      }),
    },
    // The page's chunks count here (StepLog.chunks counts 1 each).
    extensions: { listSize: DEFAULT_LOG_PAGE, maxListSize: MAX_LOG_PAGE },
    resolve: (_, args, ctx) => ctx.engine.stepLogs.page(parseId(args.stepId, 'StepAttempt', 'stepId'), args),
  }),
);

builder.relayMutationField(
  'appendStepLog',
  {
    description: "A piece of a step's output and where it goes in the log.",
    inputFields: (t) => ({
      stepId: t.id({ required: true, description: "The step attempt's global id (StepAttempt.id); it must be RUNNING." }),
      offset: t.int({
        required: true,
        description: "The byte offset of the text's first byte: the log's size (StepLog.size, or the size the last append answered). An earlier offset resends bytes stored already.",
      }),
      stream: t.field({ type: StepLogStreamEnum, defaultValue: 'stdout', description: 'The output stream the text came from; STDOUT when not given.' }),
      text: t.string({ required: true, description: `The output, byte for byte: 1 to ${MAX_CHUNK_BYTES.toLocaleString('en-US')} UTF-8 bytes (else BAD_USER_INPUT).` }),
    }),
  },
  {
    authScopes: REPORT,
    extensions: logAppendBudget,
    description:
      "Appends a tool's output to a RUNNING step's log. Idempotent by offset, so a worker may resend after a lost reply: offset = size appends; " +
      'offset + bytes <= size stores nothing (duplicate: true); offset < size < offset + bytes appends only the bytes past size; offset > size is BAD_USER_INPUT ' +
      `with extensions.expectedOffset (a gap). A log grows to ${MAX_LOG_BYTES.toLocaleString('en-US')} bytes at most (BAD_USER_INPUT with extensions.limit maxLogBytes: stop sending). ` +
      'NOT_FOUND for an unknown step, INVALID_TRANSITION once it has ended. Counts against its own per-token budget (UET_RATE_LIMIT_LOG_APPENDS). ' +
      'Needs OPERATE, or WORKER: a WORKER-only token only on a step it started, while one of its workers holds a task of the run, else FORBIDDEN.',
    resolve: (_, { input }, ctx) => ctx.engine.stepLogs.append(workerActor(ctx, true), { ...input, stepId: parseId(input.stepId, 'StepAttempt', 'stepId') }),
  },
  {
    description: 'What appendStepLog returns.',
    outputFields: (t) => ({
      size: t.exposeInt('size', { description: "The log's size now: the offset the next append names." }),
      cutBytes: t.exposeInt('cutBytes', { description: 'Bytes of the log no longer stored (cut from its middle); 0 when none.' }),
      duplicate: t.exposeBoolean('duplicate', { description: 'Every byte sent was stored already: nothing was written.' }),
    }),
  },
);

builder.subscriptionField('stepLogAppended', (t) =>
  t.field({
    ...liveSubscription(StepLogChunkRef),
    description:
      "A step attempt's log as it is appended, chunk by chunk. With `after` (a byte offset) it first replays the stored chunks past it, then continues live, " +
      'without gap or duplicate. It completes once the step has ended (completeStep, its run ending, or the task attempt it ran in ending) and every chunk is delivered ' +
      '(at once, after the replay, for a step that has ended). ' +
      'Chunks of a cut region are not delivered: offsets jump from cutFrom to cutTo. NOT_FOUND for an unknown step. ' +
      'A subscriber 10,000 chunks (or 16 MiB) behind is ended with SLOW_CONSUMER: resubscribe with after: the endOffset of the last chunk it got.',
    args: {
      stepId: t.arg.id({ required: true, description: "The step attempt's global id (StepAttempt.id)." }),
      after: t.arg.int({ description: 'A byte offset: replay the stored chunks that end past it first. Live chunks only when omitted.' }),
    },
    subscribe: async (_, args, ctx) => {
      const stepId = parseId(args.stepId, 'StepAttempt', 'stepId');
      if (!(await ctx.loaders.step.load(stepId))) throw notFound('StepAttempt', stepId);
      if (args.after != null && (!Number.isSafeInteger(args.after) || args.after < 0)) throw badInput('after', 'must be a byte offset (a whole number >= 0)');
      return ctx.engine.stepLogFeed.stream({ stepId, after: args.after ?? null });
    },
  }),
);

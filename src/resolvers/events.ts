import { badInput, notFound } from '../engine/core/errors.js';
import type { RunEventKind } from '../engine/runs/entities.js';
import type { RunEventStreamOptions } from '../engine/runs/event-feed.js';
import { decodeEventCursor } from '../engine/runs/run-queries.js';
import { OPERATE } from './scopes.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { liveSubscription } from '../schema/field-policy.js';
import type { GatewayContext } from '../schema/context.js';
import { MAX_EVENT_BATCH, RunEventBatchRef, RunEventConnection, RunEventKindEnum, RunEventRef } from '../schema/runs.js';

builder.queryField('runEvents', (t) =>
  t.field({
    type: RunEventConnection,
    description:
      "A run's event log in log order (oldest first): forwards with first/after, or backwards with last/before (the latest events, then older pages, as a log view scrolls back). NOT_FOUND for an unknown run.",
    args: {
      runId: t.arg.id({ required: true, description: "The run's global id (Run.id)." }),
      after: t.arg.string({ description: "An event's cursor (RunEvent.cursor or an edge cursor): the page starts right after it." }),
      first: t.arg.int({ description: 'Page size walking forwards from `after` (or from the start): 20 when not given, at most 100 (more is BAD_USER_INPUT).' }),
      before: t.arg.string({ description: "An event's cursor (RunEvent.cursor or an edge cursor): the page ends right before it; use with last." }),
      last: t.arg.int({
        description: 'Page size walking backwards from `before` (or from the end of the log): 20 when not given, at most 100 (more is BAD_USER_INPUT); not combined with first/after.',
      }),
      kinds: t.arg({ type: [RunEventKindEnum], description: 'Only events of these kinds; every kind when omitted or empty.' }),
    },
    resolve: (_, args, ctx) =>
      ctx.engine.queries.eventsPage({ runId: parseId(args.runId, 'Run', 'runId'), kinds: args.kinds }, { first: args.first, after: args.after, last: args.last, before: args.before }),
  }),
);

builder.relayMutationField(
  'addRunNote',
  {
    description: 'The run to annotate and the note.',
    inputFields: (t) => ({
      runId: t.id({ required: true, description: "The run's global id (Run.id); any state, final ones included." }),
      message: t.string({ required: true, description: 'The note, 1 to 1,000,000 characters; it goes into the payload as message.' }),
      payload: t.field({
        type: 'JSON',
        description: 'A JSON object stored with the note (a message key in it is replaced by message); anything else is BAD_USER_INPUT.',
      }),
    }),
  },
  {
    authScopes: OPERATE,
    description: "Appends a NOTE event to a run's log, whatever its state. NOT_FOUND for an unknown run. Needs OPERATE.",
    resolve: async (_, { input }, ctx) => ({
      event: await ctx.engine.runs.addRunNote({ ...input, runId: parseId(input.runId, 'Run', 'runId') }),
    }),
  },
  {
    description: 'What addRunNote returns.',
    outputFields: (t) => ({ event: t.field({ type: RunEventRef, description: 'The NOTE event appended.', resolve: (p) => p.event }) }),
  },
);

type SubscriptionFieldBuilder = Parameters<Parameters<typeof builder.subscriptionField>[1]>[0];

/** What runEvents and runEventBatches both take: which events, from where, and until when. */
function streamArgs(t: SubscriptionFieldBuilder) {
  return {
    runId: t.arg.id({ description: "Only this run's events (its global id); NOT_FOUND for an unknown run. Every run's when omitted." }),
    projectId: t.arg.id({ description: "Only events of this project's runs (the plain project name, as in Run.projectId, not a global id)." }),
    after: t.arg.string({
      description: "An event's cursor (RunEvent.cursor, of any run): replay every later event first. Live events only when omitted.",
    }),
    kinds: t.arg({ type: [RunEventKindEnum], description: 'Only events of these kinds; every kind when omitted or empty.' }),
    follow: t.arg.boolean({
      defaultValue: false,
      description: "With runId: keep the stream open after the run has ended (false: it completes after the run's final event). No effect without runId.",
    }),
  };
}

interface StreamArgs {
  runId?: string | null;
  projectId?: string | null;
  after?: string | null;
  kinds?: RunEventKind[] | null;
  follow?: boolean | null;
}

/** The feed's options for these arguments, or null when no event can match. */
async function streamOptions(args: StreamArgs, ctx: GatewayContext): Promise<RunEventStreamOptions | null> {
  const runId = parseOptionalId(args.runId, 'Run', 'runId');
  const after = args.after != null ? decodeEventCursor(args.after, 'after') : null;
  const run = runId ? await ctx.loaders.run.load(runId) : null;
  if (runId && !run) throw notFound('Run', runId);
  // A run never changes project: no event of it can match.
  if (run && args.projectId != null && run.projectId !== args.projectId) return null;
  return { runId, projectId: args.projectId, after, kinds: args.kinds, untilRunEnds: !args.follow };
}

const STREAM_DESCRIPTION =
  "With `after` (an event's cursor) it first replays " +
  'every stored event after it, then continues live, without gap or duplicate. With `runId` it completes once the run has ended ' +
  '(the RUN_STATE_CHANGED event to SUCCEEDED, FAILED, CANCELED or QUARANTINED) and the events its ending wrote with it are delivered; ' +
  'on a run that has already ended it replays what follows `after` (nothing without it) and completes. `follow: true` keeps it open ' +
  'instead, for what comes later (notes, a FAILED run quarantined, tasks that still report). Without `runId` it never completes. ' +
  'A subscriber 10,000 events behind is ended with SLOW_CONSUMER; resubscribe with the last cursor it got.';

builder.subscriptionField('runEvents', (t) =>
  t.field({
    ...liveSubscription(RunEventRef),
    description: `Run events as they are appended, of one run, of one project's runs, or of all. ${STREAM_DESCRIPTION}`,
    args: streamArgs(t),
    subscribe: async (_, args, ctx) => {
      const options = await streamOptions(args, ctx);
      return options ? ctx.engine.feed.stream(options) : emptyStream();
    },
  }),
);

/** Batches are also cut at about this many bytes of events (payloads and a margin each), well under UET_MAX_EVENT_BYTES' default. */
const EVENT_BATCH_BYTES = 256 * 1024;
const DEFAULT_EVENT_BATCH = 100;

builder.subscriptionField('runEventBatches', (t) =>
  t.field({
    ...liveSubscription(RunEventBatchRef),
    description:
      `The events of runEvents, in the same order, in batches: each message carries the events ready at once (up to \`size\`, and about ${EVENT_BATCH_BYTES / 1024} KiB) ` +
      `and the cursor of its last one. A client catching up on a long log gets a page per message rather than an event. ${STREAM_DESCRIPTION}`,
    args: {
      ...streamArgs(t),
      size: t.arg.int({
        description: `At most this many events per batch: ${DEFAULT_EVENT_BATCH} when not given, 1 to ${MAX_EVENT_BATCH} (anything else is BAD_USER_INPUT).`,
      }),
    },
    subscribe: async (_, args, ctx) => {
      const size = args.size ?? DEFAULT_EVENT_BATCH;
      if (!Number.isInteger(size) || size < 1 || size > MAX_EVENT_BATCH) throw badInput('size', `must be between 1 and ${MAX_EVENT_BATCH}`, { max: MAX_EVENT_BATCH });
      const options = await streamOptions(args, ctx);
      return options ? ctx.engine.feed.batches(options, { events: size, bytes: EVENT_BATCH_BYTES }) : emptyStream();
    },
  }),
);

async function* emptyStream(): AsyncGenerator<never> {}

import { notFound } from '../engine/core/errors.js';
import { decodeEventCursor } from '../engine/runs/run-queries.js';
import { OPERATE } from './scopes.js';
import { builder, parseId, parseOptionalId } from '../schema/builder.js';
import { refreshLoaders } from '../schema/loaders.js';
import { RunEventConnection, RunEventKindEnum, RunEventRef } from '../schema/runs.js';

builder.queryField('runEvents', (t) =>
  t.field({
    type: RunEventConnection,
    description: "A run's event log in order.",
    args: {
      runId: t.arg.id({ required: true }),
      after: t.arg.string(),
      first: t.arg.int(),
      kinds: t.arg({ type: [RunEventKindEnum] }),
    },
    resolve: (_, args, ctx) =>
      ctx.engine.queries.eventsPage(
        { runId: parseId(args.runId, 'Run', 'runId'), kinds: args.kinds },
        { first: args.first, after: args.after },
      ),
  }),
);

builder.relayMutationField(
  'addRunNote',
  {
    inputFields: (t) => ({
      runId: t.id({ required: true }),
      message: t.string({ required: true }),
      payload: t.field({ type: 'JSON', description: 'A JSON object stored with the note.' }),
    }),
  },
  {
    authScopes: OPERATE,
    resolve: async (_, { input }, ctx) => ({
      event: await ctx.engine.runs.addRunNote({ ...input, runId: parseId(input.runId, 'Run', 'runId') }),
    }),
  },
  { outputFields: (t) => ({ event: t.field({ type: RunEventRef, resolve: (p) => p.event }) }) },
);

builder.subscriptionField('runEvents', (t) =>
  t.field({
    type: RunEventRef,
    description:
      "Run events as they are appended, of one run or of all. With `after` (an event's cursor) it first replays " +
      'every stored event after it, then continues live, without gap or duplicate.',
    args: { runId: t.arg.id(), after: t.arg.string(), kinds: t.arg({ type: [RunEventKindEnum] }) },
    subscribe: async (_, args, ctx) => {
      const runId = parseOptionalId(args.runId, 'Run', 'runId');
      const after = args.after != null ? decodeEventCursor(args.after, 'after') : null;
      if (runId && !(await ctx.loaders.run.load(runId))) throw notFound('Run', runId);
      return ctx.engine.feed.stream({ runId, after, kinds: args.kinds });
    },
    resolve: (event, _, ctx) => {
      refreshLoaders(ctx);
      return event;
    },
  }),
);

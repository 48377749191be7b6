import type { StepLogChunkView, StepLogPage } from '../engine/runs/step-logs.js';
import { builder } from './builder.js';

export const StepLogStreamEnum = builder.enumType('StepLogStream', {
  description: "Which of the tool's output streams a chunk of a step log came from.",
  values: {
    STDOUT: { value: 'stdout', description: 'Standard output.' },
    STDERR: { value: 'stderr', description: 'Standard error.' },
  } as const,
});

export const StepLogChunkRef = builder.objectRef<StepLogChunkView>('StepLogChunk').implement({
  description: "Consecutive UTF-8 text of a step's log, as one appendStepLog stored it (docs/domain.md#step-logs). Offsets count UTF-8 bytes from the start of the log, bytes cut later included.",
  fields: (t) => ({
    offset: t.exposeInt('offset', {
      description: "The byte offset of the text's first byte (later than where the chunk was stored when a page or `after` starts inside it: at a character's start).",
    }),
    endOffset: t.exposeInt('endOffset', { description: "offset + the text's UTF-8 byte length: pass it as `after` to resume right after this chunk." }),
    stream: t.expose('stream', { type: StepLogStreamEnum, description: 'The output stream it came from.' }),
    text: t.exposeString('text', { description: 'The text, byte for byte as appended (at most 65,536 UTF-8 bytes).' }),
    at: t.expose('at', { type: 'DateTime', description: 'When the gateway stored it.' }),
  }),
});

export const StepLogRef = builder.objectRef<StepLogPage>('StepLog').implement({
  description:
    "A page of a step attempt's log, and what is known of the whole log. A log keeps at most UET_STEP_LOG_MAX_BYTES: its first quarter (the head) and its newest tail; the bytes between are cut (cutFrom..cutTo).",
  fields: (t) => ({
    chunks: t.field({
      type: [StepLogChunkRef],
      description: 'The chunks of this page in offset order (also for a backward page); offsets jump from cutFrom to cutTo where the log was cut.',
      // The stepLog field counts the page size (src/server/cost.ts).
      extensions: { listSize: 1 },
      resolve: (page) => page.chunks,
    }),
    size: t.exposeInt('size', { description: 'Bytes appended in all, cut ones included: the offset the next append must name.' }),
    cutBytes: t.exposeInt('cutBytes', { description: 'Bytes no longer stored (the middle of a log over the per-step maximum); 0 when none.' }),
    cutFrom: t.exposeInt('cutFrom', { nullable: true, description: 'The first offset no longer stored; null when nothing was cut.' }),
    cutTo: t.exposeInt('cutTo', { nullable: true, description: 'The first offset stored again after the cut; null when nothing was cut.' }),
    hasMore: t.exposeBoolean('hasMore', {
      description: 'A forward page: chunks follow its last one (ask again with after: its endOffset); a backward page: chunks precede its first one (ask with before: its offset).',
    }),
    complete: t.exposeBoolean('complete', { description: 'The step has ended: the log will not grow.' }),
  }),
});

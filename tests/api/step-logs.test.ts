import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, codes, createRun, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

/**
 * Step logs (docs/domain.md#step-logs): appends by byte offset, idempotent
 * resends, bounds, pages both ways, and stepLogAppended's replay, live
 * tail and completion, over HTTP, graphql-ws and SSE.
 */

let server: TestServer;
const ok = <T = any>(query: string, variables?: Record<string, unknown>, token?: string) => server.ok<T>(query, variables, token === undefined ? undefined : { token });

const APPEND = `mutation($input: AppendStepLogInput!) { appendStepLog(input: $input) { size cutBytes duplicate } }`;
const PAGE = `query($id: ID!, $after: Int, $first: Int, $before: Int, $last: Int) {
  stepLog(stepId: $id, after: $after, first: $first, before: $before, last: $last) {
    chunks { offset endOffset stream text at } size cutBytes cutFrom cutTo hasMore complete
  }
}`;
const FOLLOW = `subscription($id: ID!, $after: Int) { stepLogAppended(stepId: $id, after: $after) { offset endOffset stream text } }`;

const bytes = (text: string) => Buffer.byteLength(text);
/** The tests that write megabytes or hundreds of appends: room for a loaded machine. */
const HEAVY_TEST_MS = 90_000;

async function runningStep(target: TestServer = server, token?: string): Promise<{ runId: string; stepId: string }> {
  const runId = await createRun(target);
  await target.ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
  const { startStep } = await target.ok(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "tool"}) { step { id } } }`, { r: runId }, token === undefined ? undefined : { token });
  return { runId, stepId: startStep.step.id };
}

function append(stepId: string, offset: number, text: string, stream = 'STDOUT', token?: string): Promise<GraphQLResponse> {
  return server.gql(APPEND, { input: { stepId, offset, text, stream } }, token === undefined ? undefined : { token });
}

/** Appends `pieces` one after the other; returns the log's size. */
async function appendAll(stepId: string, pieces: string[], target: TestServer = server): Promise<number> {
  let size = 0;
  for (const text of pieces) {
    const { appendStepLog } = await target.ok(APPEND, { input: { stepId, offset: size, text } });
    size = appendStepLog.size;
  }
  return size;
}

/** Every chunk of the log, forwards, page by page. */
async function readAll(stepId: string, first = 500): Promise<{ offset: number; endOffset: number; stream: string; text: string }[]> {
  const chunks = [];
  let after = 0;
  for (;;) {
    const { stepLog } = await ok(PAGE, { id: stepId, after, first });
    chunks.push(...stepLog.chunks);
    if (!stepLog.hasMore) return chunks;
    after = stepLog.chunks.at(-1).endOffset;
  }
}

const textOf = (chunks: { text: string }[]) => chunks.map((c) => c.text).join('');

beforeAll(async () => {
  server = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0, logAppendsPerMinute: 0 } });
});

afterAll(async () => {
  await server?.stop();
});

describe('appendStepLog and stepLog', () => {
  it('stores both streams byte-exact, multi-byte UTF-8 included, with offsets in bytes', async () => {
    const { stepId } = await runningStep();
    const pieces = ['héllo wörld\n', '日本語のログ\n', '🎉 done\r\n', 'tab\tand NUL \u0000 kept\n'];
    let offset = 0;
    for (const [i, text] of pieces.entries()) {
      const res = await append(stepId, offset, text, i % 2 === 0 ? 'STDOUT' : 'STDERR');
      expect(res.errors).toBeUndefined();
      offset += bytes(text);
      expect(res.data.appendStepLog).toEqual({ size: offset, cutBytes: 0, duplicate: false });
    }
    const { stepLog } = await ok(PAGE, { id: stepId });
    expect(stepLog).toMatchObject({ size: offset, cutBytes: 0, cutFrom: null, cutTo: null, hasMore: false, complete: false });
    expect(stepLog.chunks.map((c: any) => [c.offset, c.endOffset, c.stream, c.text])).toEqual(
      pieces.map((text, i) => {
        const start = pieces.slice(0, i).reduce((n, p) => n + bytes(p), 0);
        return [start, start + bytes(text), i % 2 === 0 ? 'STDOUT' : 'STDERR', text];
      }),
    );
    expect(Date.parse(stepLog.chunks[0].at)).not.toBeNaN();
  });

  it('a page that starts inside a chunk returns it from there, at a character start', async () => {
    const { stepId } = await runningStep();
    await appendAll(stepId, ['ab日本', 'cd']);
    // 'ab' is 2 bytes, '日' 3: offset 3 is inside '日', so the text starts at '本' (offset 5).
    const { stepLog } = await ok(PAGE, { id: stepId, after: 3 });
    expect(stepLog.chunks.map((c: any) => [c.offset, c.endOffset, c.text])).toEqual([
      [5, 8, '本'],
      [8, 10, 'cd'],
    ]);
    const exact = await ok(PAGE, { id: stepId, after: 2 });
    expect(exact.stepLog.chunks[0]).toMatchObject({ offset: 2, text: '日本' });
  });

  it('is idempotent by offset: a duplicate stores nothing, an overlap only what is new, a gap names the expected offset', async () => {
    const { stepId } = await runningStep();
    expect((await append(stepId, 0, 'hello ')).data.appendStepLog).toEqual({ size: 6, cutBytes: 0, duplicate: false });
    // The reply was lost: the same append again.
    expect((await append(stepId, 0, 'hello ')).data.appendStepLog).toEqual({ size: 6, cutBytes: 0, duplicate: true });
    expect((await append(stepId, 2, 'llo')).data.appendStepLog).toEqual({ size: 6, cutBytes: 0, duplicate: true });
    // A resend that overlaps: only the bytes past the size are stored.
    expect((await append(stepId, 3, 'lo wörld')).data.appendStepLog).toEqual({ size: 6 + bytes('wörld'), cutBytes: 0, duplicate: false });
    const size = 6 + bytes('wörld');
    const gap = await append(stepId, size + 5, 'later');
    expect(codes(gap)).toEqual(['BAD_USER_INPUT']);
    expect(gap.errors![0]!.extensions).toMatchObject({ field: 'offset', expectedOffset: size });
    expect(gap.data?.appendStepLog ?? null).toBeNull();
    // A resend that overlaps by one byte ('d' stored already) appends 'é'.
    expect((await append(stepId, size - 1, 'dé')).data.appendStepLog).toEqual({ size: size + 2, cutBytes: 0, duplicate: false });
    // One whose first new byte would fall inside a character is not the text stored.
    const misaligned = await append(stepId, size + 1, 'éy');
    expect(codes(misaligned)).toEqual(['BAD_USER_INPUT']);
    expect(misaligned.errors![0]!.extensions).toMatchObject({ field: 'offset', expectedOffset: size + 2 });
    expect(textOf(await readAll(stepId))).toBe('hello wörldé');
  });

  it('refuses an append to a step that has ended, and a log reads complete then', async () => {
    const { stepId } = await runningStep();
    await appendAll(stepId, ['out\n']);
    await ok(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: stepId });
    const res = await append(stepId, 4, 'more');
    expect(codes(res)).toEqual(['INVALID_TRANSITION']);
    expect(res.errors![0]!.extensions).toMatchObject({ currentState: 'SUCCEEDED' });
    const { stepLog } = await ok(PAGE, { id: stepId });
    expect(stepLog).toMatchObject({ size: 4, complete: true });
    expect(textOf(stepLog.chunks)).toBe('out\n');
  });

  it('answers NOT_FOUND for an unknown step, on the query, the mutation and the subscription', async () => {
    const missing = 'StepAttempt:01JAAAAAAAAAAAAAAAAAAAAAAA';
    const unknown = Buffer.from(missing).toString('base64url');
    for (const res of [await server.gql(PAGE, { id: unknown }), await append(unknown, 0, 'x')]) expect(codes(res)).toEqual(['NOT_FOUND']);
    const client = server.wsClient();
    const sub = subscribe(client, FOLLOW, { id: unknown });
    await sub.done;
    expect(codes(sub.results[0]!)).toEqual(['NOT_FOUND']);
    await client.dispose();
  });
});

describe('limits', () => {
  it('refuses a chunk over 64 KiB, an empty one, and bad offsets, changing nothing', async () => {
    const { stepId } = await runningStep();
    const big = await append(stepId, 0, 'é'.repeat(32_769));
    expect(codes(big)).toEqual(['BAD_USER_INPUT']);
    expect(big.errors![0]!.extensions).toMatchObject({ field: 'text', limit: 'maxChunkBytes', max: 65_536 });
    expect(big.errors![0]!.message).toMatch(/65538 UTF-8 bytes, at most 65536/);
    expect((await append(stepId, 0, 'x'.repeat(65_536))).errors).toBeUndefined();
    expect(codes(await append(stepId, 65_536, ''))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await append(stepId, -1, 'x'))).toEqual(['BAD_USER_INPUT']);
    expect((await ok(PAGE, { id: stepId })).stepLog.size).toBe(65_536);
  });

  it('refuses first/last out of range and after/first mixed with before/last, over HTTP and graphql-ws', async () => {
    const { stepId } = await runningStep();
    const bad = [{ first: 0 }, { first: 501 }, { last: 0 }, { last: 501 }, { after: 0, last: 5 }, { first: 5, before: 10 }, { after: -1 }, { before: -1, last: 1 }];
    for (const args of bad) {
      const res = await server.gql(PAGE, { id: stepId, ...args });
      expect(codes(res), JSON.stringify(args)).toEqual(['BAD_USER_INPUT']);
    }
    expect((await server.gql(PAGE, { id: stepId, first: 501 })).errors![0]!.extensions).toMatchObject({ field: 'first', max: 500 });
    const client = server.wsClient();
    try {
      for (const args of [{ first: 501 }, { after: 1, last: 1 }]) {
        const sub = subscribe(client, PAGE, { id: stepId, ...args });
        await sub.done;
        expect(codes(sub.results[0]!)).toEqual(['BAD_USER_INPUT']);
      }
      const append = subscribe(client, APPEND, { input: { stepId, offset: 0, text: 'x'.repeat(65_537) } });
      await append.done;
      expect(codes(append.results[0]!)).toEqual(['BAD_USER_INPUT']);
      const negative = subscribe(client, FOLLOW, { id: stepId, after: -5 });
      await negative.done;
      expect(codes(negative.results[0]!)).toEqual(['BAD_USER_INPUT']);
    } finally {
      await client.dispose();
    }
  });

  it('counts appendStepLog against its own per-token budget', async () => {
    const limited = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 100, logAppendsPerMinute: 3 } });
    try {
      const { stepId } = await runningStep(limited);
      let size = 0;
      for (let i = 0; i < 3; i += 1) size = (await limited.ok(APPEND, { input: { stepId, offset: size, text: 'x' } })).appendStepLog.size;
      const refused = await limited.gql(APPEND, { input: { stepId, offset: size, text: 'x' } });
      expect(codes(refused)).toEqual(['RATE_LIMITED']);
      // The general budget is untouched by appends.
      expect((await limited.gql(`mutation($r: ID!) { addRunNote(input: {runId: $r, message: "m"}) { event { id } } }`, { r: (await runningStep(limited)).runId })).errors).toBeUndefined();
    } finally {
      await limited.stop();
    }
  });
});

describe('head and tail', () => {
  it('keeps the first quarter and the newest tail within UET_STEP_LOG_MAX_BYTES, and says what was cut', async () => {
    const small = await startTestServer({ jobs: { reaperIntervalMs: 0 }, limits: { mutationsPerMinute: 0, logAppendsPerMinute: 0, stepLogMaxBytes: 1000 } });
    try {
      const { stepId } = await runningStep(small);
      // 40 chunks of 100 bytes (each line names its index): 4000 bytes appended, 1000 kept at most.
      const pieces = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(3, '0')} ${'é'.repeat(47)}.\n`);
      for (const piece of pieces) expect(bytes(piece)).toBe(100);
      let last: any;
      let size = 0;
      for (const text of pieces) {
        last = (await small.ok(APPEND, { input: { stepId, offset: size, text } })).appendStepLog;
        size = last.size;
      }
      // Head: the chunks that end within the first 250 bytes (2); the tail keeps the newest chunks within the other 800 bytes (8).
      expect(last).toEqual({ size: 4000, cutBytes: 3000, duplicate: false });
      const { stepLog } = await small.ok(PAGE, { id: stepId, first: 500 });
      expect(stepLog).toMatchObject({ size: 4000, cutFrom: 200, cutTo: 3200, cutBytes: 3000, hasMore: false });
      expect(stepLog.chunks.map((c: any) => c.offset)).toEqual([0, 100, 3200, 3300, 3400, 3500, 3600, 3700, 3800, 3900]);
      expect(textOf(stepLog.chunks)).toBe(pieces.slice(0, 2).join('') + pieces.slice(32).join(''));
      // A page asked for inside the cut starts at the tail.
      const inside = await small.ok(PAGE, { id: stepId, after: 1000, first: 1 });
      expect(inside.stepLog.chunks[0]).toMatchObject({ offset: 3200, text: pieces[32] });
      // A chunk larger than the tail's room is not kept either; offsets go on counting.
      const huge = 'z'.repeat(900);
      expect((await small.ok(APPEND, { input: { stepId, offset: 4000, text: huge } })).appendStepLog).toEqual({ size: 4900, cutBytes: 4700, duplicate: false });
      const after = await small.ok(PAGE, { id: stepId });
      expect(after.stepLog).toMatchObject({ cutFrom: 200, cutTo: 4900, cutBytes: 4700 });
      expect(textOf(after.stepLog.chunks)).toBe(pieces.slice(0, 2).join(''));
      // And the next small one is the tail again.
      await small.ok(APPEND, { input: { stepId, offset: 4900, text: 'tail\n' } });
      expect(textOf((await small.ok(PAGE, { id: stepId })).stepLog.chunks)).toBe(pieces.slice(0, 2).join('') + 'tail\n');
    } finally {
      await small.stop();
    }
  });
});

describe('paging', () => {
  it(
    'walks forwards and backwards in offset order, and a page stops at about 1 MiB of text',
    async () => {
      const { stepId } = await runningStep();
      // 40 chunks of 60,000 bytes: 2.4 MB, more than two pages by bytes.
      const pieces = Array.from({ length: 40 }, (_, i) => String(i).padStart(2, '0').repeat(30_000));
      const size = await appendAll(stepId, pieces);
      expect(size).toBe(2_400_000);
      const first = await ok(PAGE, { id: stepId, first: 500 });
      // 17 chunks are 1,020,000 bytes; an 18th would pass 1 MiB (1,048,576).
      expect(first.stepLog.chunks).toHaveLength(17);
      expect(first.stepLog.hasMore).toBe(true);
      expect(textOf(await readAll(stepId))).toBe(pieces.join(''));
      // Forwards with a small page.
      const few = await ok(PAGE, { id: stepId, first: 3 });
      expect(few.stepLog.chunks.map((c: any) => c.offset)).toEqual([0, 60_000, 120_000]);
      // Backwards: the newest chunks first, each page in offset order, until the start.
      const pages = [];
      let before: number | undefined;
      for (;;) {
        const { stepLog } = await ok(PAGE, { id: stepId, last: 7, before });
        pages.push(stepLog.chunks.map((c: any) => c.offset / 60_000));
        if (!stepLog.hasMore) break;
        before = stepLog.chunks[0].offset;
      }
      expect(pages[0]).toEqual([33, 34, 35, 36, 37, 38, 39]);
      expect(pages.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(pages.at(-1)).toEqual([0, 1, 2, 3, 4]);
      // Backwards by bytes too.
      const back = await ok(PAGE, { id: stepId, last: 500 });
      expect(back.stepLog.chunks).toHaveLength(17);
      expect(back.stepLog.chunks.at(-1).endOffset).toBe(size);
      // `before` inside a chunk: only the chunks that end at or before it.
      const inside = await ok(PAGE, { id: stepId, last: 2, before: 150_000 });
      expect(inside.stepLog.chunks.map((c: any) => c.offset)).toEqual([0, 60_000]);
    },
    HEAVY_TEST_MS,
  );

  it('costs the page size it asks for', async () => {
    const { stepId } = await runningStep();
    const cheap = await server.gql(`query($id: ID!) { stepLog(stepId: $id, first: 1) { chunks { text } } }`, { id: stepId });
    expect(cheap.errors).toBeUndefined();
    const limited = await startTestServer({ limits: { maxCost: 400 } });
    try {
      const step = await runningStep(limited);
      const query = `query($id: ID!, $n: Int) { stepLog(stepId: $id, first: $n) { chunks { offset endOffset stream text at } } }`;
      expect((await limited.gql(query, { id: step.stepId, n: 10 })).errors).toBeUndefined();
      const refused = await limited.gql(query, { id: step.stepId, n: 500 });
      expect(codes(refused)).toEqual(['QUERY_LIMIT_EXCEEDED']);
      // Not given: the default page of 100 is counted.
      expect(codes(await limited.gql(query, { id: step.stepId }))).toEqual(['QUERY_LIMIT_EXCEEDED']);
    } finally {
      await limited.stop();
    }
  });
});

describe('stepLogAppended', () => {
  it('delivers chunks live, and completes once completeStep has ended the step and every chunk is out', async () => {
    const { stepId } = await runningStep();
    const client = server.wsClient();
    try {
      const sub = subscribe(client, FOLLOW, { id: stepId });
      await until(() => server.engine.stepLogFeed.openStreams === 1, 'the subscription to attach');
      const size = await appendAll(stepId, ['one\n', 'twö\n', 'three\n']);
      await sub.next(3);
      await ok(`mutation($id: ID!) { completeStep(input: {id: $id, state: FAILED, exitCode: 2}) { step { state } } }`, { id: stepId });
      await sub.done;
      expect(sub.results.map((r) => r.data.stepLogAppended.text).join('')).toBe('one\ntwö\nthree\n');
      expect(sub.results.at(-1)!.data.stepLogAppended.endOffset).toBe(size);
    } finally {
      await client.dispose();
    }
  });

  it('completes when the run is canceled, which cancels its running step', async () => {
    const { runId, stepId } = await runningStep();
    await appendAll(stepId, ['before\n']);
    const client = server.wsClient();
    try {
      const sub = subscribe(client, FOLLOW, { id: stepId, after: 0 });
      await sub.next(1);
      await ok(`mutation($id: ID!) { cancelRun(input: {id: $id}) { run { state } } }`, { id: runId });
      await sub.done;
      expect(sub.results.map((r) => r.data.stepLogAppended.text)).toEqual(['before\n']);
    } finally {
      await client.dispose();
    }
  });

  it('replays an ended step from an offset and completes at once', async () => {
    const { stepId } = await runningStep();
    await appendAll(stepId, ['a\n', 'b\n', 'c\n']);
    await ok(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: stepId });
    const client = server.wsClient();
    try {
      const replay = subscribe(client, FOLLOW, { id: stepId, after: 2 });
      await replay.done;
      expect(replay.results.map((r) => r.data.stepLogAppended.text)).toEqual(['b\n', 'c\n']);
      const live = subscribe(client, FOLLOW, { id: stepId });
      await live.done;
      expect(live.results).toEqual([]);
    } finally {
      await client.dispose();
    }
  });

  it(
    'resumes from an offset while a writer keeps appending: no gap, no duplicate',
    async () => {
      const { stepId } = await runningStep();
      const expected: string[] = [];
      for (let i = 0; i < 200; i += 1) expected.push(`line ${i} ✓\n`);
      // More than one read of the replay (100 chunks each), so that appends commit while it runs.
      let size = await appendAll(stepId, expected.slice(0, 150));
      const client = server.wsClient();
      try {
        const resumeAt = bytes(expected.slice(0, 5).join(''));
        const sub = subscribe(client, FOLLOW, { id: stepId, after: resumeAt });
        // The writer goes on while the subscriber replays.
        for (const text of expected.slice(150)) size = (await ok(APPEND, { input: { stepId, offset: size, text } })).appendStepLog.size;
        await ok(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: stepId });
        await sub.done;
        const chunks = sub.results.map((r) => r.data.stepLogAppended);
        expect(chunks.map((c) => c.text).join('')).toBe(expected.slice(5).join(''));
        for (let i = 1; i < chunks.length; i += 1) expect(chunks[i].offset).toBe(chunks[i - 1].endOffset);
        expect(chunks[0].offset).toBe(resumeAt);
      } finally {
        await client.dispose();
      }
    },
    HEAVY_TEST_MS,
  );

  it('streams over Server-Sent Events too, and completes', async () => {
    const { stepId } = await runningStep();
    await appendAll(stepId, ['sse ✓\n']);
    await ok(`mutation($id: ID!) { completeStep(input: {id: $id, state: SUCCEEDED}) { step { state } } }`, { id: stepId });
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${ADMIN_SECRET}` },
      body: JSON.stringify({ query: FOLLOW, variables: { id: stepId, after: 0 } }),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const body = await res.text();
    expect(body).toContain('"text":"sse ✓\\n"');
    expect(body).toMatch(/event: complete/);
  });
});

describe('who may append and read', () => {
  let workerToken: string;
  let otherWorkerToken: string;
  let readToken: string;

  const createToken = async (name: string, scopes: string[]) =>
    (await ok(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, { input: { name, scopes } })).createApiToken.token as string;

  const registerWorker = async (token: string) =>
    (await server.ok(`mutation { registerWorker(input: {type: EXECUTOR, config: {maxParallelTasks: 5}}) { worker { id } } }`, {}, { token })).registerWorker.worker.id as string;

  beforeAll(async () => {
    workerToken = await createToken('log-worker', ['WORKER']);
    otherWorkerToken = await createToken('log-other-worker', ['WORKER']);
    readToken = await createToken('log-reader', ['READ']);
  });

  it('a WORKER-only token appends to the steps it started while its worker holds a task of the run; others are FORBIDDEN', async () => {
    const runId = await createRun(server);
    await ok(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
    const workerId = await registerWorker(workerToken);
    const otherWorkerId = await registerWorker(otherWorkerToken);
    for (const [token, worker, kind] of [
      [workerToken, workerId, 'log-task-a'],
      [otherWorkerToken, otherWorkerId, 'log-task-b'],
    ]) {
      await ok(`mutation($r: ID!, $k: String!) { createTask(input: {kind: $k, runId: $r}) { task { id } } }`, { r: runId, k: kind });
      await server.ok(`mutation($w: ID!, $k: String!) { claimTask(input: {workerId: $w, kinds: [$k]}) { task { id } } }`, { w: worker, k: kind }, { token });
    }
    const { startStep } = await server.ok(`mutation($r: ID!) { startStep(input: {runId: $r, toolId: "tool"}) { step { id } } }`, { r: runId }, { token: workerToken });
    const stepId = startStep.step.id;
    expect((await append(stepId, 0, 'mine\n', 'STDOUT', workerToken)).errors).toBeUndefined();
    // Another worker token, though its worker holds a task of the same run, did not start the step.
    const other = await append(stepId, 5, 'theirs\n', 'STDOUT', otherWorkerToken);
    expect(codes(other)).toEqual(['FORBIDDEN']);
    expect(other.errors![0]!.message).toMatch(/may not report a step log/);
    // A read-only token reads, but does not append.
    const read = await server.gql(PAGE, { id: stepId }, { token: readToken });
    expect(textOf(read.data.stepLog.chunks)).toBe('mine\n');
    expect(codes(await append(stepId, 5, 'x', 'STDOUT', readToken))).toEqual(['FORBIDDEN']);
    // A worker token without the read scope does not read logs.
    expect(codes(await server.gql(PAGE, { id: stepId }, { token: workerToken }))).toEqual(['FORBIDDEN']);
    expect((await ok(PAGE, { id: stepId })).stepLog.size).toBe(5);
  });
});

describe('a hostile reader', () => {
  it(
    'asking for the largest pages of a large log does not stall another client',
    async () => {
      const { stepId } = await runningStep();
      await appendAll(
        stepId,
        Array.from({ length: 60 }, () => 'x'.repeat(65_536)),
      );
      const { stepId: quiet } = await runningStep();
      await appendAll(quiet, ['small\n']);
      // Four hostile readers ask for the costliest page (500 chunks of 64 KiB) over and over; each page stops at about 1 MiB.
      let stop = false;
      let heavyDone = 0;
      const hostile = async () => {
        while (!stop) {
          const page = await server.gql(PAGE, { id: stepId, first: 500 });
          expect(page.errors).toBeUndefined();
          expect(page.data.stepLog.chunks.length).toBeLessThanOrEqual(16);
          heavyDone += 1;
        }
      };
      const readers = Array.from({ length: 4 }, hostile);
      await until(() => heavyDone >= 4, 'the hostile readers to get going', 30_000);
      // Meanwhile another client makes five small reads. Each waits behind a few large pages at most, never
      // behind what the hostile readers asked for: counted in pages, not in time, so a loaded machine does not change the verdict.
      const before = heavyDone;
      for (let i = 0; i < 5; i += 1) expect(textOf((await server.gql(PAGE, { id: quiet })).data.stepLog.chunks)).toBe('small\n');
      const heavyDuringQuiet = heavyDone - before;
      stop = true;
      await Promise.all(readers);
      expect(heavyDuringQuiet).toBeLessThan(5 * 4 * 4);
    },
    HEAVY_TEST_MS,
  );
});

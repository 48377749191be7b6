import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, killChildGateways, startChildGateway, type ChildGateway } from './child-gateway.js';
import { auditDatabase } from './db-audit.js';
import { size } from './mode.js';
import { PROJECT, WriteLoad, WriteModel, post, prng, rawId, setProjectBudget } from './write-load.js';

/**
 * Graceful shutdown under load (issue 10): SIGTERM to a child-process
 * gateway while HTTP clients write and graphql-ws clients subscribe (and
 * one worker heartbeats over graphql-ws). It must exit 0 within a bound,
 * every graphql-ws client must see a clean close (1001, src/server/app.ts
 * stop()), every request must either be answered or fail at the connection
 * (closed or refused: never an error answer, never a hang), and after a
 * restart every acknowledged write is there (heartbeats included: shutdown
 * flushes them) with states, events and counters consistent.
 */

const HTTP_CLIENTS = size(4, 8);
/** Identical runEvents subscriptions (they share one execution) plus one runStateChanged and one workerHeartbeats. */
const EVENT_SUBSCRIBERS = size(6, 40);
const LOAD_MS = size(1500, 6000);
/** The exit bound: the drain waits at most 10 s for requests (app.ts DRAIN_MS), then flushes and closes. */
const EXIT_WITHIN_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Ending = { code: number; reason: string } | { completed: true } | { error: string };

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'number';
}

/** lazy: connect on the first operation and close (1000) after the last; not lazy: one connection kept open. */
function wsClient(wsUrl: string, { lazy = true, onClosed = () => {} }: { lazy?: boolean; onClosed?: (event: unknown) => void } = {}): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy,
    // A kept connection's close is reported through on.closed, not printed.
    onNonLazyError: () => {},
    connectionParams: { authorization: `Bearer ${ADMIN_SECRET}` },
    on: { closed: onClosed },
  });
}

const describeError = (error: unknown) => (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error) ? String((error as Error).message) : JSON.stringify(error));

interface Subscriber {
  name: string;
  results: any[];
  ended: Promise<Ending>;
  /** Set once it ended. */
  ending?: Ending;
}

function subscribe(wsUrl: string, name: string, query: string, variables: Record<string, unknown> = {}): Subscriber {
  const client = wsClient(wsUrl);
  const results: any[] = [];
  const ended = new Promise<Ending>((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (value) => results.push(value),
        error: (error) => resolve(isCloseEvent(error) ? { code: error.code, reason: error.reason } : { error: describeError(error) }),
        complete: () => resolve({ completed: true }),
      },
    );
  });
  const subscriber: Subscriber = { name, results, ended };
  void ended.then((ending) => (subscriber.ending = ending));
  return subscriber;
}

/**
 * A worker that heartbeats over one graphql-ws connection, as workers do
 * (docs/guide.md#workers-and-tasks), until a heartbeat fails; resolves to how its connection closed.
 */
async function wsWorker(url: string, wsUrl: string, model: WriteModel): Promise<Ending> {
  const registered = await post(url, `mutation { registerWorker(input: { type: EXECUTOR, config: { timeoutSeconds: 3600 } }) { worker { id state } } }`);
  if (!model.count('registerWorker', registered)) throw new Error(`registerWorker: ${JSON.stringify(registered)}`);
  const worker = registered.data.registerWorker.worker;
  model.created.worker.acked += 1;
  model.write('worker', rawId(worker.id), 'registerWorker', [worker.state.toLowerCase()], true);
  let closed: Ending | undefined;
  const client = wsClient(wsUrl, {
    lazy: false,
    onClosed: (event) => {
      closed ??= isCloseEvent(event) ? { code: event.code, reason: event.reason } : { error: describeError(event) };
    },
  });
  for (let progress = 0; ; progress = (progress + 1) % 100) {
    const outcome = await new Promise<{ data?: any; ending?: Ending }>((resolve) => {
      let data: any;
      client.subscribe(
        { query: `mutation($input: HeartbeatInput!) { heartbeat(input: $input) { worker { id lastHeartbeat } } }`, variables: { input: { workerId: worker.id, progress } } },
        {
          next: (value) => (data = value),
          error: (error) => resolve({ ending: isCloseEvent(error) ? { code: error.code, reason: error.reason } : { error: describeError(error) } }),
          complete: () => resolve(data?.data && !data.errors ? { data: data.data } : { ending: { error: JSON.stringify(data) } }),
        },
      );
    });
    if (outcome.data) {
      model.count('heartbeat (graphql-ws)', { kind: 'ok', data: outcome.data });
      model.heartbeats.push({ workerId: rawId(worker.id), at: Date.parse(outcome.data.heartbeat.worker.lastHeartbeat), ackedAt: Date.now() });
      await sleep(20);
      continue;
    }
    // Cut by the close, or (the socket closed between two beats) refused when the lazy client reconnects.
    const ending = outcome.ending!;
    const refused = 'error' in ending && /ECONNREFUSED/.test(ending.error);
    model.count(
      'heartbeat (graphql-ws)',
      'code' in ending ? { kind: 'dropped', detail: `closed ${ending.code}` } : refused ? { kind: 'refused', detail: ending.error } : { kind: 'error', detail: JSON.stringify(ending) },
    );
    return closed ?? ending;
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('graceful shutdown', () => {
  afterAll(killChildGateways);

  it(
    'SIGTERM under load: exits 0 within 20 s, graphql-ws clients see 1001, requests are answered or refused, no acknowledged write is lost',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'uet-sigterm-'));
      const file = join(dir, 'gateway.sqlite');
      const model = new WriteModel();
      let gateway: ChildGateway | null = null;
      try {
        gateway = await startChildGateway(file);
        await setProjectBudget(gateway.url, model);
        const subscribers = [
          ...Array.from({ length: EVENT_SUBSCRIBERS }, (_, i) => subscribe(gateway!.wsUrl, `runEvents #${i}`, `subscription { runEvents { id kind cursor } }`)),
          subscribe(gateway.wsUrl, 'runStateChanged', `subscription($p: ID) { runStateChanged(projectId: $p) { id state } }`, { p: PROJECT }),
          subscribe(gateway.wsUrl, 'workerHeartbeats', `subscription { workerHeartbeats { worker { id } progress } }`),
        ];
        const load = new WriteLoad(model, { clients: HTTP_CLIENTS, rng: prng(Number(process.env.UET_SIGTERM_SEED ?? 10)) });
        const writing = load.run(gateway.url);
        const beating = wsWorker(gateway.url, gateway.wsUrl, model);
        // Every kind of write has been acknowledged and every subscriber is live (has had an event) before the signal.
        const deadline = Date.now() + 120_000;
        const kinds = ['createRun', 'startRun', 'startStep', 'completeStep', 'createTask', 'claimTask', 'completeTask', 'heartbeat', 'createPatch', 'validatePatch', 'recordCost', 'completeRun'];
        while (kinds.some((op) => !model.ackedByOp[op])) {
          if (Date.now() > deadline) throw new Error(`no ${kinds.filter((op) => !model.ackedByOp[op]).join(', ')} acknowledged: ${model.unclean.join('; ')}`);
          await sleep(20);
        }
        while (subscribers.some((s) => s.results.length === 0)) {
          const silent = subscribers.filter((s) => s.results.length === 0);
          if (Date.now() > deadline || silent.some((s) => s.ending)) {
            throw new Error(`no event for ${silent.map((s) => `${s.name}${s.ending ? ` (ended: ${JSON.stringify(s.ending)})` : ''}`).join(', ')}`);
          }
          await sleep(20);
        }
        await sleep(LOAD_MS);

        const before = { ...model.outcomes };
        const signalledAt = Date.now();
        gateway.signal('SIGTERM');
        const status = await within(gateway.exited, 60_000, 'exit after SIGTERM');
        const exitMs = status.at - signalledAt;
        expect(status).toMatchObject({ code: 0, signal: null });
        expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);

        await within(writing, 30_000, 'HTTP clients ending');
        const wsWorkerEnding = await within(beating, 30_000, 'graphql-ws worker ending');
        const endings = await within(Promise.all(subscribers.map((s) => s.ended)), 30_000, 'subscribers closing');
        expect(endings.map((e, i) => [subscribers[i]!.name, e]).filter(([, e]) => !('code' in (e as Ending)) || (e as { code: number }).code !== 1001)).toEqual([]);
        expect(wsWorkerEnding).toMatchObject({ code: 1001 });
        // Answered, or failed at the connection: no error answer, no hang.
        expect(model.unclean).toEqual([]);
        expect(gateway.errorLines).toEqual([]);
        const afterSignal = {
          answered: model.outcomes.ok - before.ok,
          dropped: model.outcomes.dropped - before.dropped,
          refused: model.outcomes.refused - before.refused,
        };
        const wsBeats = model.ackedByOp['heartbeat (graphql-ws)'] ?? 0;

        // Shutdown flushes heartbeats: every acknowledged one is stored.
        model.gatewayEnded(Number.POSITIVE_INFINITY);
        gateway = await startChildGateway(file);
        const audit = await auditDatabase(file, model);
        expect(audit.problems).toEqual([]);
        expect(audit.lost).toBe(0);
        // In-flight requests finished: no write committed without its answer (the drain never hit its 10 s limit).
        expect(audit.unansweredApplied).toBe(0);
        // What the subscribers were sent is in the log, in order, without a gap.
        let delivered = 0;
        for (const s of subscribers.filter((s) => s.name.startsWith('runEvents'))) {
          const positions = s.results.map((r) => audit.positions.get(rawId(r.data.runEvents.id)));
          expect(positions.every((p) => p !== undefined)).toBe(true);
          expect(
            positions.every((p, i) => i === 0 || p === positions[i - 1]! + 1),
            `${s.name} got every event once, in order`,
          ).toBe(true);
          delivered += positions.length;
        }
        const read = await post(gateway.url, `query($p: String!) { runs(first: 1, filter: { projectId: $p }) { totalCount } }`, { p: PROJECT });
        expect(read).toEqual({ kind: 'ok', data: { runs: { totalCount: audit.rows.runs } } });
        gateway.signal('SIGTERM');
        expect((await gateway.exited).code).toBe(0);

        console.log(
          `graceful-shutdown: SIGTERM under ${HTTP_CLIENTS} HTTP writers, 1 graphql-ws heartbeating worker and ${subscribers.length} subscribers; ` +
            `exit code 0 in ${exitMs} ms (bound ${EXIT_WITHIN_MS}); subscribers closed 1001: ${endings.length}/${subscribers.length} (+ the worker's socket); ` +
            `requests after the signal: ${afterSignal.answered} answered, ${afterSignal.dropped} cut by the close (never applied), ${afterSignal.refused} refused, 0 error answers, 0 hangs; ` +
            `acknowledged writes ${model.acked} (${wsBeats} of them heartbeats over graphql-ws), checked ${audit.checked}, lost ${audit.lost} (heartbeats checked ${audit.heartbeats.checked}, all flushed); ` +
            `events delivered to subscribers ${delivered}, in order, no gap; rows ${JSON.stringify(audit.rows)}; integrity_check ok`,
        );
      } finally {
        await killChildGateways();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    size(180_000, 600_000),
  );
});

/**
 * The tour tells the truth: every GraphQL block of the README's tour and of
 * docs/guide.md up to its Contracts section, taken from the Markdown (so the
 * documents cannot drift), runs verbatim, in order, as a reader would run it:
 * against a gateway that `npm run seed` filled while it ran, with
 * `npm run simulate` running during the README's part. Only the placeholders
 * the text names are replaced, from the answers the text says they come from.
 */
import { readFileSync } from 'node:fs';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cli.js';
import { onPostgres } from '../helpers/database.js';
import { ADMIN_SECRET, startTestServer, subscribe, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';

type Answer = any;
type Subscription = ReturnType<typeof subscribe<Answer>>;

interface Example {
  /** The operation's name, which the test is named after. */
  name: string;
  document: string;
  operation: OperationDefinitionNode['operation'];
  source: string;
  /** The JSON block right after it: what the reader pastes into GraphiQL's Variables pane. */
  variables?: Record<string, unknown>;
}

/** The ```graphql blocks of a Markdown text, each with the ```json block that directly follows it, if any. */
function examples(markdown: string, source: string): Example[] {
  const fences = [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2]!, start: m.index!, end: m.index! + m[0].length }));
  return fences.flatMap((fence, i) => {
    if (fence.lang !== 'graphql') return [];
    const next = fences[i + 1];
    const variables = next?.lang === 'json' && markdown.slice(fence.end, next.start).trim() === '' ? JSON.parse(next.body) : undefined;
    const operations = parse(fence.body).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    return [{ name: operations.map((o) => o.name?.value ?? '(anonymous)').join(' + '), document: fence.body, operation: operations[0]!.operation, source, variables }];
  });
}

/** A `## ` section of a Markdown text, up to the next one. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) throw new Error(`no section "## ${heading}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const guide = read('docs/guide.md');
const readmeExamples = examples(section(read('README.md'), 'A two-minute tour'), 'README.md');
const guideExamples = examples(guide.slice(0, guide.indexOf('\n## Contracts\n')), 'docs/guide.md');

/** Where each placeholder comes from, as the text tells the reader: the id in an earlier answer. */
const PLACEHOLDERS: [string, (data: Answer) => string | undefined][] = [
  ['RUN_ID', (d) => d.createRun?.run.id ?? d.submitWorkstream?.workstream.run.id],
  ['STEP_ID', (d) => d.startStep?.step.id],
  ['WORKER_ID', (d) => d.registerWorker?.worker.id],
  ['GATE_ID', (d) => d.createTestGate?.gate.id],
  ['LEDGER_ID', (d) => d.createPatch?.ledgerEntry.id],
];
/** Answers that may rightly be empty on a healthy demo, and why. */
const MAY_BE_EMPTY: Record<string, string> = {
  staleWorkers: 'no live worker has missed its heartbeat',
  validationErrors: 'the patches are valid',
  'routeTask.ruleId': 'the guide configuration has no rules: the fallback chose',
  'runMetrics.durationSeconds': "the workstream's run starts with its first task, which no worker has claimed yet",
};
/** Subscriptions whose text promises events from the blocks after them; the others are checked to be accepted and error-free. */
const PROMISED_EVENTS = new Set(['FollowRun', 'Heartbeats', 'ResumeRun', 'WatchWorkerStates']);
const SUBSCRIPTION_WAIT_MS = 10_000;

/** Where an answer is empty: a null root field or field under it, an empty list, or a totalCount of 0. */
function emptyParts(value: unknown, path: string[] = []): string[] {
  const at = path.join('.').replace(/\.\d+(?=\.|$)/g, '');
  if (at in MAY_BE_EMPTY || String(path.at(-1)) in MAY_BE_EMPTY) return [];
  if (value === null) return path.length <= 2 ? [at] : [];
  if (Array.isArray(value)) return value.length === 0 ? [at] : value.flatMap((item, i) => emptyParts(item, [...path, String(i)]));
  if (typeof value !== 'object') return path.at(-1) === 'totalCount' && value === 0 ? [at] : [];
  if (path.at(-1) === 'payload' || path.at(-1) === 'result') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => emptyParts(v, [...path, key]));
}

describe.skipIf(onPostgres)('the README tour and the guide, verbatim, on a seeded database', () => {
  let server: TestServer;
  let simulator: ReturnType<typeof startCli>;
  const known = new Map<string, string>();
  const subscriptions = new Map<string, Subscription>();

  beforeAll(async () => {
    // As the README says: the gateway first (it creates the database), then the seed while it runs, then the simulator.
    server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
    const seeded = await runCli(['seed', '--demo'], { DATABASE_URL: `sqlite:${server.sqlitePath}` });
    expect(seeded.code, seeded.stderr).toBe(0);
    simulator = startCli(['simulate', '--url', server.url, '--token', ADMIN_SECRET, '--workers', '2', '--seconds', '120', '--tasks', '4', '--every', '2']);
    await until(() => /workers 2 registered/.test(simulator.output.stderr), 'the simulated workers to register', 20_000);
  }, 60_000);

  afterAll(async () => {
    simulator?.kill();
    for (const s of subscriptions.values()) s.stop();
    await server?.stop();
  });

  it('every block is one named operation (pasted whole, it runs)', () => {
    expect(readmeExamples.length).toBeGreaterThan(10);
    expect(guideExamples.length).toBeGreaterThan(30);
    const unnamed = [...readmeExamples, ...guideExamples].filter((e) => e.name.includes('+') || e.name === '(anonymous)').map((e) => `${e.source}: ${e.document}`);
    expect(unnamed).toEqual([]);
  });

  /** The block with its placeholders filled in from earlier answers. */
  function filled(example: Example): string {
    return example.document.replace(/"([A-Z][A-Z_]*_(?:ID|CURSOR))"/g, (_, name: string) => {
      const value = known.get(name);
      if (!value) throw new Error(`${example.name} uses ${name}, which no earlier block gave`);
      return JSON.stringify(value);
    });
  }

  async function runExample(example: Example): Promise<void> {
    const document = filled(example);
    if (example.operation !== 'subscription') {
      const res = await server.gql(document, example.variables);
      expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
      expect(emptyParts(res.data)).toEqual([]);
      for (const [name, from] of PLACEHOLDERS) {
        const id = from(res.data);
        if (id) known.set(name, id);
      }
      return;
    }
    const before = server.engine.openStreams();
    const sub = subscribe(server.wsClient(), document, example.variables);
    subscriptions.set(example.name, sub);
    // Accepted: the gateway holds the stream (so the blocks that follow reach it), or it ended with its stored events.
    await until(() => server.engine.openStreams() > before || sub.results.length > 0, `${example.name} to be accepted`, SUBSCRIPTION_WAIT_MS);
    expect(sub.results.flatMap((r) => r.errors ?? [])).toEqual([]);
  }

  /** The events a subscription received, failing on any error. */
  async function eventsOf(name: string, count = 1): Promise<GraphQLResponse[]> {
    const sub = subscriptions.get(name)!;
    await sub.next(count, SUBSCRIPTION_WAIT_MS);
    expect(sub.results.flatMap((r) => r.errors ?? [])).toEqual([]);
    return sub.results;
  }

  describe('README.md: A two-minute tour', () => {
    it.each(readmeExamples.map((e) => [e.name, e] as const))('%s', async (name, example) => {
      if (name === 'ResumeRun') {
        // "with LAST_CURSOR the first cursor the second tab showed"
        const [first] = await eventsOf('FollowRun');
        known.set('LAST_CURSOR', first!.data.runEvents.cursor);
      }
      await runExample(example);
      if (name === 'ResumeRun') {
        const resumed = subscriptions.get('ResumeRun')!;
        // Both streams end with the run: the resumed one holds exactly the events after the cursor, in order.
        await Promise.all([resumed.done, subscriptions.get('FollowRun')!.done]);
        const followed = (await eventsOf('FollowRun')).map((r) => r.data.runEvents.cursor);
        expect(resumed.results.map((r) => r.data.runEvents.cursor)).toEqual(followed.slice(1));
        expect(resumed.results.at(-1)!.data.runEvents.kind).toBe('RUN_STATE_CHANGED');
      }
      if (name === 'Heartbeats') await eventsOf('Heartbeats');
      if (name === 'FollowRun') expect(subscriptions.get('FollowRun')!.results).toEqual([]);
    });

    it('the simulator ran alongside, reporting progress, and stops cleanly on Ctrl-C', async () => {
      simulator.interrupt();
      const end = await simulator.exited;
      expect(end.code, end.stderr).toBe(0);
      expect(end.stderr).toMatch(/workers 2 registered; tasks \d+ claimed, \d+ completed, \d+ failed; \d+ heartbeats; costs USD \d+\.\d{4}/);
      expect(end.stdout).toMatch(/simulated 2 workers/);
    });
  });

  describe('docs/guide.md, up to Contracts', () => {
    it.each(guideExamples.map((e) => [e.name, e] as const))('%s', async (name, example) => {
      await runExample(example);
      if (name === 'SubmitWorkstream') expect(known.get('RUN_ID')).toMatch(/./);
    });

    it('every subscription the text promises events for got them, and none got an error', async () => {
      for (const name of PROMISED_EVENTS) await eventsOf(name);
      for (const [name, sub] of subscriptions)
        expect(
          sub.results.flatMap((r) => r.errors ?? []),
          name,
        ).toEqual([]);
    });
  });
});

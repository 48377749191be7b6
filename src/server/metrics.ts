import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebSocketServer } from 'ws';
import type { Engine } from '../engine/index.js';
import { sharedSubscriptionStats } from './shared-subscriptions.js';

/** Client-chosen operation names become labels: only plain names, and at most this many distinct ones. */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface Metrics {
  registry: Registry;
  /** Times every operation (HTTP, SSE and graphql-ws alike) by type, name and outcome. */
  plugin: Plugin;
  /** Reaper and timeout actions, counted by the background jobs. */
  countJob(action: 'crashed_worker' | 'timed_out_task' | 'timed_out_gate', count: number): void;
  /** GET /metrics (401 without the token when one is set); false for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface MetricsOptions {
  /** The bearer token a scrape must send (UET_METRICS_TOKEN); null: none needed. */
  token: string | null;
  /** How long the task counts of a scrape are reused (UET_METRICS_CACHE_MS). */
  cacheMs: number;
}

/** Compares digests, so that neither the content nor the length of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function authorized(req: IncomingMessage, token: string | null): boolean {
  if (token === null) return true;
  const secret = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  return secret !== undefined && sameSecret(secret, token);
}

/** Calls `load` at most once per `ttlMs` (0: every time); callers within that share its promise. */
function cachedFor<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | null = null;
  return () => {
    const now = performance.now();
    if (cached && now - cached.at < ttlMs) return cached.value;
    const value = load();
    cached = { at: now, value };
    // A failure is not kept: the next scrape asks again.
    value.catch(() => {
      if (cached?.value === value) cached = null;
    });
    return value;
  };
}

/**
 * Prometheus metrics (prom-client): operations with latency histograms,
 * open sockets and subscriptions, heartbeats, reaper actions, the task
 * queue by state, and database statement latency.
 */
export function createMetrics(engine: Engine, wss: () => WebSocketServer | null, options: MetricsOptions): Metrics {
  const registry = new Registry();
  // Process and runtime gauges (RSS, heap, event-loop lag, active handles and timers): what a soak watches.
  collectDefaultMetrics({ register: registry });
  const names = new Set<string>();
  const label = (name: string | undefined) => {
    if (!name || !OPERATION_NAME.test(name)) return 'anonymous';
    if (names.has(name) || names.size < MAX_OPERATION_NAMES) return (names.add(name), name);
    return 'other';
  };
  const operations = new Counter({
    name: 'uet_graphql_operations_total',
    help: 'GraphQL operations by type, name and outcome (ok, error).',
    labelNames: ['type', 'name', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'uet_graphql_operation_duration_seconds',
    help: 'Time to execute a query or mutation (a subscription: to set it up).',
    labelNames: ['type', 'name'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'uet_websocket_connections',
    help: 'Open graphql-ws connections.',
    registers: [registry],
    collect() {
      this.set(wss()?.clients.size ?? 0);
    },
  });
  new Gauge({
    name: 'uet_open_subscriptions',
    help: 'Open subscriptions (graphql-ws and SSE).',
    registers: [registry],
    collect() {
      // Identical graphql-ws subscriptions share one engine stream: count their subscribers instead.
      this.set(engine.openStreams() - sharedSubscriptionStats.groups + sharedSubscriptionStats.subscribers);
    },
  });
  new Gauge({
    name: 'uet_event_bus_listeners',
    help: "Listeners on the engine's event bus (open streams, shared tails, caches): flat under a steady load.",
    registers: [registry],
    collect() {
      this.set(engine.bus.listeners());
    },
  });
  new Gauge({
    name: 'uet_event_bus_connected',
    help: 'Whether the event bus reaches the other instances (1; always for the in-process bus), or Redis is away (0).',
    registers: [registry],
    collect() {
      this.set(engine.bus.connected() ? 1 : 0);
    },
  });
  let beatsSeen = 0;
  new Counter({
    name: 'uet_heartbeats_total',
    help: 'Worker heartbeats received (rate() gives heartbeats per second).',
    registers: [registry],
    collect() {
      this.inc(engine.liveWorkers.received - beatsSeen);
      beatsSeen = engine.liveWorkers.received;
    },
  });
  const jobs = new Counter({
    name: 'uet_background_actions_total',
    help: 'What the background jobs did: workers crashed for a lost heartbeat, tasks and gates ended by their timeout.',
    labelNames: ['action'],
    registers: [registry],
  });
  // The one metric that costs a query: a flood of scrapes within cacheMs costs one.
  const taskCounts = cachedFor(
    options.cacheMs,
    // async: a knex builder runs its query again at each then(); a promise settles once.
    async (): Promise<{ state: string; count: number }[]> => await engine.orm.em.getKnex()('task').select('state').count({ count: '*' }).groupBy('state'),
  );
  new Gauge({
    name: 'uet_tasks',
    help: 'Tasks by state (the queue depth is the pending ones).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await taskCounts();
      this.reset();
      for (const row of rows) this.set({ state: row.state }, Number(row.count));
    },
  });
  const statements = new Histogram({
    name: 'uet_db_query_duration_seconds',
    help: 'Database statement latency.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const started = new Map<string, number>();
  const knex = engine.orm.em.getKnex();
  knex.on('query', (query: { __knexQueryUid: string }) => started.set(query.__knexQueryUid, performance.now()));
  const ended = (_: unknown, query: { __knexQueryUid: string }) => {
    const at = started.get(query.__knexQueryUid);
    if (at === undefined) return;
    started.delete(query.__knexQueryUid);
    statements.observe((performance.now() - at) / 1000);
  };
  knex.on('query-response', (response: unknown, query: { __knexQueryUid: string }) => ended(response, query));
  knex.on('query-error', (error: unknown, query: { __knexQueryUid: string }) => ended(error, query));

  const observe = (type: string, name: string, since: number, ok: boolean) => {
    operations.inc({ type, name, outcome: ok ? 'ok' : 'error' });
    latency.observe({ type, name }, (performance.now() - since) / 1000);
  };
  const plugin: Plugin = {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const since = performance.now();
      return {
        onExecuteDone({ result }) {
          const ok = !('errors' in result && result.errors?.length);
          observe(operation?.operation ?? 'unknown', label(operation?.name?.value), since, ok);
        },
      };
    },
    onSubscribe({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      const since = performance.now();
      return {
        onSubscribeResult({ result }) {
          const ok = Symbol.asyncIterator in result || !result.errors?.length;
          observe('subscription', label(operation?.name?.value), since, ok);
        },
      };
    },
  };
  return {
    registry,
    plugin,
    countJob: (action, count) => {
      if (count > 0) jobs.inc({ action }, count);
    },
    handle(req, res) {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') return false;
      if (!authorized(req, options.token)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' });
        res.end('metrics need Authorization: Bearer <UET_METRICS_TOKEN>\n');
        return true;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
      return true;
    },
  };
}

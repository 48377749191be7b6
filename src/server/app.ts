import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga } from 'graphql-yoga';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { WebSocketServer } from 'ws';
import type { JobIntervals, Limits } from '../config.js';
import type { Engine } from '../engine/index.js';
import type { Logger } from '../logger.js';
import { schema } from '../graphql.js';
import { createLoaders } from '../schema/loaders.js';
import type { GatewayContext } from '../schema/context.js';
import { identify, useSubscriptionTokenGuard } from './auth.js';
import { createErrorMasker } from './errors.js';
import { corsFromAllowList } from './cors.js';
import { denyFraming } from './framing.js';
import { authenticatedGraphiQL, useGraphiQLTurnedOff } from './graphiql.js';
import { consoleAssets, consoleBuildDir } from './console-assets.js';
import { useJsonDepthLimit } from './json-depth.js';
import { handleHealth } from './health.js';
import { startJobs, type Jobs } from './jobs.js';
import { createMetrics } from './metrics.js';
import { PersistedOperations, usePersistedOperationsOnly } from './persisted-operations.js';
import { useMutationRateLimit } from './rate-limit.js';
import { readBodyWithin } from './request-body.js';
import { useMalformedParamsAsBadRequest } from './request-params.js';
import { useCloseUnsentStreams } from './unsent-streams.js';
import { withRequestId } from '../request-context.js';
import { useValidationPolicy } from './validation.js';
import { useFieldScopesUpFront } from './field-scopes.js';
import { useOperationCost } from './cost.js';
import { useExecutionBudget } from './execution-budget.js';
import { useResponseOrder } from './response-order.js';
import { LiveSubscriptions } from './token-caps.js';
import { attachGraphqlWs } from './websocket.js';
import { CoalescingWebSocket } from './coalescing-socket.js';
import { boundCloseReasons } from './ws-close-reason.js';

export const GRAPHQL_PATH = '/graphql';
/** Paths with handlers of their own, which a browser's GET never turns into the console's page (any HEAD included). */
const NOT_CONSOLE = [GRAPHQL_PATH, '/metrics', '/health', '/healthz', '/ready', '/readyz'];
/** How long shutdown waits for in-flight requests before closing their sockets. */
const DRAIN_MS = 10_000;

export interface AppOptions {
  engine: Engine;
  logger: Logger;
  limits: Limits;
  introspection: boolean;
  /** GraphiQL on GET /graphql from a browser (default on). */
  graphiql?: boolean;
  /** The console at `/` (default on). */
  console?: boolean;
  /** Where the console's build is (default: dist/console of the package, as `npm run build` leaves it). */
  consoleDir?: string;
  /** Origins whose pages may call the API cross-origin (default none: same-origin only). */
  corsOrigins?: readonly string[];
  /** The bearer token /metrics needs (default none: open). */
  metricsToken?: string | null;
  persistedOperationsFile?: string | null;
  /** Background jobs' timers. */
  jobs: JobIntervals;
}

export interface App {
  server: Server;
  /** Listens; resolves to the base URL (http://host:port). */
  start(port: number, host: string): Promise<string>;
  /** Stops accepting, closes WebSockets with 1001, ends streams, drains requests. */
  stop(): Promise<void>;
}

// Short lines: the hint stays in view in a narrow editor.
const DEFAULT_QUERY = `# Your token goes in the Headers tab below.
# Subscriptions (runEvents, ...) run here too.
# The newest runs and the worker fleet:
query Overview {
  runs(first: 5) {
    totalCount
    edges { node { id projectId state createdAt counters { stepAttempts errors } } }
  }
  workerSummary { total stale byState { state count } }
  workers(first: 5) {
    edges { node { id type state stale secondsSinceHeartbeat currentTask { kind state } } }
  }
}
`;

/**
 * Yoga logs every error its masker rewrote; those are client errors or were
 * already logged by the masker itself, so they go to debug.
 */
function yogaLogger(logger: Logger) {
  const forward =
    (level: 'debug' | 'info' | 'warn') =>
    (...args: unknown[]) =>
      logger[level](String(args[0]), args.length > 1 ? { details: args.slice(1) } : {});
  return {
    debug: forward('debug'),
    info: forward('info'),
    warn: forward('warn'),
    error: (...args: unknown[]) => {
      const graphqlError = args[0] instanceof Error && args[0].name === 'GraphQLError';
      (graphqlError ? logger.debug : logger.error)(String(args[0]), { error: args[0] });
    },
  };
}

export function buildApp(options: AppOptions): App {
  const { engine, logger, limits, introspection, persistedOperationsFile, jobs: intervals } = options;
  const { graphiql = true, corsOrigins = [], metricsToken = null } = options;
  const persisted = persistedOperationsFile ? new PersistedOperations(persistedOperationsFile) : null;
  let wss: WebSocketServer | null = null;
  const metrics = createMetrics(engine, () => wss, { token: metricsToken, cacheMs: limits.metricsCacheMs });
  const graphiqlPage = graphiql ? authenticatedGraphiQL(GRAPHQL_PATH, logger) : null;
  const consolePages = options.console === false ? null : consoleAssets(options.consoleDir ?? consoleBuildDir(), NOT_CONSOLE, logger);
  const live = new LiveSubscriptions(limits.maxSubscriptionsPerToken);
  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse; identity?: GatewayContext['identity']; authRefusal?: GatewayContext['authRefusal'] }, GatewayContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // WebSocket operations arrive with their identity; HTTP and SSE carry a header (and why it names no one: authRefusal).
    context: async ({ request, identity }) => ({
      engine,
      loaders: createLoaders(engine),
      ...(identity !== undefined ? { identity } : await identify(engine, request.headers.get('authorization'))),
    }),
    maskedErrors: { maskError: createErrorMasker(logger) },
    batching: false,
    // The server has read the body within maxBodyBytes already (readBodyWithin): Yoga's own limit would pipe it through a
    // TransformStream again on every request. With no limit set, Yoga's default one stays.
    maxRequestBodySize: limits.maxBodyBytes > 0 ? false : undefined,
    // Persisted operations may be named by `documentId`.
    extraParamNames: ['documentId'],
    plugins: [
      useMalformedParamsAsBadRequest(),
      useJsonDepthLimit(limits.maxJsonDepth),
      graphiqlPage ? graphiqlPage.plugin : useGraphiQLTurnedOff(GRAPHQL_PATH),
      useCloseUnsentStreams(),
      useCSRFPrevention(),
      ...(persisted ? [usePersistedOperationsOnly(persisted)] : []),
      useValidationPolicy({ limits, introspection }),
      useOperationCost(limits.maxCost),
      useExecutionBudget(limits),
      useResponseOrder(),
      useMutationRateLimit(engine, limits),
      useFieldScopesUpFront(),
      useSubscriptionTokenGuard(engine, live),
      metrics.plugin,
    ],
    // Rendered from the installed package: no CDN, works offline.
    renderGraphiQL: graphiqlPage?.render,
    // Headers persist, so a token pasted once stays (the page's own fetcher sends them: graphiql-start.ts).
    graphiql: graphiqlPage !== null && { title: 'uet-gateway', defaultQuery: DEFAULT_QUERY, shouldPersistHeaders: true },
    cors: corsFromAllowList(corsOrigins),
    healthCheckEndpoint: false as unknown as string,
    landingPage: false,
    logging: yogaLogger(logger),
  });

  let stopping = false;
  const server = createServer((req, res) => {
    // While stopping, a connection whose last response is done is idle: close it now rather than at keep-alive timeout.
    res.once('close', () => stopping && setImmediate(() => server.closeIdleConnections()));
    denyFraming(res);
    if (handleHealth(req, res, engine) || metrics.handle(req, res) || graphiqlPage?.serveFile(req, res) || consolePages?.handle(req, res)) return;
    withRequestId(() => {
      readBodyWithin(req, res, limits.maxBodyBytes).then(
        async (ok) => {
          // Known before validation, which hides the schema from callers without a valid token (validation.ts).
          // A failed lookup is left to the context, which answers it as an error.
          if (ok) await yoga(req, res, await identify(engine, req.headers.authorization).catch(() => ({})));
        },
        (error: unknown) => logger.error('reading a request failed', { error }),
      );
    });
  });
  // Upgrades are handed over here (noServer) rather than through ws's `server` option, which re-emits the HTTP
  // server's errors on the WebSocket server: a taken port would surface as a graphql-ws "internal error" with a stack.
  const sockets = new WebSocketServer({
    noServer: true,
    path: GRAPHQL_PATH,
    maxPayload: limits.wsMaxMessageBytes || undefined,
    // Frames sent in one tick leave in one write (coalescing-socket.ts).
    WebSocket: CoalescingWebSocket,
  });
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req)));
  wss = sockets;
  sockets.on('connection', boundCloseReasons);
  attachGraphqlWs({ wss: sockets, yoga, engine, logger, limits, persisted, live });

  let jobs: Jobs | null = null;

  return {
    server,
    start: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          jobs = startJobs(engine, logger, intervals, metrics);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
        });
      }),
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets.clients) socket.close(1001, 'server shutting down');
      sockets.close();
      // Open subscriptions (SSE included) end, so their responses finish.
      engine.close();
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
      await closed;
      clearTimeout(timer);
      // Last: requests that beat during the drain are written too.
      await jobs?.stop();
    },
  };
}

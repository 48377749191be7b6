import { GraphQLError, getOperationAST, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Limits } from '../config.js';
import type { Identity } from '../engine/auth/identity.js';
import { unauthenticated, type AuthRefusal } from '../engine/auth/refusal.js';
import type { Engine } from '../engine/index.js';
import type { Logger } from '../logger.js';
import { closeForbidden, connectionAuthorization, identify, SocketsByToken } from './auth.js';
import { releasedWhenDone, type LiveSubscriptions } from './token-caps.js';
import { markCostChecked, operationCostError } from './cost.js';
import { tooDeeplyNested } from './json-depth.js';
import type { PersistedOperations } from './persisted-operations.js';
import { withRequestId } from '../request-context.js';
import { groupArgs, shareKey, SharedSubscriptions, type SharedSubscriberInfo } from './shared-subscriptions.js';

type Enveloped = ReturnType<YogaServerInstance<object, object>['getEnveloped']>;

interface WsOptions {
  wss: WebSocketServer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any server and user context: this file reads neither
  yoga: YogaServerInstance<any, any>;
  engine: Engine;
  logger: Logger;
  limits: Limits;
  persisted: PersistedOperations | null;
  /** Live subscriptions per token, shared with SSE (app.ts). */
  live: LiveSubscriptions;
}

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the HTTP port and path.
 * The token comes in connectionParams.authorization (the key in any case) at connection_init; a
 * missing or bad one closes the socket with 4403 before any operation runs,
 * the close reason saying which case it is (refusal.ts).
 * Each operation goes through Yoga's envelop, so validation, limits, rate
 * limits, scope checks and error masking are the same as over HTTP.
 */
export function attachGraphqlWs({ wss, yoga, engine, logger, limits, persisted, live }: WsOptions): void {
  const socketsByToken = new SocketsByToken(engine, limits.wsMaxConnectionsPerToken);
  const identities = new WeakMap<object, Identity>();
  // Identical live subscriptions share one execution per event (shared-subscriptions.ts).
  const shared = new SharedSubscriptions((identity) => engine.tokens.isActive(identity));
  const sharing = new WeakMap<ExecutionArgs, SharedSubscriberInfo>();
  // Each subscription's place under its token's cap, given back when its stream ends.
  const places = new WeakMap<ExecutionArgs, () => void>();
  useServer(
    {
      connectionInitWaitTimeout: limits.wsInitTimeoutMs || undefined,
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: async (args) => {
        const release = places.get(args) ?? (() => {});
        try {
          const info = sharing.get(args);
          const result = info
            ? await shared.subscribe(info, () => {
                const first = groupArgs(args, info.identity);
                return (first.rootValue as Enveloped).subscribe(first);
              })
            : await (args.rootValue as Enveloped).subscribe(args);
          return releasedWhenDone(result, release) as Awaited<ReturnType<Enveloped['subscribe']>>;
        } catch (error) {
          release();
          throw error;
        }
      },
      onConnect: async (ctx) => {
        const { identity, authRefusal } = await identify(engine, connectionAuthorization(ctx.connectionParams));
        // Closed here with the reason (graphql-ws's own close, 4403 "Forbidden", then finds it closing).
        if (!identity) {
          closeForbidden(ctx.extra.socket, authRefusal);
          return false;
        }
        // Over the token's cap: closed with 4429 here, before graphql-ws's own 4403 could be sent.
        if (!socketsByToken.add(identity, ctx.extra.socket)) return false;
        identities.set(ctx, identity);
        return true;
      },
      onSubscribe: (ctx, id, payload) =>
        withRequestId(async () => {
          const socket = ctx.extra.socket;
          const identity = identities.get(ctx);
          const inactive = identity ? engine.tokens.refusalOf(identity) : null;
          if (!identity || inactive) {
            const why: AuthRefusal = inactive ?? { reason: 'MISSING_TOKEN' };
            const refused = unauthenticated(why);
            closeForbidden(socket, why);
            return [new GraphQLError(refused.message, { extensions: { code: refused.code, ...refused.details } })];
          }
          // graphql-ws has already registered this operation when it asks us.
          if (limits.wsMaxSubscriptions > 0 && Object.keys(ctx.subscriptions).length > limits.wsMaxSubscriptions) {
            return [
              new GraphQLError(`at most ${limits.wsMaxSubscriptions} operations at once per connection`, {
                extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit: 'wsMaxSubscriptions' },
              }),
            ];
          }
          // Before anything walks them (shareKey stringifies the variables): as over HTTP (json-depth.ts).
          const tooDeep = tooDeeplyNested(payload, limits.maxJsonDepth);
          if (tooDeep) return [tooDeep];
          const enveloped: Enveloped = yoga.getEnveloped({ req: ctx.extra.request, socket, params: payload, identity, authRefusal: null });
          let document;
          let query: string;
          try {
            query = persisted ? persisted.resolve(payload as never) : payload.query;
            document = enveloped.parse(query);
          } catch (error) {
            if (!(error instanceof Error && error.name === 'GraphQLError')) throw error;
            const graphqlError = error as GraphQLError;
            return [new GraphQLError(graphqlError.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED', ...graphqlError.extensions } })];
          }
          // A token at its cap is refused before the costlier context and validation (a flood is cheap to turn away).
          const subscription = getOperationAST(document, payload.operationName)?.operation === 'subscription';
          if (subscription && live.full(identity)) return [live.refusal];
          const args: ExecutionArgs = {
            schema: enveloped.schema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: { ...(await enveloped.contextFactory()), onTokenInactive: (why: AuthRefusal) => closeForbidden(socket, why) },
            rootValue: enveloped,
          };
          const errors = enveloped.validate(args.schema, args.document);
          if (errors.length > 0) return errors;
          // Several operations and none named (or a name that matches none): coded as over HTTP, not graphql-ws's bare error.
          if (!getOperationAST(document, payload.operationName)) {
            return [new GraphQLError('Could not determine what operation to execute.', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
          }
          // Here rather than at execution: a subscriber that joins a shared execution runs none of its own;
          // before a live slot is taken, which a refusal here would leave taken.
          const tooCostly = operationCostError(args, limits.maxCost);
          if (tooCostly) return [tooCostly];
          markCostChecked(args.contextValue as object);
          if (subscription) {
            const release = live.take(identity);
            if (!release) return [live.refusal];
            places.set(args, release);
          }
          const key = shareKey(args.schema, document, query, payload.operationName, payload.variables, identity);
          if (key !== null) sharing.set(args, { key, socket, id, identity });
          return args;
        }),
      onError: (_ctx, id, _payload, errors) => {
        logger.debug('websocket operation failed', { id, errors: errors.map((e) => e.message) });
      },
    },
    wss,
    limits.wsKeepAliveMs,
  );
  wss.on('connection', (socket) => logSocketErrors(socket, logger));
}

/**
 * graphql-ws prints a socket's errors to stderr with a stack, as "internal
 * errors", though most are a client's: a message over the size limit, a bad
 * frame (`ws` codes WS_ERR_*, after which `ws` closes the socket itself).
 * Those are logged at debug; anything else is an error, and the socket is
 * closed with 1011. Runs after graphql-ws's own `connection` listener.
 */
function logSocketErrors(socket: WebSocket, logger: Logger): void {
  socket.removeAllListeners('error');
  socket.on('error', (error: Error & { code?: string }) => {
    if (error.code?.startsWith('WS_ERR_')) {
      logger.debug('websocket client error', { code: error.code, message: error.message });
      return;
    }
    logger.error('websocket socket error', { error });
    socket.close(1011, 'internal error');
  });
}

import type { WebSocket } from 'ws';
import type { Plugin } from 'graphql-yoga';
import type { Identity } from '../engine/auth/identity.js';
import { refusalMessage, type AuthRefusal } from '../engine/auth/refusal.js';
import type { Engine } from '../engine/index.js';
import { PerTokenCap, releasedWhenDone, type LiveSubscriptions } from './token-caps.js';

/** graphql-ws close code for a missing, bad, revoked or expired token. */
const WS_FORBIDDEN = 4403;
/** Close code of a socket over its token's connection cap (429 in the private range). */
export const WS_TOO_MANY_CONNECTIONS = 4429;

/**
 * Closes a socket whose token is missing, bad or no longer active: the one
 * way every path does it. The reason says which (refusal.ts keeps each
 * within a close frame); without one, the socket's token was revoked or expired.
 */
export function closeForbidden(socket: WebSocket, refusal?: AuthRefusal): void {
  socket.close(WS_FORBIDDEN, refusal ? refusalMessage(refusal) : 'token revoked or expired: create one with `uet-gateway token create` or createApiToken');
}

/** Who a request is: an identity, or why it has none (GatewayContext's two fields). */
export type Authentication = { identity: Identity; authRefusal: null } | { identity: null; authRefusal: AuthRefusal };

/**
 * The Authorization value a graphql-ws client sent in connectionParams: the key in any case, as an HTTP header name
 * is, so the README's header (`{"Authorization": "Bearer uet_..."}`) works pasted as it is.
 */
export function connectionAuthorization(params: Readonly<Record<string, unknown>> | undefined): unknown {
  if (!params) return undefined;
  if ('authorization' in params) return params.authorization;
  const key = Object.keys(params).find((name) => name.toLowerCase() === 'authorization');
  return key === undefined ? undefined : params[key];
}

/** The identity an `Authorization: Bearer <token>` value stands for, or why it stands for none. */
export async function identify(engine: Engine, authorization: unknown): Promise<Authentication> {
  if (authorization === undefined || authorization === null || (typeof authorization === 'string' && authorization.trim() === '')) {
    return { identity: null, authRefusal: { reason: 'MISSING_TOKEN' } };
  }
  const secret = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
  if (secret === undefined) return { identity: null, authRefusal: { reason: 'NOT_BEARER' } };
  const checked = await engine.tokens.authenticate(secret);
  return checked.identity ? { identity: checked.identity, authRefusal: null } : { identity: null, authRefusal: checked.refusal };
}

/**
 * Open sockets by token: at most UET_WS_MAX_CONNECTIONS_PER_TOKEN each (0:
 * no cap), and closed with 4403 as soon as their token is revoked (by any
 * process) or expires.
 */
export class SocketsByToken {
  private readonly open: PerTokenCap;

  constructor(
    private readonly engine: Engine,
    max: number,
  ) {
    this.open = new PerTokenCap(max);
  }

  /** Takes in an authenticated socket; false, with the socket closed (4429), when its token has the most open already. */
  add(identity: Identity, socket: WebSocket): boolean {
    const release = this.open.take(identity);
    if (!release) {
      socket.close(WS_TOO_MANY_CONNECTIONS, `at most ${this.open.max} WebSockets per token (UET_WS_MAX_CONNECTIONS_PER_TOKEN)`);
      return false;
    }
    const unwatch = this.engine.tokens.watch(identity, (why) => closeForbidden(socket, why));
    socket.once('close', () => {
      unwatch();
      release();
    });
    return true;
  }
}

/** Context fields the subscription guard reads. */
interface GuardedContext {
  identity?: Identity | null;
  /** Set for WebSocket operations: closes the socket with 4403, saying why. */
  onTokenInactive?: (why: AuthRefusal) => void;
}

/**
 * A subscription ends as soon as its token is revoked (by any process) or
 * expires, without waiting for an event (an SSE stream then ends; a
 * WebSocket is closed with 4403), and every event is checked again before
 * it goes out. Subscriptions over HTTP/SSE are also counted against the
 * token's cap here (graphql-ws ones in websocket.ts, which shares some
 * source streams between subscribers).
 */
export function useSubscriptionTokenGuard(engine: Engine, live: LiveSubscriptions): Plugin<GuardedContext> {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const context = args.contextValue as GuardedContext;
      const identity = context.identity;
      if (!identity) return;
      const overWebSocket = context.onTokenInactive !== undefined;
      const release = overWebSocket ? () => {} : live.take(identity);
      if (!release) {
        setResultAndStopExecution({ errors: [live.refusal] });
        return;
      }
      return {
        onSubscribeError: release,
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return release();
          const source = result as AsyncIterableIterator<unknown>;
          const done = { value: undefined, done: true } as const;
          let inactive = () => {};
          const ended = new Promise<typeof done>((resolve) => (inactive = () => resolve(done)));
          const stop = () => {
            unwatch();
            inactive();
            return source.return?.() ?? Promise.resolve(done);
          };
          const unwatch = engine.tokens.watch(identity, (why) => {
            context.onTokenInactive?.(why);
            void stop();
          });
          const guarded: AsyncIterableIterator<unknown> = {
            async next() {
              const item = await Promise.race([source.next(), ended]);
              if (item.done) unwatch();
              const inactive = item.done ? null : engine.tokens.refusalOf(identity);
              if (!inactive) return item;
              context.onTokenInactive?.(inactive);
              await stop();
              return done;
            },
            return: () => stop(),
            throw: (error) => {
              unwatch();
              return source.throw?.(error) ?? Promise.reject(error);
            },
            [Symbol.asyncIterator]() {
              return this;
            },
          };
          setResult(releasedWhenDone(guarded, release) as never);
        },
      };
    },
  };
}

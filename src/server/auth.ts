import type { WebSocket } from 'ws';
import type { Plugin } from 'graphql-yoga';
import type { Identity } from '../engine/auth/identity.js';
import { TOKEN_REVOKED_TOPIC } from '../engine/auth/token-service.js';
import type { Engine } from '../engine/index.js';

/** graphql-ws close code for a missing, bad, revoked or expired token. */
export const WS_FORBIDDEN = 4403;

/** The identity an `Authorization: Bearer <token>` value stands for. */
export async function identify(engine: Engine, authorization: unknown): Promise<Identity | null> {
  if (typeof authorization !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? engine.tokens.authenticate(match[1]) : null;
}

/** Open sockets by token, so that revoking a token closes them at once (4403). */
export class SocketsByToken {
  private readonly sockets = new Map<string, Set<WebSocket>>();

  constructor(engine: Engine) {
    engine.bus.subscribe<{ tokenId: string }>(TOKEN_REVOKED_TOPIC, ({ tokenId }) => {
      for (const socket of this.sockets.get(tokenId) ?? []) socket.close(WS_FORBIDDEN, 'Forbidden');
      this.sockets.delete(tokenId);
    });
  }

  add(identity: Identity, socket: WebSocket): void {
    if (identity.tokenId === null) return;
    const tokenId = identity.tokenId;
    let set = this.sockets.get(tokenId);
    if (!set) this.sockets.set(tokenId, (set = new Set()));
    set.add(socket);
    socket.once('close', () => {
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(tokenId) === set) this.sockets.delete(tokenId);
    });
  }
}

/** Context fields the subscription guard reads. */
interface GuardedContext {
  identity?: Identity | null;
  /** Set for WebSocket operations: closes the socket with 4403. */
  onTokenInactive?: () => void;
}

/**
 * A subscription stops delivering as soon as its token is revoked or has
 * expired: every event is checked before it goes out (HTTP/SSE and
 * graphql-ws alike), and a WebSocket is then closed with 4403.
 */
export function useSubscriptionTokenGuard(engine: Engine): Plugin<GuardedContext> {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as GuardedContext;
      const identity = context.identity;
      if (!identity) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          const source = result as AsyncIterableIterator<unknown>;
          const guarded: AsyncIterableIterator<unknown> = {
            async next() {
              const item = await source.next();
              if (item.done || engine.tokens.isActive(identity)) return item;
              context.onTokenInactive?.();
              await source.return?.();
              return { value: undefined, done: true };
            },
            return: (value) => source.return?.(value) ?? Promise.resolve({ value, done: true }),
            throw: (error) => source.throw?.(error) ?? Promise.reject(error),
            [Symbol.asyncIterator]() {
              return this;
            },
          };
          setResult(guarded as never);
        },
      };
    },
  };
}

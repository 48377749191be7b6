// The console's one way to the gateway: urql over HTTP for queries and mutations, graphql-ws for subscriptions,
// both with the user's token. A refused token (UNAUTHENTICATED, or a socket closed with 4401/4403) ends the session.
import { Client, fetchExchange, mapExchange, subscriptionExchange, type CombinedError } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';

const ENDPOINT = '/graphql';
/** graphql-ws closes that mean the token was refused or revoked (the server sends 4403 with the reason). */
const TOKEN_CLOSE_CODES = new Set([4401, 4403]);

export interface Api {
  urql: Client;
  /** The subscription socket: panels listen for reconnects to re-read what they may have missed. */
  socket: WsClient;
  dispose(): void;
}

const isTokenClose = (event: unknown): event is CloseEvent => typeof event === 'object' && event !== null && TOKEN_CLOSE_CODES.has((event as CloseEvent).code);

/** A client for one token; `onTokenRefused` gets the server's message when the gateway refuses it. */
export function createApi(token: string, onTokenRefused: (message: string) => void): Api {
  const authorization = `Bearer ${token}`;
  const socket = createWsClient({
    url: new URL(ENDPOINT, location.href.replace(/^http/, 'ws')).href,
    connectionParams: { authorization },
    // A console stays open for hours: it keeps reconnecting (with graphql-ws's randomised backoff), except for a refused token.
    retryAttempts: Infinity,
    shouldRetry: (event) => !isTokenClose(event),
    on: {
      closed: (event) => {
        if (isTokenClose(event)) onTokenRefused(event.reason || 'the gateway refused the token');
      },
    },
  });
  const urql = new Client({
    url: ENDPOINT,
    fetchOptions: { headers: { authorization } },
    // POST, never GET: the gateway's CSRF guard refuses a GET without its header, and a token-bearing GET could be cached along the way.
    preferGetMethod: false,
    // No cache (no cacheExchange): each panel reads what it shows, and live panels re-read on events.
    exchanges: [
      mapExchange({
        onError(error) {
          const refused = error.graphQLErrors.find((e) => e.extensions?.code === 'UNAUTHENTICATED');
          if (refused) onTokenRefused(refused.message);
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: socket.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return { urql, socket, dispose: () => void socket.dispose() };
}

/** An error as a user reads it: the gateway's messages, each once (urql's own message prefixes and repeats them). */
export function errorText(error: CombinedError): string {
  if (error.networkError) return `The gateway did not answer: ${error.networkError.message}`;
  return [...new Set(error.graphQLErrors.map((e) => e.message))].join(' ');
}

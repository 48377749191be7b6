import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { decodeGlobalId } from '../../src/schema/builder.js';
import { ADMIN_SECRET, type GraphQLResponse, type TestServer } from '../helpers/server.js';

/** A live subscription every READ token may open; its events come only when a worker beats (the tests publish none). */
export const HEARTBEATS = 'subscription { workerHeartbeats { at progress } }';

/** Creates a stored token through the API; its stored id (as the CLI names it) and secret. */
export async function createToken(server: TestServer, scopes: string[], expiresAt?: Date): Promise<{ id: string; secret: string }> {
  const data = await server.ok(
    'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id } } }',
    { input: { name: 'under test', scopes, expiresAt: expiresAt?.toISOString() } },
    { token: ADMIN_SECRET },
  );
  return { id: decodeGlobalId(data.createApiToken.apiToken.id, 'id').id, secret: data.createApiToken.token };
}

export interface OpenSocket {
  client: Client;
  /** How the socket closed, and when (performance.now()). */
  closed: Promise<{ code: number; reason: string; at: number }>;
  /** Runs one operation over the socket: its result, or what the client was refused with. */
  run(query: string): Promise<GraphQLResponse | { refused: unknown }>;
  /** Starts a subscription; resolves to its first error, if it gets one. */
  subscribe(query: string): { errors: Promise<GraphQLResponse['errors']> };
}

/** A graphql-ws connection with `secret`, connected (and acknowledged) before it returns; rejects when refused. */
export async function openSocket(server: TestServer, secret: string): Promise<OpenSocket> {
  let onClosed: (closed: { code: number; reason: string; at: number }) => void = () => {};
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => (onClosed = resolve));
  let connected: () => void = () => {};
  const ready = new Promise<void>((resolve) => (connected = resolve));
  const client = createClient({
    url: server.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: `Bearer ${secret}` },
    on: {
      connected: () => connected(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        onClosed({ code, reason, at: performance.now() });
      },
    },
    onNonLazyError: () => {},
  });
  const first = await Promise.race([ready.then(() => null), closed]);
  if (first) {
    await client.dispose();
    throw Object.assign(new Error(`socket refused: ${first.code} ${first.reason}`), first);
  }
  return {
    client,
    closed,
    run: (query) =>
      new Promise((resolve) => {
        let result: GraphQLResponse | null = null;
        client.subscribe({ query }, { next: (value) => (result = value as GraphQLResponse), error: (refused) => resolve({ refused }), complete: () => resolve(result ?? {}) });
      }),
    subscribe(query) {
      let errors: (value: GraphQLResponse['errors']) => void = () => {};
      const promise = new Promise<GraphQLResponse['errors']>((resolve) => (errors = resolve));
      client.subscribe({ query }, { next: (value) => value.errors && errors(value.errors as GraphQLResponse['errors']), error: (error) => errors(error as never), complete: () => {} });
      return { errors: promise };
    },
  };
}

export interface OpenStream {
  /** When the response body ended (performance.now()). */
  ended: Promise<number>;
  /** The stream's text so far. */
  text(): string;
  abort(): void;
}

/** A subscription over SSE (Yoga, Accept: text/event-stream) with `secret`, its response headers received. */
export async function openStream(server: TestServer, secret: string, query: string = HEARTBEATS): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  if (!res.ok || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
    throw new Error(`no stream: HTTP ${res.status} ${await res.text()}`);
  }
  let text = '';
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // Aborted by the test.
    }
    return performance.now();
  })();
  return { ended, text: () => text, abort: () => controller.abort() };
}

/** `promise`, or a rejection naming `what` when it has not settled within `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

import { createClient, type Client } from 'graphql-ws';
import type { ResultOf, TadaDocumentNode, VariablesOf } from 'gql.tada';
import { print } from 'graphql';
import WebSocket from 'ws';

/** The gateway answered an operation with an error: its message and `extensions.code`. */
export class GatewayError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    readonly extensions: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * The connection dropped after a non-idempotent operation was sent: the
 * gateway may or may not have carried it out. The caller decides (a lost
 * claim is looked for among the worker's held tasks; a lost report is said
 * on the task).
 */
export class ReplyLost extends Error {}

/** The gateway refused the connection for good (a bad, revoked or expired token): the worker cannot go on. */
export class ConnectionRefused extends Error {}

/**
 * How an operation behaves when the connection drops before its answer:
 * `resend` sends it again once reconnected (reads, heartbeats, appends by
 * offset, and state changes whose repeat is refused as INVALID_TRANSITION);
 * `once` fails with ReplyLost (claims and creations, which a repeat would duplicate).
 */
export type Delivery = 'resend' | 'once';

export interface GatewayOptions {
  /** The GraphQL endpoint over HTTP(S); the WebSocket URL is derived from it. */
  url: string;
  token: string;
  /** One line about the connection (lost, back) for the worker's stderr. */
  say: (line: string) => void;
}

/** graphql-ws closes with 4403 when the token is missing, bad, revoked or expired. */
const FORBIDDEN_CLOSE = 4403;
const KEEP_ALIVE_MS = 10_000;
/** A ping unanswered this long means the socket is dead (a half-open TCP connection sends no close). */
const PONG_TIMEOUT_MS = 5_000;
/** Reconnect backoff: doubles from the first wait up to the cap, with jitter so a fleet does not return at once. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any document: its own types are read through ResultOf and VariablesOf
type Document = TadaDocumentNode<any, any>;

interface Pending {
  cancel(): void;
  reject(error: Error): void;
}

/**
 * The worker's one graphql-ws connection to the gateway: connects at once,
 * reconnects with backoff for as long as the worker runs, pings to find a
 * dead socket, and re-subscribes live subscriptions after a reconnect (what
 * happened meanwhile is for the caller to read again: see onReconnect).
 */
export class Gateway {
  private readonly client: Client;
  /** Operations sent with `once` delivery, failed with ReplyLost when the socket closes. */
  private readonly unsure = new Set<Pending>();
  private readonly reconnectListeners = new Set<() => void>();
  private connectedBefore = false;
  /** close() was called: the socket's end is not news. */
  private closing = false;
  private lostSince: number | null = null;
  /** Settles when the gateway refuses the connection for good. */
  readonly refused: Promise<ConnectionRefused>;

  constructor(options: GatewayOptions) {
    let refuse: (error: ConnectionRefused) => void = () => {};
    this.refused = new Promise((resolve) => (refuse = resolve));
    let pongTimer: NodeJS.Timeout | undefined;
    let socket: WebSocket | null = null;
    this.client = createClient({
      url: options.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${options.token}` },
      lazy: false,
      keepAlive: KEEP_ALIVE_MS,
      retryAttempts: Infinity,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retries) * (0.75 + Math.random() / 2))),
      // A gateway that is down or unreachable is waited for; only a refused token is final.
      shouldRetry: (event) => closeCode(event) !== FORBIDDEN_CLOSE,
      onNonLazyError: (event) => refuse(new ConnectionRefused(refusal(event, options.url))),
      on: {
        connected: (opened) => {
          socket = opened as WebSocket;
          if (this.lostSince !== null) options.say(`connection to the gateway ${this.connectedBefore ? 'is back' : 'made'} after ${((Date.now() - this.lostSince) / 1000).toFixed(1)} s`);
          this.lostSince = null;
          if (this.connectedBefore) for (const listener of this.reconnectListeners) listener();
          this.connectedBefore = true;
        },
        closed: (event) => {
          clearTimeout(pongTimer);
          socket = null;
          if (this.lostSince === null && !this.closing) {
            this.lostSince = Date.now();
            const code = closeCode(event) ?? 'no close code';
            options.say(this.connectedBefore ? `lost the connection to the gateway (${code}); reconnecting` : `cannot reach the gateway at ${options.url} (${code}); trying until it answers`);
          }
          for (const pending of [...this.unsure]) {
            pending.cancel();
            pending.reject(new ReplyLost('the connection to the gateway dropped before its answer'));
          }
        },
        ping: (received) => {
          if (received) return;
          pongTimer = setTimeout(() => socket?.terminate(), PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(pongTimer);
        },
      },
    });
  }

  /** Called after every reconnect (not the first connection): a subscription's events sent meanwhile are lost. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** One query or mutation; resolves to its data, or throws GatewayError (or ReplyLost, for `once` delivery). */
  request<D extends Document>(document: D, variables: VariablesOf<D>, delivery: Delivery): Promise<ResultOf<D>> {
    return new Promise((resolve, reject) => {
      let data: unknown = null;
      let settled = false;
      const pending: Pending = {
        cancel: () => cancel(),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (done: () => void) => {
        if (settled) return;
        settled = true;
        this.unsure.delete(pending);
        done();
      };
      const cancel = this.client.subscribe(
        { query: print(document), variables: variables as Record<string, unknown> },
        {
          next: (result) => {
            if (result.errors?.length) settle(() => reject(gatewayError(result.errors!)));
            else data = result.data;
          },
          error: (error) => settle(() => reject(Array.isArray(error) ? gatewayError(error) : new GatewayError(describe(error), null, {}))),
          complete: () => settle(() => (data === null ? reject(new GatewayError('the gateway ended an operation without an answer', null, {})) : resolve(data as ResultOf<D>))),
        },
      );
      if (delivery === 'once') this.unsure.add(pending);
    });
  }

  /** A live subscription, re-subscribed after every reconnect until the returned function stops it. */
  subscribe<D extends Document>(document: D, variables: VariablesOf<D>, onData: (data: ResultOf<D>) => void, onError: (error: GatewayError) => void): () => void {
    return this.client.subscribe(
      { query: print(document), variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          if (result.errors?.length) onError(gatewayError(result.errors));
          else if (result.data) onData(result.data as ResultOf<D>);
        },
        error: (error) => onError(Array.isArray(error) ? gatewayError(error) : new GatewayError(describe(error), null, {})),
        complete: () => {},
      },
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.dispose();
  }
}

function gatewayError(errors: readonly { message: string; extensions?: Record<string, unknown> }[]): GatewayError {
  const [first] = errors;
  const extensions = first?.extensions ?? {};
  return new GatewayError(errors.map((e) => e.message).join('; '), typeof extensions.code === 'string' ? extensions.code : null, extensions);
}

function closeCode(event: unknown): number | null {
  const code = (event as { code?: unknown })?.code;
  return typeof code === 'number' ? code : null;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const code = closeCode(error);
  if (code !== null) return `the connection closed (${code}${(error as { reason?: string }).reason ? `: ${(error as { reason: string }).reason}` : ''})`;
  return String(error);
}

/** Why the connection was refused for good, in one line. */
function refusal(event: unknown, url: string): string {
  if (closeCode(event) === FORBIDDEN_CLOSE) return `the gateway at ${url} refused the token: ${String((event as { reason?: unknown }).reason)}`;
  return `the connection to the gateway at ${url} failed for good: ${describe(event)}`;
}

/**
 * A minimal graphql-ws client (subprotocol graphql-transport-ws) on a raw
 * `ws` socket, written by hand so that the load generator stays cheap: no
 * client library, one JSON.parse per message, no retries. Enough for the
 * benchmarks: connection_init / connection_ack, subscribe, next, error,
 * complete, ping / pong.
 */
import WebSocket from 'ws';

export interface OperationHandlers {
  /** A `next` message's payload (an execution result), parsed. */
  next?(payload: { data?: any; errors?: readonly { message: string }[] }): void;
  /** An `error` message's payload (GraphQL errors): the operation is over. */
  error?(errors: readonly { message: string }[]): void;
  complete?(): void;
}

export interface WsConnection {
  readonly socket: WebSocket;
  /** Starts an operation under a fresh id; returns that id. */
  subscribe(query: string, variables: Record<string, unknown> | undefined, handlers: OperationHandlers): string;
  /** Sends `complete` for an operation the client no longer wants. */
  unsubscribe(id: string): void;
  /** One operation (a mutation) to its end: resolves with undefined, or with a failure's description. */
  once(query: string, variables?: Record<string, unknown>): Promise<string | undefined>;
  /** Why the socket closed, once it has (code and reason). */
  closed(): string | undefined;
  close(): Promise<void>;
}

/** Opens a socket and waits for connection_ack. */
export function connect(url: string, connectionParams: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<WsConnection> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
  const operations = new Map<string, OperationHandlers>();
  let nextId = 0;
  let closeReason: string | undefined;

  const connection: WsConnection = {
    socket,
    subscribe(query, variables, handlers) {
      const id = String(++nextId);
      operations.set(id, handlers);
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      return id;
    },
    unsubscribe(id) {
      if (operations.delete(id) && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ id, type: 'complete' }));
    },
    once(query, variables) {
      return new Promise((resolve) => {
        let failure: string | undefined;
        connection.subscribe(query, variables, {
          next: (payload) => {
            if (payload.errors?.length) failure ??= payload.errors.map((e) => e.message).join('; ');
            else if (!payload.data) failure ??= 'no data';
          },
          error: (errors) => resolve(errors.map((e) => e.message).join('; ') || 'error'),
          complete: () => resolve(failure),
        });
      });
    },
    closed: () => closeReason,
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close(1000);
      }),
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no connection_ack from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      closeReason = `close ${code} ${reason.toString()}`;
      reject(new Error(`socket closed before connection_ack: ${closeReason}`));
      // Operations still open end with the socket.
      for (const [id, handlers] of operations) {
        operations.delete(id);
        handlers.error?.([{ message: `socket closed: ${closeReason}` }]);
      }
    });
    socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString()) as { id?: string; type: string; payload?: any };
      switch (message.type) {
        case 'connection_ack':
          clearTimeout(timer);
          resolve(connection);
          return;
        case 'ping':
          socket.send('{"type":"pong"}');
          return;
        case 'next':
          operations.get(message.id!)?.next?.(message.payload);
          return;
        case 'error': {
          const handlers = operations.get(message.id!);
          operations.delete(message.id!);
          handlers?.error?.(message.payload ?? []);
          return;
        }
        case 'complete': {
          const handlers = operations.get(message.id!);
          operations.delete(message.id!);
          handlers?.complete?.();
          return;
        }
        default:
      }
    });
  });
}

/** Opens n connections, `batch` handshakes at a time (hundreds at once only measure the accept queue). */
export async function connectMany(url: string, n: number, connectionParams: Record<string, unknown> = {}, batch = 50): Promise<WsConnection[]> {
  const connections: WsConnection[] = [];
  for (let i = 0; i < n; i += batch) {
    const settled = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, () => connect(url, connectionParams)));
    for (const s of settled) if (s.status === 'fulfilled') connections.push(s.value);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await closeAll(connections);
      throw failure.reason;
    }
  }
  return connections;
}

export const closeAll = (connections: readonly WsConnection[]) => Promise.all(connections.map((c) => c.close())).then(() => undefined);

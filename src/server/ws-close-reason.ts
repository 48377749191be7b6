import type { WebSocket } from 'ws';

/** The most a close frame's reason may hold (RFC 6455: 125 bytes of payload, 2 of them the code). */
const MAX_REASON_BYTES = 123;

/**
 * graphql-ws closes a socket with reasons that quote the client
 * ("Subscriber for <id> already exists"); past 123 bytes `ws` throws
 * instead of closing, and graphql-ws then closes with 4500 (its own
 * internal error) and writes the error to stderr. The reason is cut to fit.
 * Register before graphql-ws's `connection` listener.
 */
export function boundCloseReasons(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) => {
    if (typeof reason === 'string' && Buffer.byteLength(reason) > MAX_REASON_BYTES) {
      let cut = reason.slice(0, MAX_REASON_BYTES - 3);
      while (Buffer.byteLength(cut) > MAX_REASON_BYTES - 3) cut = cut.slice(0, -1);
      reason = `${cut}...`;
    }
    close(code, reason);
  };
}

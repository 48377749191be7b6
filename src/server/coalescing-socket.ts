import type { Socket } from 'node:net';
import WebSocket from 'ws';

/**
 * Past this many bytes waiting for the network, a send's callback waits for
 * its write again (graphql-ws awaits it before the next message), so a client
 * that stops reading holds at most about this much, as before.
 */
export const SEND_HIGH_WATER_BYTES = 1024 * 1024;

/** Corked frames go out once they hold this many bytes, so a long burst's first frames are not held back for all of it. */
const FLUSH_BYTES = 64 * 1024;

type SendCallback = (error?: Error) => void;
type SendOptions = Parameters<WebSocket['send']>[1];

/**
 * A server socket whose frames sent in one tick leave in one write: the first
 * send corks the TCP socket and the next tick uncorks it. graphql-ws awaits
 * each send's callback before its next message, so that callback is called
 * at once (in a microtask) while little is buffered: a `next` and its
 * `complete`, or a page of replayed events, then cost one write, not one per
 * frame. A burst is written every FLUSH_BYTES. Frames keep their order (one
 * socket, written in call order).
 * Passed to WebSocketServer as its `WebSocket` class.
 */
export class CoalescingWebSocket extends WebSocket {
  private corked = false;

  override send(data: Parameters<WebSocket['send']>[0], options?: SendOptions | SendCallback, cb?: SendCallback): void {
    const callback = typeof options === 'function' ? options : cb;
    const sendOptions = typeof options === 'function' ? {} : (options ?? {});
    // ws's own `_socket` (the TCP socket), set once the upgrade completed.
    const tcp = (this as unknown as { _socket: Socket | null })._socket;
    if (this.readyState !== WebSocket.OPEN || !tcp) return super.send(data, sendOptions, callback);
    if (!this.corked) {
      this.corked = true;
      tcp.cork();
      process.nextTick(() => this.uncork(tcp));
    }
    if (!callback || this.bufferedAmount >= SEND_HIGH_WATER_BYTES) super.send(data, sendOptions, callback);
    else {
      // A failed write surfaces as the socket's error and close, which end its operations.
      super.send(data, sendOptions);
      queueMicrotask(() => callback());
    }
    if (tcp.writableLength >= FLUSH_BYTES) this.uncork(tcp);
  }

  /** Each cork is undone once: by the next tick, or earlier by a burst's FLUSH_BYTES. */
  private uncork(tcp: Socket): void {
    if (!this.corked) return;
    this.corked = false;
    tcp.uncork();
  }
}

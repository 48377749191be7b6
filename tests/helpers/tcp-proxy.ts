import { connect, createServer, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1:<port> to a target, whose connections a test can cut, to lose a client's connection at a moment it chooses. */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far (cut ones included). */
  accepted: number;
  /** Resets every open connection, both sides, at once (TCP RST, as a network failure would: no close handshake). */
  cut(): void;
  /** While refusing, new connections are accepted and destroyed at once. */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    proxy.accepted++;
    if (proxy.refusing) return void client.destroy();
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      // A cut makes both sides fail; that is the point.
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: TcpProxy = {
    port: (server.address() as { port: number }).port,
    accepted: 0,
    refusing: false,
    cut() {
      for (const socket of open) socket.resetAndDestroy();
    },
    close() {
      proxy.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/**
 * The fan-out benchmark's ceiling: a raw `ws` server that speaks just enough
 * graphql-transport-ws (connection_init -> connection_ack, subscribe, ping,
 * complete) and, per published event, serializes ONE `next` message and
 * sends those same bytes to every socket subscribed to that stream: no
 * GraphQL, no per-subscriber work but the send itself.
 *
 *   POST /publish {"stream": "beat", "progress": 1.5}   -> workerHeartbeats subscribers
 *   POST /publish {"stream": "note", "message": "s12"}  -> runEvents subscribers
 *
 * The messages have the gateway's shape and about its size. One pre-built
 * message for everyone means one subscription id for everyone: subscribers
 * use id "1" (one subscription per socket, as the benchmark's clients do).
 * Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

type Stream = 'beat' | 'note';
const subscribers: Record<Stream, Set<WebSocket>> = { beat: new Set(), note: new Set() };
const WORKER = '{"id":"V29ya2VyOjAxSlQ1WDlSWjZQUzRGM0QyMUhWN1c4TlFB","type":"EXECUTOR","state":"IDLE"}';
let position = 0;

function message(body: { stream: Stream; progress?: number; message?: string }): string {
  const at = new Date().toISOString();
  if (body.stream === 'beat') {
    return `{"id":"1","type":"next","payload":{"data":{"workerHeartbeats":{"worker":${WORKER},"at":"${at}","progress":${JSON.stringify(body.progress ?? null)}}}}}`;
  }
  position += 1;
  const ulid = `01JT5X9RZ6PS4F3D21HV${String(position).padStart(6, '0')}`;
  const id = Buffer.from(`RunEvent:${ulid}`).toString('base64url');
  const cursor = Buffer.from(`01JT5X9RZ6PS4F3D21HV7W8NQA:${position}`).toString('base64url');
  return `{"id":"1","type":"next","payload":{"data":{"runEvents":{"id":"${id}","kind":"NOTE","ts":"${at}","cursor":"${cursor}",` + `"payload":{"message":${JSON.stringify(body.message ?? '')}}}}}}`;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/publish') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream: Stream; progress?: number; message?: string };
    const bytes = message(body);
    for (const socket of subscribers[body.stream]) socket.send(bytes);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"ok":true}}');
  });
});

const wss = new WebSocketServer({ server, path: '/graphql', handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false) });
wss.on('connection', (socket) => {
  socket.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as { type: string; id?: string; payload?: { query?: string } };
    switch (msg.type) {
      case 'connection_init':
        socket.send('{"type":"connection_ack"}');
        return;
      case 'ping':
        socket.send('{"type":"pong"}');
        return;
      case 'subscribe':
        if (msg.id !== '1') socket.close(4400, 'this server serves subscription id "1" only');
        else subscribers[msg.payload?.query?.includes('runEvents') ? 'note' : 'beat'].add(socket);
        return;
      case 'complete':
        subscribers.beat.delete(socket);
        subscribers.note.delete(socket);
        return;
      default:
    }
  });
  socket.on('close', () => {
    subscribers.beat.delete(socket);
    subscribers.note.delete(socket);
  });
});

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/graphql`, publishUrl: `http://127.0.0.1:${port}/publish` }));

process.once('SIGTERM', () => {
  for (const socket of wss.clients) socket.close(1001);
  wss.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

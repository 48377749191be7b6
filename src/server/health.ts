import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from '../engine/index.js';

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * GET /health: the process is up. GET /ready: it can also reach its
 * database. Returns false for any other request.
 */
export function handleHealth(req: IncomingMessage, res: ServerResponse, engine: Engine): boolean {
  const path = req.url?.split('?')[0];
  if (req.method !== 'GET' || (path !== '/health' && path !== '/ready')) return false;
  if (path === '/health') {
    reply(res, 200, { status: 'ok' });
    return true;
  }
  engine.orm.em
    .fork()
    .execute('select 1')
    .then(
      () => reply(res, 200, { status: 'ready' }),
      (error: unknown) => reply(res, 503, { status: 'unavailable', reason: String(error) }),
    );
  return true;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Engine } from '../engine/index.js';

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

const ALIVE = new Set(['/health', '/healthz']);
const READY = new Set(['/ready', '/readyz']);

/**
 * GET /healthz (or /health): the process is up. GET /readyz (or /ready):
 * it can also reach its database and every migration is applied; the body
 * says whether the event bus is connected. Returns false for any other
 * request.
 */
export function handleHealth(req: IncomingMessage, res: ServerResponse, engine: Engine): boolean {
  const path = req.url?.split('?')[0] ?? '';
  if (req.method !== 'GET' || (!ALIVE.has(path) && !READY.has(path))) return false;
  if (ALIVE.has(path)) {
    reply(res, 200, { status: 'ok' });
    return true;
  }
  // A lost event bus (Redis) leaves the instance ready: HTTP is served from the database; the body tells.
  const eventBus = engine.bus.connected() ? 'connected' : 'disconnected';
  readiness(engine).then(
    (pending) => (pending.length === 0 ? reply(res, 200, { status: 'ready', eventBus }) : reply(res, 503, { status: 'unavailable', reason: `migrations not applied: ${pending.join(', ')}` })),
    (error: unknown) => reply(res, 503, { status: 'unavailable', reason: error instanceof Error ? error.message : String(error) }),
  );
  return true;
}

/** The migrations not yet applied (empty when ready); throws when the database cannot be reached. */
async function readiness(engine: Engine): Promise<string[]> {
  await engine.orm.em.fork().execute('select 1');
  return (await engine.orm.getMigrator().getPendingMigrations()).map((m) => m.name);
}

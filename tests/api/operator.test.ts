import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const base = () => server.url.replace(/\/graphql$/, '');

describe('health', () => {
  it.each(['/healthz', '/health'])('%s says the process is up', async (path) => {
    const res = await fetch(base() + path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it.each(['/readyz', '/ready'])('%s checks the database and that every migration is applied', async (path) => {
    const res = await fetch(base() + path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', eventBus: 'connected' });
  });
});

describe('/metrics', () => {
  /** The value of one sample line (`name{labels} value`). */
  const sample = (text: string, line: string) => {
    const found = text.split('\n').find((l) => l.startsWith(line + ' '));
    return found === undefined ? undefined : Number(found.slice(line.length + 1));
  };

  it('counts operations by name and outcome with latencies, heartbeats, tasks by state, sockets and statements', async () => {
    await server.ok(`query FleetOverview { workerSummary { total } }`);
    await server.gql(`query Broken { workerSummary { nope } }`);
    const { registerWorker } = await server.ok(`mutation Register { registerWorker(input: {type: EXECUTOR}) { worker { id } } }`);
    for (let i = 0; i < 3; i++) await server.ok(`mutation Beat($w: ID!) { heartbeat(input: {workerId: $w}) { worker { id } } }`, { w: registerWorker.worker.id });
    await server.ok(`mutation { createTask(input: {kind: "metrics"}) { task { id } } }`);

    const res = await fetch(base() + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sample(text, 'uet_graphql_operations_total{type="query",name="FleetOverview",outcome="ok"}')).toBe(1);
    expect(sample(text, 'uet_graphql_operations_total{type="mutation",name="Beat",outcome="ok"}')).toBe(3);
    expect(sample(text, 'uet_graphql_operation_duration_seconds_count{type="query",name="FleetOverview"}')).toBe(1);
    expect(sample(text, 'uet_heartbeats_total')).toBe(3);
    expect(sample(text, 'uet_tasks{state="pending"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'uet_websocket_connections')).toBe(0);
    expect(sample(text, 'uet_open_subscriptions')).toBe(0);
    expect(sample(text, 'uet_db_query_duration_seconds_count')).toBeGreaterThan(0);
    // A document that does not validate never executes: it is not an operation, and must not be one with a made-up name.
    expect(text).not.toContain('name="Broken"');
    // Tokens never appear.
    expect(text).not.toContain(ADMIN_SECRET);
    expect(text).not.toMatch(/bearer|authorization/i);
  });
});

describe('logs', () => {
  it('are JSON lines with the request id of the request they belong to, and never carry a token', async () => {
    const { createLogger } = await import('../../src/logger.js');
    const { withRequestId, currentRequestId } = await import('../../src/request-context.js');
    const lines: string[] = [];
    const logger = createLogger('info', (line) => lines.push(line));
    let id: string | undefined;
    withRequestId(() => {
      id = currentRequestId();
      logger.info('handled', { headers: { authorization: `Bearer ${ADMIN_SECRET}` }, token: 'uet_abc', secret: 's3cret', size: 3 });
    });
    logger.debug('not at this level');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'info', message: 'handled', requestId: id, size: 3, headers: '[redacted]', token: '[redacted]', secret: '[redacted]' });
    expect(lines[0]).not.toContain(ADMIN_SECRET);
    expect(typeof entry.time).toBe('string');
  });
});

import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_SECRET, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** What a legitimate client sends: its token, and (for GET) the header CSRF prevention asks browsers' scripts for. */
const fetchAsClient: typeof fetch = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${ADMIN_SECRET}`);
  headers.set('x-graphql-yoga-csrf', '1');
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP (graphql-http server audits)', () => {
  const audits = serverAudits({ url: () => server.url, fetchFn: fetchAsClient });
  it.each(audits.map((audit) => [audit.name, audit] as const))('%s', async (_name, audit) => {
    const result = await audit.fn();
    if (result.status !== 'ok') {
      const body =
        'response' in result
          ? await result.response
              .clone()
              .text()
              .catch(() => '')
          : '';
      expect.fail(`${audit.id} ${result.status}: ${result.reason}${body ? `\n${body.slice(0, 500)}` : ''}`);
    }
  });
});

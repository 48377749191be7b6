/**
 * PostGraphile 4 as a benchmark server process (bench/suites/11-postgraphile.ts):
 * the gateway's PostgreSQL database (DATABASE_URL, schema public, tables made
 * by the gateway's migrations) served as PostGraphile's own schema, with the
 * options its docs recommend for production (no GraphiQL, no query log, no
 * schema watching) on plain node:http. Prints {"url": ...} once the schema is
 * built and a request has been answered; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('postgraphile server: DATABASE_URL is not set');
  process.exit(2);
}

const middleware = postgraphile(url, 'public', {
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  ignoreRBAC: false,
  extendedErrors: ['errcode'],
  legacyRelations: 'omit',
  graphiql: false,
  disableQueryLog: true,
  watchPg: false,
  retryOnInitFail: false,
});

const server = createServer(middleware);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${server.address().port}/graphql`;

// The schema is built on start; the first answer says it is ready.
const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
if (!response.ok) {
  console.error(`postgraphile server: the first request answered HTTP ${response.status}: ${await response.text()}`);
  process.exit(1);
}
const { version } = JSON.parse(readFileSync(new URL('node_modules/postgraphile/package.json', import.meta.url), 'utf8'));
console.log(JSON.stringify({ url: endpoint, postgraphile: version }));

process.once('SIGTERM', () => {
  server.close();
  middleware.release().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

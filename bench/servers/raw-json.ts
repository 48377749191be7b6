/**
 * The floor of any HTTP JSON API: a bare node:http server that answers every
 * request, once its body is read, with the same bytes as application/json.
 * No parsing, no GraphQL. The bytes are a file's: BENCH_BODY_FILE, or the
 * file named by a {"load": path} line on stdin (answered {"bytes": n}), so
 * that the server can start before the body exists.
 * Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

let body = Buffer.alloc(0);
let headers: Record<string, string> = {};
function load(path: string): void {
  body = readFileSync(path);
  headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };
}
if (process.env.BENCH_BODY_FILE) load(process.env.BENCH_BODY_FILE);
createInterface({ input: process.stdin }).on('line', (line) => {
  load((JSON.parse(line) as { load: string }).load);
  console.log(JSON.stringify({ bytes: body.length }));
});

const server = createServer((req, res) => {
  req.resume();
  req.once('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` }));

process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

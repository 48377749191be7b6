import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { css, editorWorkerService, favicon, graphqlWorker, js, jsonWorker } from '@graphql-yoga/render-graphiql/graphiql';
import type { Logger } from '../logger.js';
import { START_SCRIPT } from './graphiql-start.js';

/** Versioned by content, so a browser may keep them for a year without asking again. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

type Encoding = 'br' | 'gzip';

interface Asset {
  body: Buffer;
  type: string;
  /** The identity form's hash, which each encoding's ETag extends. */
  hash: string;
}

export interface GraphiQLAssets {
  /** Where the files are: `<endpoint>/static/<version>/`. */
  base: string;
  /** Serves a GET or HEAD under `<endpoint>/static/`; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/** graphql-ws's browser build: not among its package exports, so found next to its entry point. */
function graphqlWsBrowserBuild(): Buffer {
  const entry = createRequire(import.meta.url).resolve('graphql-ws');
  return readFileSync(join(dirname(entry), '..', 'umd', 'graphql-ws.min.js'));
}

/** The page's files, as @graphql-yoga/render-graphiql would inline them in one 9 MB page. */
function files(): Map<string, { body: Buffer; type: string }> {
  const script = 'text/javascript; charset=utf-8';
  return new Map([
    ['graphiql.js', { body: Buffer.from(js), type: script }],
    ['graphiql.css', { body: Buffer.from(css), type: 'text/css; charset=utf-8' }],
    ['editor.worker.js', { body: Buffer.from(editorWorkerService), type: script }],
    ['json.worker.js', { body: Buffer.from(jsonWorker), type: script }],
    ['graphql.worker.js', { body: Buffer.from(graphqlWorker), type: script }],
    ['graphql-ws.js', { body: graphqlWsBrowserBuild(), type: script }],
    ['start.js', { body: Buffer.from(START_SCRIPT), type: script }],
    ['favicon.ico', { body: Buffer.from(favicon.replace(/^data:[^,]*;base64,/, ''), 'base64'), type: 'image/x-icon' }],
  ]);
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('base64url');

const compressors: Record<Encoding, (body: Buffer) => Promise<Buffer>> = {
  // Quality 5: 1.29 MB for graphiql.js in under a second; 11 would save 0.17 MB for over a minute of CPU.
  br: (body) => promisify(brotliCompress)(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
  gzip: (body) => promisify(gzip)(body),
};

/** Brotli when the browser takes it, else gzip, else none (`q=0` refuses one). */
function negotiate(acceptEncoding: string | undefined): Encoding | null {
  const accepted = new Set(
    (acceptEncoding ?? '')
      .split(',')
      .map((part) => part.trim().toLowerCase().split(';'))
      .filter(([, q]) => !/^\s*q=0(\.0*)?\s*$/.test(q ?? ''))
      .map(([name]) => name),
  );
  return accepted.has('br') ? 'br' : accepted.has('gzip') ? 'gzip' : null;
}

/** Whether If-None-Match names this ETag (or `*`). */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  return ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => ['*', etag].includes(tag.trim().replace(/^W\//, '')));
}

let built: { version: string; assets: Map<string, Asset> } | null = null;
/** Each file in each encoding, compressed once per process when first asked for (not at start: most servers never serve GraphiQL). */
const compressed = new Map<string, Promise<Buffer>>();

/** The files and their version, built on first use (the same for every server of the process). */
function assetSet() {
  if (!built) {
    const assets = new Map([...files()].map(([name, file]) => [name, { ...file, hash: sha256(file.body) }]));
    const version = sha256([...assets].map(([name, asset]) => `${name}:${asset.hash}`).join('\n')).slice(0, 16);
    built = { version, assets };
  }
  return built;
}

function encoded(name: string, asset: Asset, encoding: Encoding): Promise<Buffer> {
  const key = `${name}:${encoding}`;
  let body = compressed.get(key);
  if (!body) {
    body = compressors[encoding](asset.body);
    compressed.set(key, body);
    // A failure is not cached: the next request tries again.
    body.catch(() => compressed.delete(key));
  }
  return body;
}

/**
 * GraphiQL's scripts, stylesheet, workers and icon as separate files under
 * a content-versioned path: cached by the browser for a year (immutable, with
 * an ETag for a forced reload), compressed with brotli or gzip as the browser
 * accepts. The page that loads them is a few kilobytes (graphiql.ts).
 */
export function graphiqlAssets(endpoint: string, logger: Logger): GraphiQLAssets {
  const { version, assets } = assetSet();
  const prefix = `${endpoint}/static/`;
  const base = `${prefix}${version}/`;
  return {
    base,
    handle(req, res) {
      const path = req.url?.split('?')[0] ?? '';
      if (!path.startsWith(prefix)) return false;
      const name = path.slice(base.length);
      const asset = path.startsWith(base) ? assets.get(name) : undefined;
      if (!asset) {
        // An older page's version, after an upgrade: a reload fetches the new page.
        res
          .writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
          .end('No such GraphiQL file (the page may be from an older version of the gateway: reload it).\n');
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GraphiQL files take GET or HEAD.\n');
        return true;
      }
      const encoding = negotiate(req.headers['accept-encoding']);
      const etag = `"${asset.hash}${encoding ? `-${encoding}` : ''}"`;
      const headers = { 'content-type': asset.type, 'cache-control': IMMUTABLE, etag, vary: 'Accept-Encoding' };
      if (notModified(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers).end();
        return true;
      }
      const body = encoding ? encoded(name, asset, encoding) : Promise.resolve(asset.body);
      body.then(
        (bytes) => {
          res.writeHead(200, { ...headers, 'content-length': bytes.length, ...(encoding ? { 'content-encoding': encoding } : {}) });
          res.end(req.method === 'HEAD' ? undefined : bytes);
        },
        (error: unknown) => {
          logger.error('compressing a GraphiQL file failed', { file: name, encoding, error });
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Internal error.\n');
        },
      );
      return true;
    },
  };
}

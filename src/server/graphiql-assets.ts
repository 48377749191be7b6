import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from '../logger.js';
import { START_SCRIPT } from './graphiql-start.js';
import { IMMUTABLE, sendStaticFile, sha256, staticFile, type StaticFile } from './static-files.js';

export interface GraphiQLAssets {
  /** Where the files are: `<endpoint>/static/<version>/` (known once they are loaded). */
  base(): Promise<string>;
  /** Serves a GET or HEAD under `<endpoint>/static/`; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/** graphql-ws's browser build: not among its package exports, so found next to its entry point. */
function graphqlWsBrowserBuild(): Buffer {
  const entry = createRequire(import.meta.url).resolve('graphql-ws');
  return readFileSync(join(dirname(entry), '..', 'umd', 'graphql-ws.min.js'));
}

/** The page's files, as @graphql-yoga/render-graphiql would inline them in one 9 MB page. */
async function files(): Promise<Map<string, StaticFile>> {
  const { css, editorWorkerService, favicon, graphqlWorker, js, jsonWorker } = await import('@graphql-yoga/render-graphiql/graphiql');
  const script = 'text/javascript; charset=utf-8';
  return new Map([
    ['graphiql.js', staticFile(Buffer.from(js), script)],
    ['graphiql.css', staticFile(Buffer.from(css), 'text/css; charset=utf-8')],
    ['editor.worker.js', staticFile(Buffer.from(editorWorkerService), script)],
    ['json.worker.js', staticFile(Buffer.from(jsonWorker), script)],
    ['graphql.worker.js', staticFile(Buffer.from(graphqlWorker), script)],
    ['graphql-ws.js', staticFile(graphqlWsBrowserBuild(), script)],
    ['start.js', staticFile(Buffer.from(START_SCRIPT), script)],
    ['favicon.ico', staticFile(Buffer.from(favicon.replace(/^data:[^,]*;base64,/, ''), 'base64'), 'image/x-icon')],
  ]);
}

/**
 * The files and their version, loaded on first use (the same for every server of the process, which compresses each
 * once): they are 9 MB of strings in a module of their own, and about 40 MB of an idle gateway's memory when loaded
 * at start, for a page most gateways seldom serve.
 */
let built: Promise<{ version: string; assets: Map<string, StaticFile> }> | null = null;
function assetSet() {
  if (!built) {
    built = files().then((assets) => ({ assets, version: sha256([...assets].map(([name, asset]) => `${name}:${asset.hash}`).join('\n')).slice(0, 16) }));
    // A failed load is not kept: the next request tries again.
    built.catch(() => (built = null));
  }
  return built;
}

/**
 * GraphiQL's scripts, stylesheet, workers and icon as separate files under
 * a content-versioned path: cached by the browser for a year (immutable, with
 * an ETag for a forced reload), compressed with brotli or gzip as the browser
 * accepts. The page that loads them is a few kilobytes (graphiql.ts).
 */
export function graphiqlAssets(endpoint: string, logger: Logger): GraphiQLAssets {
  const prefix = `${endpoint}/static/`;
  return {
    base: async () => `${prefix}${(await assetSet()).version}/`,
    handle(req, res) {
      const path = req.url?.split('?')[0] ?? '';
      if (!path.startsWith(prefix)) return false;
      assetSet().then(
        ({ version, assets }) => serve(req, res, path, `${prefix}${version}/`, assets, logger),
        (error: unknown) => {
          logger.error('loading GraphiQL failed', { error });
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('GraphiQL could not be loaded.\n');
        },
      );
      return true;
    },
  };
}

/** Answers a request under the static path once the files are loaded. */
function serve(req: IncomingMessage, res: ServerResponse, path: string, base: string, assets: Map<string, StaticFile>, logger: Logger): void {
  const asset = path.startsWith(base) ? assets.get(path.slice(base.length)) : undefined;
  if (!asset) {
    // An older page's version, after an upgrade: a reload fetches the new page.
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('No such GraphiQL file (the page may be from an older version of the gateway: reload it).\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GraphiQL files take GET or HEAD.\n');
    return;
  }
  sendStaticFile(req, res, asset, IMMUTABLE, logger);
}

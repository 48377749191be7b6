import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { css, editorWorkerService, favicon, graphqlWorker, js, jsonWorker } from '@graphql-yoga/render-graphiql/graphiql';
import type { Logger } from '../logger.js';
import { START_SCRIPT } from './graphiql-start.js';
import { IMMUTABLE, sendStaticFile, sha256, staticFile, type StaticFile } from './static-files.js';

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
function files(): Map<string, StaticFile> {
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

/** The files and their version, built on first use (the same for every server of the process, which compresses each once). */
let built: { version: string; assets: Map<string, StaticFile> } | null = null;
function assetSet() {
  if (!built) {
    const assets = files();
    const version = sha256([...assets].map(([name, asset]) => `${name}:${asset.hash}`).join('\n')).slice(0, 16);
    built = { version, assets };
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
      sendStaticFile(req, res, asset, IMMUTABLE, logger);
      return true;
    },
  };
}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import { IMMUTABLE, REVALIDATE, sendStaticFile, staticFile, type StaticFile } from './static-files.js';

/** Vite's output folder for hashed files: their names change with their content. */
const HASHED = '/assets/';
/** scripts/build.js's record of when the console was built: not served. */
const STAMP = '.build-stamp.json';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** Where `npm run build` puts the console (dist/console of the package), whether the gateway runs from src/ or dist/. */
export function consoleBuildDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/**
 * The page's policy: only the console's own scripts and styles run, and it
 * talks to this gateway only (HTTP, and graphql-ws on the same host: older
 * browsers do not count ws: as 'self'). `host` is the request's Host header,
 * used only when it is a plain host[:port].
 */
function contentSecurityPolicy(host: string | undefined): string {
  const sameHostSockets = host && /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d+)?$/i.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${sameHostSockets}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Every file of the build by its URL path, or null when there is no build. */
function load(dir: string): Map<string, StaticFile> | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  const visit = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name !== STAMP) files.set(`/${relative(dir, full).split(sep).join('/')}`, staticFile(readFileSync(full), TYPES[extname(entry.name)] ?? 'application/octet-stream'));
    }
  };
  visit(dir);
  return files;
}

const NOT_BUILT = '<!doctype html><title>uet-gateway</title><p>The console is not built: run <code>npm run build</code>, then reload.</p>\n';

/**
 * The console (console/, built by Vite into `dir`) at `/`: its hashed files
 * cached for a year, index.html checked on every visit, both compressed
 * (static-files.ts). Any other GET of a page (Accept: text/html) outside
 * the `reserved` paths gets index.html, so a deep link (/runs/ID) opens the console
 * there. Read once, on the first request that finds a build.
 */
export function consoleAssets(dir: string, reserved: readonly string[], logger: Logger) {
  let files: Map<string, StaticFile> | null = null;
  return {
    /** Serves the console's GETs and HEADs; false for any other request. */
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = req.url?.split('?')[0] ?? '/';
      if (reserved.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) return false;
      files ??= load(dir);
      const file = files?.get(path);
      if (file && path !== '/index.html') {
        sendStaticFile(req, res, file, path.startsWith(HASHED) ? IMMUTABLE : REVALIDATE, logger);
        return true;
      }
      if (path.startsWith(HASHED)) {
        // A file of an older build, named by a page loaded before an upgrade: a reload fetches the new page.
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('No such console file (reload the page).\n');
        return true;
      }
      if (!req.headers.accept?.includes('text/html')) return false;
      const page = files?.get('/index.html');
      if (!page) {
        res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : NOT_BUILT);
        return true;
      }
      sendStaticFile(req, res, page, REVALIDATE, logger, { 'content-security-policy': contentSecurityPolicy(req.headers.host) });
      return true;
    },
  };
}

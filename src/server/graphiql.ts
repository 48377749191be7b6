import type { IncomingMessage, ServerResponse } from 'node:http';
import { shouldRenderGraphiQL, type GraphiQLOptions, type Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import { graphiqlAssets } from './graphiql-assets.js';

/**
 * The token hint, in view without scrolling: the Headers tab open under the
 * query, prefilled with the header to complete (a user's saved headers win).
 */
const TOKEN_HINT = { headers: '{\n  "Authorization": "Bearer "\n}', defaultEditorToolsVisibility: 'headers' };

/**
 * Only the page's own files run (the options are a JSON block, which is not
 * run), and nothing loads from or talks to another origin: the page is a
 * token-holding client, so an injected script or a framing page must get
 * nowhere. Styles are also set by script; the stylesheet's icons and fonts
 * are data: URLs.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function page(options: GraphiQLOptions, base: string): string {
  // `<` escaped, so no value can end the JSON block.
  const json = JSON.stringify({ ...options, ...TOKEN_HINT, assets: base }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${base}favicon.ico" />
    <link rel="stylesheet" href="${base}graphiql.css" />
    <script src="${base}graphql-ws.js" defer></script>
    <script src="${base}graphiql.js" defer></script>
    <script src="${base}start.js" defer></script>
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${json}</script>
  </body>
</html>
`;
}

/**
 * GraphiQL from the installed packages, offline: a small page, never cached
 * (it names the current files), and its files (graphiql-assets.ts). The
 * plugin sends the page's Content-Security-Policy with it.
 */
export function authenticatedGraphiQL(endpoint: string, logger: Logger) {
  const assets = graphiqlAssets(endpoint, logger);
  const plugin: Plugin = {
    onResponse({ response }) {
      if (!response.headers.get('content-type')?.startsWith('text/html')) return;
      response.headers.set('content-security-policy', CONTENT_SECURITY_POLICY);
      response.headers.set('cache-control', 'no-cache');
    },
  };
  return {
    render: async (options: GraphiQLOptions) => page(options, await assets.base()),
    plugin,
    /** Serves the page's files; false for any other request. */
    serveFile: (req: IncomingMessage, res: ServerResponse) => assets.handle(req, res),
  };
}

/** With GraphiQL turned off, a browser's GET of the endpoint is 404 (not a GraphQL error about a missing query). */
export function useGraphiQLTurnedOff(endpoint: string): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname.replace(/\/$/, '') !== endpoint || !shouldRenderGraphiQL(request)) return;
      endResponse(new fetchAPI.Response('GraphiQL is turned off on this gateway (UET_GRAPHIQL=false).\n', { status: 404, headers: { 'content-type': 'text/plain' } }));
    },
  };
}

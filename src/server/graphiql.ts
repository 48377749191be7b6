import { createHash } from 'node:crypto';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { shouldRenderGraphiQL, type Plugin } from 'graphql-yoga';

/**
 * GraphiQL sends the Headers editor with HTTP requests but not with its
 * WebSocket, whose token belongs in connection_init. This script, run before
 * GraphiQL, copies the editor's Authorization (persisted in localStorage)
 * into the connection_init payload.
 */
const WS_AUTH_SCRIPT = `<script>
(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const message = JSON.parse(data);
      if (message.type === 'connection_init') {
        const headers = JSON.parse(localStorage.getItem('graphiql:headers') || '{}');
        const authorization = headers.Authorization || headers.authorization;
        if (authorization) data = JSON.stringify({ ...message, payload: { ...message.payload, authorization } });
      }
    } catch {}
    return send.call(this, data);
  };
})();
</script>`;

type GraphiQLOptions = Parameters<typeof renderGraphiQL>[0];

/**
 * Lets exactly the page's own inline scripts run (by their hashes) and
 * nothing load from or talk to another origin: the page is a token-holding
 * client, so an injected script or a framing page must get nowhere. Styles
 * are inline and set by script; Monaco's workers start from blob: URLs; its
 * icons and fonts are data: URLs.
 */
function contentSecurityPolicy(html: string): string {
  const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(([, code = '']) => `'sha256-${createHash('sha256').update(code).digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.join(' ')}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    'font-src data:',
    "connect-src 'self'",
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * GraphiQL's page, rendered once (it is ~9 MB, and the same for every
 * request), and a Yoga plugin that sends the page's Content-Security-Policy
 * with it.
 */
export function authenticatedGraphiQL() {
  let page: { key: string; html: string; policy: string } | null = null;
  const render = (options: GraphiQLOptions): string => {
    const key = JSON.stringify(options);
    if (page?.key !== key) {
      const html = renderGraphiQL(options).replace('<head>', `<head>${WS_AUTH_SCRIPT}`);
      page = { key, html, policy: contentSecurityPolicy(html) };
    }
    return page.html;
  };
  const plugin: Plugin = {
    onResponse({ response }) {
      if (page && response.headers.get('content-type')?.startsWith('text/html')) response.headers.set('content-security-policy', page.policy);
    },
  };
  return { render, plugin };
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

/**
 * The browser script that starts GraphiQL (served as start.js by
 * graphiql-assets.ts, after graphql-ws's and GraphiQL's own). It reads the
 * page's options from a JSON block, points Monaco at the worker files, and
 * gives GraphiQL a fetcher of its own:
 * - queries and mutations are POSTed with the Headers tab's headers;
 * - subscriptions run over graphql-ws with the Headers tab's Authorization
 *   in connection_init (a browser's WebSocket cannot send headers);
 * - a socket the server closes because of the token (4401, 4403) ends the
 *   subscription with the server's reason in the result pane: retrying with
 *   the same token cannot succeed. Network drops are retried (graphql-ws's
 *   5 attempts, 1 s to 16 s apart).
 * Plain ES2020, run as is: nothing compiles it.
 */
export const START_SCRIPT = String.raw`(() => {
  'use strict';
  const { assets, ...options } = JSON.parse(document.getElementById('graphiql-options').textContent);

  const WORKERS = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => assets + WORKERS[label] };

  const endpoint = new URL(location.pathname, location.href);
  const socketUrl = endpoint.href.replace(/^http/, 'ws');
  const REFUSED_TOKEN = [4401, 4403];
  const HINT = 'Put a token in the Headers tab: {"Authorization": "Bearer uet_..."}. Subscriptions send it in connection_init.';

  const isCloseEvent = (value) => typeof value === 'object' && value !== null && typeof value.code === 'number' && typeof value.reason === 'string';

  /** The Headers tab's headers, without the prefilled placeholder "Bearer " (no token yet: sent as none, so the server says a token is missing). */
  function editorHeaders(headers) {
    return Object.fromEntries(Object.entries(headers || {}).filter(([name, value]) => !(name.toLowerCase() === 'authorization' && /^\s*bearer\s*$/i.test(String(value)))));
  }

  function isSubscription(documentAST, operationName) {
    const operations = (documentAST ? documentAST.definitions : []).filter((definition) => definition.kind === 'OperationDefinition');
    const operation = operationName ? operations.find((o) => o.name && o.name.value === operationName) : operations.length === 1 ? operations[0] : undefined;
    return Boolean(operation && operation.operation === 'subscription');
  }

  async function overHttp(params, editor) {
    const headers = new Headers(editor);
    headers.set('content-type', 'application/json');
    if (!headers.has('accept')) headers.set('accept', 'application/graphql-response+json, application/json');
    const response = await fetch(endpoint, { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(params) });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return { errors: [{ message: 'HTTP ' + response.status + ': ' + text.slice(0, 1000) }] };
    }
  }

  /** What the result pane shows when graphql-ws gives up: the operation's errors, or the server's close reason. */
  function failure(error) {
    if (Array.isArray(error)) return { errors: error };
    if (isCloseEvent(error)) {
      const refused = REFUSED_TOKEN.includes(error.code);
      const message = error.reason || 'the WebSocket closed with code ' + error.code;
      return { errors: [{ message, extensions: refused ? { closeCode: error.code, hint: HINT } : { closeCode: error.code } }] };
    }
    return { errors: [{ message: error instanceof Error ? error.message : 'could not connect to ' + socketUrl }] };
  }

  function overWebSocket(params, editor) {
    return {
      subscribe(observer) {
        const authorization = Object.entries(editor).find(([name]) => name.toLowerCase() === 'authorization');
        const client = graphqlWs.createClient({
          url: socketUrl,
          connectionParams: authorization ? { authorization: String(authorization[1]) } : {},
          shouldRetry: (error) => !(isCloseEvent(error) && REFUSED_TOKEN.includes(error.code)),
        });
        let ended = false;
        const end = (last) => {
          if (ended) return;
          ended = true;
          if (last) observer.next(last);
          observer.complete();
          client.dispose();
        };
        const stop = client.subscribe(params, {
          next: (value) => observer.next(value),
          error: (error) => end(failure(error)),
          complete: () => end(),
        });
        return {
          unsubscribe() {
            ended = true;
            stop();
            client.dispose();
          },
        };
      },
    };
  }

  function fetcher(params, opts) {
    const editor = editorHeaders(opts && opts.headers);
    return isSubscription(opts && opts.documentAST, params.operationName) ? overWebSocket(params, editor) : overHttp(params, editor);
  }

  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), { ...options, fetcher });
})();
`;

import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

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

export function renderAuthenticatedGraphiQL(options: Parameters<typeof renderGraphiQL>[0]): string {
  return renderGraphiQL(options).replace('<head>', `<head>${WS_AUTH_SCRIPT}`);
}

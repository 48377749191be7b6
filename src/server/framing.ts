import type { ServerResponse } from 'node:http';

/**
 * Sent with every response (GraphiQL's page adds a full policy of its own):
 * no page of the gateway may be framed, since a framed GraphiQL that holds
 * a token is a one-click mutation, and no response is sniffed into HTML.
 */
const HEADERS: Record<string, string> = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

export function denyFraming(res: ServerResponse): void {
  for (const [name, value] of Object.entries(HEADERS)) res.setHeader(name, value);
}

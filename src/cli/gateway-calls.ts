import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

// What the simulate commands share: one graphql-ws client per simulated party, calls that throw on a GraphQL error,
// and failures said in one line.

/** A graphql-ws client of the gateway at `url` (its http(s) GraphQL endpoint), authenticated with `token`; no retries: a lost gateway ends the simulation. */
export function openGateway(url: string, token: string): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
}

/** A failure the user can act on, said in one line (main's `error: ...`). */
export class GatewayError extends Error {}

/** One operation over a socket; throws on a GraphQL error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a GraphQL response is untyped JSON, read field by field
export async function call<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  for await (const result of client.iterate({ query, variables })) {
    if (result.errors?.length) throw new GraphQLCallError(result.errors.map((e) => e.message).join('; '));
    return result.data as T;
  }
  throw new GraphQLCallError('the gateway ended an operation without an answer');
}

/** The gateway answered with an error. */
class GraphQLCallError extends Error {}

export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One request over HTTP before any socket opens, so that a wrong URL, a
 * gateway that is not running or a refused token is said in one line
 * instead of surfacing as a socket's error event.
 */
export async function checkGateway(options: { url: string; token: string }): Promise<void> {
  let res: Response;
  try {
    res = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${options.token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new GatewayError(`cannot reach the gateway at ${options.url}: ${networkReason(error)}; is it running? set --url or PORT`);
  }
  const body = (await res.json().catch(() => null)) as { errors?: { message: string; extensions?: { code?: string } }[] } | null;
  const refusal = body?.errors?.find((e) => e.extensions?.code === 'UNAUTHENTICATED' || e.extensions?.code === 'FORBIDDEN');
  if (refusal) throw new GatewayError(`the gateway at ${options.url} refused the token: ${refusal.message}`);
  if (!body || !res.ok) throw new GatewayError(`${options.url} answered HTTP ${res.status} without a GraphQL answer; is it the gateway's /graphql endpoint? set --url or PORT`);
}

/** Why a connection failed, in words: "connection refused" rather than ECONNREFUSED and a stack. */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause ?? (error as { error?: { code?: string; message?: string } })?.error ?? error;
  const code = (cause as { code?: string })?.code;
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host not found',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'timed out',
    EHOSTUNREACH: 'host unreachable',
  };
  if (code && reasons[code]) return reasons[code];
  if ((error as Error)?.name === 'TimeoutError') return 'no answer within 10 s';
  return (cause as Error)?.message ?? String(error);
}

/** One line for whatever ended the simulation: a GraphQL error, a socket error event, a close frame. */
export function describeFailure(error: unknown, url: string): string {
  if (error instanceof GatewayError || error instanceof GraphQLCallError) return error.message;
  const close = error as { code?: unknown; reason?: unknown };
  if (typeof close?.code === 'number') {
    // 4403: graphql-ws's Forbidden, which the gateway sends with the reason a token was refused.
    if (close.code === 4403) return `the gateway at ${url} refused the token: ${String(close.reason)}`;
    return `the gateway at ${url} closed the connection (${close.code}${close.reason ? `: ${String(close.reason)}` : ''})`;
  }
  return `lost the gateway at ${url}: ${networkReason(error)}`;
}

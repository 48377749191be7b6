import type { CORSOptions } from 'graphql-yoga';

/** What a listed origin's page may send: its token, JSON, and the header CSRF prevention asks GET requests for. */
const ALLOWED_HEADERS = ['authorization', 'content-type', 'accept', 'x-graphql-yoga-csrf'];
/** How long a browser may reuse a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * CORS from an allow-list of exact origins (UET_CORS_ORIGINS): a listed
 * origin gets Access-Control-Allow-Origin set to itself, any other (and,
 * with an empty list, every cross-origin page) gets no CORS header at all,
 * so the browser keeps the response from it. Credentials are never allowed:
 * the API authenticates by the Authorization header, never by cookies.
 * Yoga's default would reflect any origin with credentials.
 */
export function corsFromAllowList(origins: readonly string[]): (request: Request) => CORSOptions {
  const listed = new Set(origins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !listed.has(origin)) return false;
    return { origin, credentials: false, methods: ['GET', 'POST'], allowedHeaders: ALLOWED_HEADERS, maxAge: PREFLIGHT_MAX_AGE };
  };
}

/**
 * Shared by the hostile-input suites (mutation-properties, fuzz-protocol,
 * fuzz-parsers): the error codes a client may see, a raw HTTP client that
 * keeps the status and content type, and a watch on the server's error log.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestServer } from '../helpers/server.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}

/**
 * Yoga's own refusals of a request, which the error masker passes on as they
 * are: bad parameters, an operation it cannot pick out, its persisted
 * operations, its own 25 MB body limit (read from graphql-yoga's sources).
 */
export const YOGA_CODES = ['BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE', 'CANNOT_SEND_PQ_ID_AND_BODY', 'PERSISTED_QUERY_ID_REQUIRED', 'PERSISTED_QUERY_NOT_IN_LIST', 'REQUEST_ENTITY_TOO_LARGE'];

/**
 * The `extensions.code`s a client may be answered with, read from the
 * sources so that a new code cannot be forgotten: the DomainErrorCode union
 * of src/engine/core/errors.ts, and every code literal the server, schema and
 * resolvers use (on a line that mentions a code), and Yoga's (YOGA_CODES).
 * INTERNAL_SERVER_ERROR, the masked bug, is never one of them.
 */
export function documentedCodes(): Set<string> {
  const codes = new Set<string>();
  const errorsTs = readFileSync(join(SRC, 'engine/core/errors.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const union = errorsTs.match(/type DomainErrorCode[\s\S]*?;/)?.[0] ?? '';
  for (const m of union.matchAll(/'([A-Z][A-Z_]*)'/g)) codes.add(m[1]!);
  for (const file of sourceFiles(SRC)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!/code/i.test(line)) continue;
      for (const m of line.matchAll(/'([A-Z]{2,}(?:_[A-Z]+)*)'/g)) codes.add(m[1]!);
    }
  }
  for (const code of [...codes]) if (code.startsWith('SQLITE_') || code === 'INTERNAL_SERVER_ERROR') codes.delete(code);
  for (const code of YOGA_CODES) codes.add(code);
  return codes;
}

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: any;
}

/** Sends any request to the server and keeps everything a spec check needs. */
export async function raw(url: string, init: RequestInit): Promise<RawResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

/** A number as JSON text, keeping what JSON.stringify loses: Infinity as 1e999 (JSON.parse reads it back as Infinity), -0. */
function numberText(n: number): string {
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '1e999';
  if (n === -Infinity) return '-1e999';
  if (Object.is(n, -0)) return '-0';
  return JSON.stringify(n);
}

class Raw {
  constructor(readonly text: string) {}
}

/**
 * JSON text of a value, carrying what JSON.stringify would lose: Infinity as
 * 1e999, -0 as -0. NaN has no JSON form at all: it goes as the string "NaN",
 * a wrong-typed value. Written without recursion: values may be 10,000
 * levels deep.
 */
export function jsonText(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    let item = stack.pop();
    if (item instanceof Raw) {
      out.push(item.text);
      continue;
    }
    if (item !== null && typeof item === 'object' && typeof (item as { toJSON?: unknown }).toJSON === 'function') item = (item as { toJSON(): unknown }).toJSON();
    if (item === null || item === undefined || typeof item === 'function' || typeof item === 'symbol') out.push('null');
    else if (typeof item === 'number') out.push(numberText(item));
    else if (typeof item === 'bigint') out.push(item.toString());
    else if (typeof item !== 'object') out.push(JSON.stringify(item));
    else if (Array.isArray(item)) {
      stack.push(new Raw(']'));
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push(item[i]);
        if (i > 0) stack.push(new Raw(','));
      }
      stack.push(new Raw('['));
    } else {
      const entries = Object.entries(item).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol');
      stack.push(new Raw('}'));
      for (const [i, [key, value]] of [...entries.entries()].reverse()) {
        stack.push(value);
        stack.push(new Raw(`${JSON.stringify(key)}:`));
        if (i > 0) stack.push(new Raw(','));
      }
      stack.push(new Raw('{'));
    }
  }
  return out.join('');
}

/** POSTs a GraphQL request with the admin token (unless token is null), as JSON text that may carry 1e999. */
export function postGraphQL(
  server: TestServer,
  body: { query: string; variables?: unknown; operationName?: string } | string,
  { token, accept = 'application/json' }: { token: string | null; accept?: string },
): Promise<RawResponse> {
  return raw(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept,
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : jsonText(body),
  });
}

/** Lines the server logged at error level (or pushed by the engine's onError) since `from`. */
export function errorLogLines(server: TestServer, from = 0): string[] {
  return server.logs.slice(from).filter((line) => {
    try {
      const parsed = JSON.parse(line) as { level?: string };
      return parsed.level === 'error' || parsed.level === 'fatal';
    } catch {
      // The engine's onError pushes String(error): always a failure.
      return true;
    }
  });
}

/** What is wrong with a GraphQL response's errors: codes outside `allowed`, INTERNAL_SERVER_ERROR, missing codes. */
export function badCodes(json: any, allowed: ReadonlySet<string>): string[] {
  const errors: any[] = Array.isArray(json?.errors) ? json.errors : [];
  return errors.filter((e) => typeof e?.extensions?.code !== 'string' || !allowed.has(e.extensions.code)).map((e) => `${e?.extensions?.code ?? '(no code)'}: ${String(e?.message).slice(0, 200)}`);
}

/** Counts of each value, for summaries. */
export class Tally {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  toString(): string {
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  }
}

/** The test server's heap after a full GC when node runs with --expose-gc, else as it is (honestly labelled). */
export function heapUsed(): { bytes: number; afterGc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  return { bytes: process.memoryUsage().heapUsed, afterGc: Boolean(gc) };
}

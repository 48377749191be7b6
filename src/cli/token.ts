import { loadConfig } from '../config.js';
import { ApiTokenSchema, type ApiToken, type Scope } from '../engine/auth/entities.js';
import { SCOPES } from '../engine/auth/identity.js';
import { DomainError, notFound } from '../engine/core/errors.js';
import { isUlid } from '../engine/core/ids.js';
import type { Orm } from '../engine/db/orm.js';
import { createEngine } from '../engine/index.js';
import { encodeGlobalId } from '../schema/builder.js';
import { parseCommandArgs, UsageError } from './args.js';
import { openCommandDatabase } from './database.js';

const CREATE_USAGE = `usage: uet-gateway token create --name NAME --scopes SCOPE[,SCOPE...] [--expires-at WHEN]
  creates a token and prints its secret (shown only this once) on stdout
  --scopes      any of ${SCOPES.join(', ')} (admin holds them all)
  --expires-at  ISO 8601 in UTC or with an offset, e.g. 2027-01-01T00:00:00Z, or a date (2027-01-01: midnight UTC); default: never`;
const LIST_USAGE = `usage: uet-gateway token list
  lists every token, newest first: id, name, scopes, state (active, expired, revoked), expiry, last use`;
const REVOKE_USAGE = `usage: uet-gateway token revoke ID
  revokes a token at once (open WebSockets close with 4403); ID as \`token list\` prints it (the API's ApiToken.id) or its raw form`;

export const TOKEN_USAGE = `usage: uet-gateway token <create|list|revoke> ...
  manages API tokens in the database DATABASE_URL names (which must exist)

${CREATE_USAGE}

${LIST_USAGE}

${REVOKE_USAGE}`;

/** `uet-gateway token` (or `npm run token --`): manage API tokens on the configured database, for scripts and operators. */
export async function tokenCommand(argv: string[]): Promise<number> {
  const [subcommand = '', ...rest] = argv;
  switch (subcommand) {
    case 'create':
      return createToken(rest);
    case 'list':
      return listTokens(rest);
    case 'revoke':
      return revokeToken(rest);
    default:
      if (subcommand !== '' && !subcommand.startsWith('-')) throw new UsageError(`unknown subcommand "${subcommand}": use create, list or revoke`, TOKEN_USAGE);
      // `token --help` (HelpRequested) or an option before the subcommand.
      parseCommandArgs(argv, TOKEN_USAGE, { options: {} });
      throw new UsageError('missing subcommand: create, list or revoke', TOKEN_USAGE);
  }
}

async function createToken(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, CREATE_USAGE, { options: { name: { type: 'string' }, scopes: { type: 'string' }, 'expires-at': { type: 'string' } } });
  if (values.name === undefined) throw new UsageError('missing --name', CREATE_USAGE);
  if (values.scopes === undefined) throw new UsageError('missing --scopes', CREATE_USAGE);
  const scopes = parseScopes(values.scopes);
  const expiresAt = values['expires-at'] === undefined ? null : parseExpiry(values['expires-at']);
  return withTokens(async ({ tokens }) => {
    const { secret, token } = await tokens.create({ name: values.name!, scopes, expiresAt }).catch((error: unknown) => {
      // The engine's own checks (an empty or too long name) are wrong usage here too.
      throw error instanceof DomainError && error.code === 'BAD_USER_INPUT' ? createRefusal(error) : error;
    });
    const expiry = token.expiresAt ? `expires ${formatTime(token.expiresAt)}` : 'does not expire';
    // Only the secret on stdout, so `secret=$(uet-gateway token create ...)` captures it.
    console.error(`created token "${printable(token.name)}" (${token.scopes.join(', ')}), ${expiry}, id ${globalTokenId(token.id)}`);
    console.log(secret);
    return 0;
  });
}

async function listTokens(argv: string[]): Promise<number> {
  parseCommandArgs(argv, LIST_USAGE, { options: {} });
  return withTokens(async ({ tokens }) => {
    const now = new Date();
    const rows: string[][] = [['ID', 'NAME', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED']];
    for (let after: string | null = null; ;) {
      const page = await tokens.list({ first: 100, after });
      for (const { node } of page.edges) {
        rows.push([globalTokenId(node.id), printable(node.name), node.scopes.join(','), tokenState(node, now), formatTime(node.expiresAt), formatTime(node.lastUsedAt)]);
      }
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    if (rows.length === 1) {
      console.error('no tokens: create one with `uet-gateway token create`');
      return 0;
    }
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows)
      console.log(
        row
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
      );
    return 0;
  });
}

async function revokeToken(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs(argv, REVOKE_USAGE, { options: {}, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing token ID' : `one token ID at a time, got ${positionals.length}`, REVOKE_USAGE);
  const given = positionals[0]!;
  const id = rawTokenId(given);
  return withTokens(async ({ tokens }, orm) => {
    const stored = await orm.em.fork().findOne(ApiTokenSchema, { id });
    if (!stored) throw notFound('ApiToken', given);
    if (stored.revokedAt) {
      // Nothing to do is not a failure (as `gh` does): the token is revoked, as asked.
      console.error(`token "${printable(stored.name)}" (${globalTokenId(id)}) was already revoked at ${formatTime(stored.revokedAt)}`);
      return 0;
    }
    const token = await tokens.revoke(id);
    console.log(`revoked token "${printable(token.name)}" (${globalTokenId(id)})`);
    return 0;
  });
}

/** The engine's token service on the existing database, closed afterwards. */
async function withTokens(work: (engine: ReturnType<typeof createEngine>, orm: Orm) => Promise<number>): Promise<number> {
  const orm = await openCommandDatabase(loadConfig(), { create: false });
  try {
    return await work(createEngine({ orm }), orm);
  } finally {
    await orm.close();
  }
}

/** The option each field of the engine's tokens.create comes from. */
const CREATE_OPTIONS: Record<string, string> = { name: '--name', expiresAt: '--expires-at' };

/**
 * The engine's refusal of a token create as wrong usage, naming the option rather than the engine's field: an
 * expiry that passes between parseExpiry and the write is `--expires-at: must be in the future`.
 */
export function createRefusal(error: DomainError): UsageError {
  const field = String(error.details.field);
  return new UsageError(error.message.replace(`${field}:`, `${CREATE_OPTIONS[field] ?? `--${field}`}:`), CREATE_USAGE);
}

function parseScopes(raw: string): Scope[] {
  const scopes = raw.split(',').map((scope) => scope.trim().toLowerCase());
  const unknown = scopes.filter((scope) => !SCOPES.includes(scope as Scope));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.map((s) => `"${s}"`).join(', ')} in --scopes: use ${SCOPES.join(', ')}`, CREATE_USAGE);
  return scopes as Scope[];
}

/** A date, or a date and time with its zone (Z or an offset): ISO 8601 as people write it. */
const ISO_8601 = /^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})(?:T(?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](?<offsetHour>\d{2}):(?<offsetMinute>\d{2})))?$/i;

/** `--expires-at`: ISO 8601 with a zone, or a date meaning midnight UTC; in the future. */
export function parseExpiry(raw: string, now = new Date()): Date {
  const parts = ISO_8601.exec(raw)?.groups;
  const part = (name: string) => Number(parts?.[name] ?? 0);
  const inRange = part('hour') <= 23 && part('minute') <= 59 && part('second') <= 59 && part('offsetHour') <= 23 && part('offsetMinute') <= 59;
  if (!parts || !inRange || !isCalendarDate(part('year'), part('month'), part('day'))) {
    const hint = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(raw) ? ' (add Z for UTC, or an offset such as +02:00)' : '';
    throw new UsageError(`--expires-at "${raw}" is not a date: use ISO 8601, e.g. 2027-01-01T00:00:00Z or 2027-01-01${hint}`, CREATE_USAGE);
  }
  const expiresAt = new Date(parts.hour === undefined ? `${raw}T00:00:00Z` : raw);
  if (expiresAt <= now) throw new UsageError(`--expires-at ${raw} is in the past (now is ${formatTime(now)})`, CREATE_USAGE);
  return expiresAt;
}

function isCalendarDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** The id the API uses for this token (ApiToken.id, what revokeApiToken takes). */
function globalTokenId(id: string): string {
  return encodeGlobalId('ApiToken', id);
}

/** The stored id from what `token list` or the API printed (a global ApiToken id) or the raw ULID. */
function rawTokenId(given: string): string {
  if (isUlid(given)) return given;
  const raw = Buffer.from(given, 'base64url')
    .toString('utf8')
    .replace(/^ApiToken:/, '');
  if (isUlid(raw) && globalTokenId(raw) === given) return raw;
  throw new UsageError(`"${given}" is not a token ID: use the ID column of \`uet-gateway token list\` (or the API's ApiToken.id)`, REVOKE_USAGE);
}

function tokenState(token: ApiToken, now: Date): string {
  if (token.revokedAt) return 'revoked';
  return token.expiresAt && token.expiresAt <= now ? 'expired' : 'active';
}

function formatTime(time: Date | null | undefined): string {
  return time ? time.toISOString().replace(/\.\d{3}Z$/, 'Z') : 'never';
}

/** A name as one terminal-safe cell: control characters (newlines, escape sequences) would break the table or the terminal. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

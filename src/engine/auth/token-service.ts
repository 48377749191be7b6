import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/knex';
import type { Clock } from '../core/clock.js';
import { badInput, notFound } from '../core/errors.js';
import type { EventBus } from '../core/event-bus.js';
import type { Page, PageArgs } from '../core/pagination.js';
import { pageNewestFirst } from '../core/newest-first.js';
import { optionalDate, requireText } from '../core/validate.js';
import type { Transact } from '../core/write-scope.js';
import { ApiTokenSchema, type ApiToken, type Scope } from './entities.js';
import { SCOPES, type Identity } from './identity.js';
import type { AuthRefusal } from './refusal.js';

/** Bus notice for a revoked token: every instance closes its sockets (4403). */
export interface TokenRevokedNotice {
  tokenId: string;
  /** ISO time, for the refusal's message (absent in notices from older instances). */
  revokedAt?: string;
}

/** Why a presented secret stands for no identity (the server adds the header cases). */
export type TokenRefusal = Extract<AuthRefusal, { reason: 'UNKNOWN_TOKEN' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' }>;

/** What a presented secret stands for: an identity, or why not. */
export type TokenCheck = { identity: Identity; refusal?: never } | { identity: null; refusal: TokenRefusal };

const UNKNOWN: TokenCheck = { identity: null, refusal: { reason: 'UNKNOWN_TOKEN' } };

declare module '../core/event-bus.js' {
  interface Topics {
    'auth.token-revoked': TokenRevokedNotice;
  }
}

const SECRET_PREFIX = 'uet_';
/** lastUsedAt is written at most this often per token, off the request's path. */
const LAST_USED_RESOLUTION_MS = 60_000;
const TOKEN_CURSOR = 'ApiToken';
/** How long a looked-up token is trusted without asking the database again (revocations arrive by pollRevocations and the bus). */
const KNOWN_TTL_MS = 30_000;
const KNOWN_CAPACITY = 10_000;
/**
 * How far back a revocation poll looks before its last pass: revokedAt is
 * stamped by the revoking process's clock when its transaction starts, so a
 * slow commit or another machine's clock may date it a little in the past.
 */
const REVOCATION_LOOKBACK_MS = 60_000;
/** setTimeout's longest delay (about 24.8 days); a later expiry re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * API tokens: created with a random secret shown once, stored as a hash,
 * checked on every request and again before every subscription event.
 */
export class TokenService {
  private readonly adminSecretHash: Buffer | null;
  /** Revoked since start, with when (null: not known): checked without a query, so open streams stop at once. */
  private readonly revoked = new Map<string, Date | null>();
  /** What to call when a token is revoked, by token id (see watch). */
  private readonly watchers = new Map<string, Set<(why: TokenRefusal) => void>>();
  /** Where the next revocation poll starts (this instance's clock, less REVOCATION_LOOKBACK_MS). */
  private polledUntil: Date;
  private readonly lastUsedWritten = new Map<string, number>();
  /**
   * Identities by secret hash, so a request does not cost a query. Safe to
   * keep: revocation (the set above) and expiry are checked on every use.
   */
  private readonly known = new Map<string, { identity: Identity; until: number }>();
  /** When the shared bus was lost (null while connected). */
  private busLostAt: Date | null = null;

  constructor(
    private readonly transact: Transact,
    private readonly fork: () => EntityManager,
    private readonly clock: Clock,
    bus: EventBus,
    adminSecret: string | null,
    private readonly onError: (error: unknown) => void,
  ) {
    this.adminSecretHash = adminSecret ? Buffer.from(sha256(adminSecret), 'hex') : null;
    this.polledUntil = this.clock.now();
    bus.subscribe('auth.token-revoked', ({ tokenId, revokedAt }) => this.markRevoked(tokenId, revokedAt ? new Date(revokedAt) : null));
    // A revocation announced while a shared bus was away never arrived: ask the database again.
    bus.onConnectionChange((connected) => {
      if (!connected) {
        this.busLostAt ??= this.clock.now();
        return;
      }
      this.known.clear();
      const since = this.busLostAt;
      this.busLostAt = null;
      // Clearing the cache is not enough for identities already attached to open sockets (isActive only
      // reads `revoked`): without this, a socket of a token revoked elsewhere during the outage kept
      // receiving events for good (tests/scale-out/redis-outage.test.ts).
      if (since) this.recheckRevocations(since, bus).catch(this.onError);
    });
  }

  /**
   * The tokens revoked since `since` (less a minute for other instances'
   * clocks), as their notices may have been lost: marked revoked here and
   * announced again, so that every instance closes their sockets (4403).
   */
  private async recheckRevocations(since: Date, bus: EventBus): Promise<void> {
    for (const { id, revokedAt } of await this.revokedSince(since)) {
      if (this.markRevoked(id, revokedAt)) bus.publish('auth.token-revoked', { tokenId: id, revokedAt: revokedAt.toISOString() });
    }
  }

  /**
   * Picks up revocations written by any process on the database (the CLI,
   * another instance, with or without a shared bus): run on every instance
   * every UET_REVOCATION_POLL_MS (src/server/jobs.ts). One range read of the
   * revoked_at index, returning the few tokens revoked lately.
   */
  async pollRevocations(): Promise<void> {
    const started = this.clock.now();
    for (const { id, revokedAt } of await this.revokedSince(this.polledUntil)) this.markRevoked(id, revokedAt);
    this.polledUntil = started;
  }

  private async revokedSince(since: Date): Promise<{ id: string; revokedAt: Date }[]> {
    const from = new Date(since.getTime() - REVOCATION_LOOKBACK_MS);
    const rows = await this.fork().find(ApiTokenSchema, { revokedAt: { $gte: from } }, { fields: ['id', 'revokedAt'] });
    return rows.map((row) => ({ id: row.id, revokedAt: row.revokedAt! }));
  }

  /** Records a revocation and tells the token's watchers; false when it was known already (a later notice may only add when). */
  private markRevoked(tokenId: string, at: Date | null): boolean {
    if (this.revoked.has(tokenId)) {
      if (at && !this.revoked.get(tokenId)) this.revoked.set(tokenId, at);
      return false;
    }
    this.revoked.set(tokenId, at);
    for (const onInactive of [...(this.watchers.get(tokenId) ?? [])]) onInactive({ reason: 'TOKEN_REVOKED', at });
    return true;
  }

  /**
   * Calls `onInactive` once, with why, when the identity's token is revoked
   * (by any process: see pollRevocations) or expires, so that open sockets
   * and streams end then rather than at their next event. Returns a
   * function that stops watching. The admin secret never becomes inactive.
   */
  watch(identity: Identity, onInactive: (why: TokenRefusal) => void): () => void {
    const { tokenId, expiresAt } = identity;
    if (tokenId === null) return () => {};
    let timer: NodeJS.Timeout | undefined;
    let watching = true;
    let watchers = this.watchers.get(tokenId);
    if (!watchers) this.watchers.set(tokenId, (watchers = new Set()));
    const stop = () => {
      if (!watching) return;
      watching = false;
      clearTimeout(timer);
      watchers.delete(fire);
      if (watchers.size === 0 && this.watchers.get(tokenId) === watchers) this.watchers.delete(tokenId);
    };
    const fire = (why: TokenRefusal) => {
      if (!watching) return;
      stop();
      onInactive(why);
    };
    watchers.add(fire);
    const arm = () => {
      if (!watching) return;
      const inactive = this.refusalOf(identity);
      if (inactive) return fire(inactive);
      if (expiresAt === null) return;
      const left = expiresAt.getTime() - this.clock.now().getTime();
      const expire = () => fire({ reason: 'TOKEN_EXPIRED', at: expiresAt });
      timer = setTimeout(left > MAX_TIMER_MS ? arm : expire, Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    // Not synchronously: the caller gets its stop function before onInactive can run.
    queueMicrotask(arm);
    return stop;
  }

  async create(input: { name: string; scopes: readonly string[]; expiresAt?: Date | null }): Promise<{ secret: string; token: ApiToken }> {
    const name = requireText('name', input.name);
    const scopes = parseScopes(input.scopes);
    const expiresAt = optionalDate('expiresAt', input.expiresAt);
    if (expiresAt && expiresAt <= this.clock.now()) throw badInput('expiresAt', 'must be in the future');
    const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const token = await this.transact(async (scope) => {
      const row = scope.em.create(ApiTokenSchema, { id: scope.newId(), name, scopes, secretHash: sha256(secret), createdAt: scope.now, expiresAt });
      scope.em.persist(row);
      return row;
    });
    return { secret, token };
  }

  async revoke(id: string): Promise<ApiToken> {
    return this.transact(async (scope) => {
      const token = await scope.em.findOne(ApiTokenSchema, { id });
      if (!token) throw notFound('ApiToken', id);
      token.revokedAt ??= scope.now;
      // Here at once, not only when the notice comes back through a shared bus (which may be away).
      const revokedAt = token.revokedAt;
      scope.afterCommit(() => this.markRevoked(id, revokedAt));
      scope.announce('auth.token-revoked', { tokenId: id, revokedAt: revokedAt.toISOString() });
      return token;
    });
  }

  list(args: PageArgs): Promise<Page<ApiToken>> {
    return pageNewestFirst(this.fork(), ApiTokenSchema, TOKEN_CURSOR, {}, args);
  }

  /** Whether any stored token exists (the first start creates one when none does). */
  async any(): Promise<boolean> {
    return (await this.fork().count(ApiTokenSchema, {})) > 0;
  }

  /**
   * The identity a presented secret stands for, or why none: unknown,
   * revoked (with when) or expired (with when). Looked up by the secret's
   * hash only, as before; telling the cases apart reveals nothing to whoever
   * lacks the secret, and only its own token's state to whoever holds it.
   */
  async authenticate(secret: string): Promise<TokenCheck> {
    const hash = sha256(secret);
    if (this.adminSecretHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminSecretHash)) {
      return { identity: { tokenId: null, tokenName: 'UET_ADMIN_TOKEN', scopes: ['admin'], expiresAt: null } };
    }
    if (!secret.startsWith(SECRET_PREFIX)) return UNKNOWN;
    const now = this.clock.now().getTime();
    const cached = this.known.get(hash);
    let identity = cached && cached.until > now ? cached.identity : null;
    if (!identity) {
      const token = await this.fork().findOne(ApiTokenSchema, { secretHash: hash });
      if (!token) return UNKNOWN;
      if (token.revokedAt) return { identity: null, refusal: { reason: 'TOKEN_REVOKED', at: token.revokedAt } };
      identity = { tokenId: token.id, tokenName: token.name, scopes: token.scopes, expiresAt: token.expiresAt ?? null };
      if (this.known.size >= KNOWN_CAPACITY) this.known.clear();
      this.known.set(hash, { identity, until: now + KNOWN_TTL_MS });
      this.lastUsedWritten.set(token.id, Math.max(this.lastUsedWritten.get(token.id) ?? 0, token.lastUsedAt?.getTime() ?? 0));
    }
    const refusal = this.refusalOf(identity);
    if (refusal) return { identity: null, refusal };
    this.touch(identity.tokenId!, now);
    return { identity };
  }

  /** Checked before every subscription event: revocation and expiry take effect at once. */
  isActive(identity: Identity): boolean {
    return this.refusalOf(identity) === null;
  }

  /** Why the identity's token no longer works (revoked, or expired), or null while it does. */
  refusalOf(identity: Identity): TokenRefusal | null {
    if (identity.tokenId === null) return null;
    if (this.revoked.has(identity.tokenId)) return { reason: 'TOKEN_REVOKED', at: this.revoked.get(identity.tokenId) ?? null };
    if (identity.expiresAt !== null && identity.expiresAt <= this.clock.now()) return { reason: 'TOKEN_EXPIRED', at: identity.expiresAt };
    return null;
  }

  private touch(tokenId: string, now: number): void {
    if (now - (this.lastUsedWritten.get(tokenId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWritten.set(tokenId, now);
    this.fork()
      .nativeUpdate(ApiTokenSchema, { id: tokenId }, { lastUsedAt: new Date(now) })
      .catch(this.onError);
  }
}

function parseScopes(raw: readonly string[]): Scope[] {
  if (!Array.isArray(raw) || raw.length === 0) throw badInput('scopes', `must name at least one of ${SCOPES.join(', ')}`);
  const unknown = raw.filter((s) => !SCOPES.includes(s as Scope));
  if (unknown.length > 0) throw badInput('scopes', `unknown scope ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
  return [...new Set(raw as Scope[])];
}

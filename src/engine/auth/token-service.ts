import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/knex';
import type { Clock } from '../core/clock.js';
import { badInput, notFound } from '../core/errors.js';
import type { EventBus } from '../core/event-bus.js';
import type { Page, PageArgs } from '../core/pagination.js';
import { pageNewestFirst } from '../db/newest-first.js';
import { optionalDate, requireText } from '../core/validate.js';
import type { Transact } from '../core/write-scope.js';
import { ApiTokenSchema, type ApiToken, type Scope } from '../db/entities.js';
import { SCOPES, type Identity } from './identity.js';

export const TOKEN_REVOKED_TOPIC = 'auth.token-revoked';
const SECRET_PREFIX = 'uet_';
/** lastUsedAt is written at most this often per token, off the request's path. */
const LAST_USED_RESOLUTION_MS = 60_000;
const TOKEN_CURSOR = 'ApiToken';
/** How long a looked-up token is trusted without asking the database again (other instances' revocations arrive by the bus). */
const KNOWN_TTL_MS = 30_000;
const KNOWN_CAPACITY = 10_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * API tokens: created with a random secret shown once, stored as a hash,
 * checked on every request and again before every subscription event.
 */
export class TokenService {
  private readonly adminSecretHash: Buffer | null;
  /** Revoked since start: checked without a query, so open streams stop at once. */
  private readonly revoked = new Set<string>();
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
    bus.subscribe<{ tokenId: string }>(TOKEN_REVOKED_TOPIC, ({ tokenId }) => this.revoked.add(tokenId));
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
    const rows = await this.fork().find(ApiTokenSchema, { revokedAt: { $gte: new Date(since.getTime() - 60_000) } }, { fields: ['id'] });
    for (const { id } of rows) {
      if (this.revoked.has(id)) continue;
      this.revoked.add(id);
      bus.publish(TOKEN_REVOKED_TOPIC, { tokenId: id });
    }
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
      scope.afterCommit(() => this.revoked.add(id));
      scope.announce(TOKEN_REVOKED_TOPIC, { tokenId: id });
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

  /** The identity a presented secret stands for, or null when it is unknown, revoked or expired. */
  async authenticate(secret: string): Promise<Identity | null> {
    const hash = sha256(secret);
    if (this.adminSecretHash && timingSafeEqual(Buffer.from(hash, 'hex'), this.adminSecretHash)) {
      return { tokenId: null, tokenName: 'UET_ADMIN_TOKEN', scopes: ['admin'], expiresAt: null };
    }
    if (!secret.startsWith(SECRET_PREFIX)) return null;
    const now = this.clock.now().getTime();
    const cached = this.known.get(hash);
    let identity = cached && cached.until > now ? cached.identity : null;
    if (!identity) {
      const token = await this.fork().findOne(ApiTokenSchema, { secretHash: hash });
      if (!token || token.revokedAt) return null;
      identity = { tokenId: token.id, tokenName: token.name, scopes: token.scopes, expiresAt: token.expiresAt ?? null };
      if (this.known.size >= KNOWN_CAPACITY) this.known.clear();
      this.known.set(hash, { identity, until: now + KNOWN_TTL_MS });
      this.lastUsedWritten.set(token.id, Math.max(this.lastUsedWritten.get(token.id) ?? 0, token.lastUsedAt?.getTime() ?? 0));
    }
    if (!this.isActive(identity)) return null;
    this.touch(identity.tokenId!, now);
    return identity;
  }

  /** Checked before every subscription event: revocation and expiry take effect at once. */
  isActive(identity: Identity): boolean {
    if (identity.tokenId === null) return true;
    if (this.revoked.has(identity.tokenId)) return false;
    return identity.expiresAt === null || identity.expiresAt > this.clock.now();
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

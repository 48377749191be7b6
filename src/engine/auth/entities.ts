import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type Scope = 'read' | 'operate' | 'worker' | 'admin';

export interface ApiToken {
  id: string;
  name: string;
  scopes: Scope[];
  /** SHA-256 of the secret, hex: the secret itself is never stored. */
  secretHash: string;
  createdAt: Date;
  lastUsedAt?: Date | null;
  expiresAt?: Date | null;
  revokedAt?: Date | null;
}

export const ApiTokenSchema = new EntitySchema<ApiToken>({
  name: 'ApiToken',
  tableName: 'api_token',
  properties: {
    id: ulid,
    name: { type: 'string', length: 200 },
    scopes: { type: 'json' },
    secretHash: { type: 'string', length: 64, unique: 'api_token_secret_hash_unique' },
    createdAt: { type: 'Date' },
    lastUsedAt: { type: 'Date', nullable: true },
    expiresAt: { type: 'Date', nullable: true },
    revokedAt: { type: 'Date', nullable: true },
  },
  // Each instance polls for the tokens revoked lately (TokenService.pollRevocations).
  indexes: [{ name: 'api_token_revoked_at_idx', properties: ['revokedAt'] }],
});

export const authEntities = [ApiTokenSchema];

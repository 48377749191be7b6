import type { Identity } from '../engine/auth/identity.js';
import type { AuthRefusal } from '../engine/auth/refusal.js';
import type { Engine } from '../engine/index.js';
import type { Loaders } from './loaders.js';

/** What every resolver receives. */
export interface GatewayContext {
  engine: Engine;
  loaders: Loaders;
  /** Null when the request carried no valid token. */
  identity: Identity | null;
  /** Why identity is null (the UNAUTHENTICATED message says it); null or absent when there is one. */
  authRefusal?: AuthRefusal | null;
}

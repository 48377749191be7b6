import { hasScope, readsFleet, type WorkerActor } from '../engine/auth/identity.js';
import type { GatewayContext } from '../schema/context.js';

/** Scope sets shared by root fields (a field lists any one of them: `$any` is the default). */
export const OPERATE = { operate: true } as const;
/**
 * Calls an operator and a worker token may both make: reports (steps,
 * patches, gate results, costs), which a worker token may make only
 * through a task one of its workers holds now (report-access.ts), and steering a worker,
 * which a worker token may do only for the workers it registered. Both pass
 * `workerActor(ctx, true)` to the engine, which checks.
 */
export const REPORT = { operate: true, worker: true } as const;
/** What a worker does for itself (register, heartbeat, claim, complete); only for workers its token registered. */
export const WORKER = { worker: true } as const;
export const ADMIN = { admin: true } as const;
/**
 * Reads a worker needs (the tools, its run's and its own worker's state
 * changes): a read token reads them all, a WORKER-only token only what its
 * own workers work on, which the engine checks (`readerActor`).
 */
export const WORKER_READ = { read: true, worker: true } as const;

/**
 * The caller as the engine's worker checks see it. `fleet`: the field lets
 * an operator act on any worker (and report on any run); admin always may.
 */
export function workerActor(ctx: GatewayContext, fleet: boolean): WorkerActor {
  const identity = ctx.identity!;
  return {
    tokenId: identity.tokenId,
    tokenName: identity.tokenName,
    anyWorker: hasScope(identity, 'admin') || (fleet && hasScope(identity, 'operate')),
  };
}

/** The caller as the engine's read checks see it: `anyWorker` when it reads the whole gateway (read or operate scope, admin). */
export function readerActor(ctx: GatewayContext): WorkerActor {
  const identity = ctx.identity!;
  return { tokenId: identity.tokenId, tokenName: identity.tokenName, anyWorker: readsFleet(identity) };
}

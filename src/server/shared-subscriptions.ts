import { getOperationAST, GraphQLError, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import WebSocket from 'ws';
import { readsFleet, type Identity } from '../engine/auth/identity.js';
import { fieldPolicy } from '../schema/field-policy.js';
import { closeForbidden } from './auth.js';

/**
 * Shared execution for identical graphql-ws subscriptions (issue 9, fan-out).
 *
 * Stock graphql-ws runs one source stream per subscriber and executes and
 * serializes every event once per subscriber: a thousand dashboards watching
 * the same stream cost a thousand executions of the same selection over the
 * same event. Here subscribers whose operation (query text, variables,
 * operation name) and authorization-relevant identity (scopes, and the token
 * name that FORBIDDEN messages quote) are identical share one source stream:
 * each event is executed once, its result serialized once, and that JSON is
 * spliced into each subscriber's own `next` message (its own id) and written
 * straight to its socket.
 *
 * Still per subscriber: the token check before every event (a revoked or
 * expired token closes that socket with 4403, as useSubscriptionTokenGuard
 * does for the others), `complete`, errors (graphql-ws sends them when the
 * subscriber's iterator throws), the per-connection operation cap (checked
 * before we are asked), and slow consumers: a socket with more than
 * SLOW_CONSUMER_BYTES unsent is ended with SLOW_CONSUMER (and closed with
 * 4008), like a stream that falls 10,000 notices behind, without holding
 * the others back.
 *
 * Only streams that are live-only are shared: a late joiner receives what the
 * stream emits from then on, which is all a live subscription promises (an
 * event being executed while it joins may reach it too: it committed while
 * the subscribe was in flight). A replay (`runEvents(after:)`) differs per
 * subscriber and is never shared.
 */

/** About 10,000 messages of a typical size unsent on one socket: its subscriber is too slow. */
export const SLOW_CONSUMER_BYTES = 2 * 1024 * 1024;

/**
 * The close code of a socket ended for SLOW_CONSUMER: 1008 (policy) in the
 * private range, since graphql-ws clients give up on 1008 but retry a 4xxx
 * of their own, and a slow consumer may reconnect and resume.
 */
export const WS_SLOW_CONSUMER = 4008;

/** Process-wide counts (tests and benchmarks read them). */
export const sharedSubscriptionStats = {
  /** Events executed for shared subscriptions: once per event per distinct operation, however many subscribe. */
  executions: 0,
  /** `next` messages written for them. */
  deliveries: 0,
  /** Open groups (one source stream each) and their subscribers. */
  groups: 0,
  subscribers: 0,
};

/** Who receives one shared subscription's events, and how. */
export interface SharedSubscriberInfo {
  key: string;
  socket: WebSocket;
  /** The graphql-ws operation id. */
  id: string;
  identity: Identity;
}

/**
 * The sharing key of a subscription, or null when it must run on its own:
 * not a single root field that declares `liveOnly` (field-policy.ts), a
 * replay (`after` given), or a token that reads only what its own workers
 * work on (a WORKER-only token: whether it may watch is checked against its
 * own token as the stream starts, which a group's identity leaves out).
 */
export function shareKey(
  schema: GraphQLSchema,
  document: DocumentNode,
  query: string,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  identity: Identity,
): string | null {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'subscription' || !readsFleet(identity)) return null;
  const [root, ...more] = operation.selectionSet.selections;
  if (!root || more.length > 0 || root.kind !== Kind.FIELD || !fieldPolicy(schema, 'subscription', root.name.value).liveOnly) return null;
  const after = root.arguments?.find((arg) => arg.name.value === 'after')?.value;
  if (after && after.kind !== Kind.NULL) {
    if (after.kind !== Kind.VARIABLE) return null;
    const name = after.name.value;
    if (variables?.[name] != null) return null;
    // Not given: its default, if it has one, would be the cursor.
    const definition = operation.variableDefinitions?.find((v) => v.variable.name.value === name);
    if (variables?.[name] === undefined && definition?.defaultValue && definition.defaultValue.kind !== Kind.NULL) return null;
  }
  return JSON.stringify([[...identity.scopes].sort(), identity.tokenName, operationName ?? null, variables ?? null, query]);
}

/** The `next` payload graphql-ws would send for a result, as JSON. */
function serializeResult(result: ExecutionResult): string {
  const { errors, ...rest } = result;
  return JSON.stringify(errors ? { ...rest, errors: errors.map((error) => error.toJSON()) } : rest);
}

const DONE: IteratorResult<never> = { value: undefined, done: true };

/**
 * One subscriber of a group, as graphql-ws sees it: an iterator that yields
 * nothing (its events are written to the socket directly) and ends when the
 * group's stream ends, throws its error, or the subscriber is dropped.
 */
class SharedSubscriber implements AsyncIterableIterator<never> {
  private readonly prefix: string;
  /** graphql-ws has started iterating: until then events wait here, as they would in a source stream. */
  private adopted = false;
  private waiting: string[] = [];
  private ended = false;
  private failure: unknown = null;
  private wake: { resolve: (r: IteratorResult<never>) => void; reject: (e: unknown) => void } | null = null;

  constructor(
    private readonly info: SharedSubscriberInfo,
    private readonly group: Group,
    private readonly isActive: (identity: Identity) => boolean,
  ) {
    this.prefix = `{"id":${JSON.stringify(info.id)},"type":"next","payload":`;
  }

  deliver(json: string): void {
    if (this.ended) return;
    if (this.adopted) void this.send(json);
    else if (this.waiting.push(json) > 10_000) this.finish(slowConsumer());
  }

  /** Writes one event to the socket; false when a check ended the subscriber instead. */
  private send(json: string): boolean {
    const socket = this.info.socket;
    if (!this.isActive(this.info.identity)) {
      closeForbidden(socket);
      this.finish(null);
      return false;
    }
    // Closing: its close handler returns every iterator of the socket.
    if (socket.readyState !== WebSocket.OPEN) return true;
    if (socket.bufferedAmount > SLOW_CONSUMER_BYTES) {
      // Ending the subscription alone left a client that stopped reading
      // connected, its 2+ MiB held (and the error queued behind them) until
      // the keep-alive noticed, or forever without one: close the socket too
      // (ws destroys it if the close handshake has not ended in 30 s).
      socket.close(WS_SLOW_CONSUMER, 'SLOW_CONSUMER');
      this.finish(slowConsumer());
      return false;
    }
    socket.send(this.prefix + json + '}');
    sharedSubscriptionStats.deliveries += 1;
    return true;
  }

  /**
   * The group's stream ended (error null) or failed, or this subscriber was
   * dropped. Events still waiting for graphql-ws to start iterating go out
   * first, as a source stream would yield them before its end.
   */
  finish(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.group.leave(this);
    const wake = this.wake;
    this.wake = null;
    if (wake) this.settle(wake);
  }

  private settle(wake: NonNullable<SharedSubscriber['wake']>): void {
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      wake.reject(failure);
    } else wake.resolve(DONE);
  }

  next(): Promise<IteratorResult<never>> {
    if (!this.adopted) {
      this.adopted = true;
      const waiting = this.waiting;
      this.waiting = [];
      // Sent even if the stream has ended meanwhile; a failed token or slow-consumer check stops the rest.
      for (const json of waiting) if (!this.send(json)) break;
    }
    return new Promise((resolve, reject) => {
      if (this.ended) this.settle({ resolve, reject });
      else this.wake = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<never>> {
    this.waiting = [];
    this.finish(null);
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<never>> {
    this.waiting = [];
    this.finish(null);
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

function slowConsumer(): GraphQLError {
  return new GraphQLError('subscriber fell too far behind', {
    extensions: { code: 'SLOW_CONSUMER', maxBufferedBytes: SLOW_CONSUMER_BYTES },
  });
}

type Start = () => Promise<AsyncIterable<ExecutionResult> | ExecutionResult> | AsyncIterable<ExecutionResult> | ExecutionResult;

/** The subscribers of one distinct operation and the one source stream they share. */
class Group {
  readonly members = new Set<SharedSubscriber>();
  private source: AsyncIterator<ExecutionResult> | null = null;
  private closed = false;
  /** Resolves to null once the stream is live, or to the result that refused it at its start. */
  readonly started: Promise<ExecutionResult | null>;

  constructor(
    private readonly registry: SharedSubscriptions,
    readonly key: string,
    start: Start,
  ) {
    sharedSubscriptionStats.groups += 1;
    this.started = Promise.resolve()
      .then(start)
      .then(
        (result) => {
          if (!isAsyncIterable(result)) {
            this.close();
            return result;
          }
          this.source = result[Symbol.asyncIterator]();
          if (this.closed) void this.source.return?.();
          else void this.pump(this.source);
          return null;
        },
        (error: unknown) => {
          this.close();
          throw error;
        },
      );
  }

  join(member: SharedSubscriber): void {
    this.members.add(member);
    sharedSubscriptionStats.subscribers += 1;
  }

  leave(member: SharedSubscriber): void {
    if (!this.members.delete(member)) return;
    sharedSubscriptionStats.subscribers -= 1;
    if (this.members.size === 0 && !this.closed) {
      this.close();
      void this.source?.return?.();
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    sharedSubscriptionStats.groups -= 1;
    this.registry.forget(this);
  }

  private async pump(source: AsyncIterator<ExecutionResult>): Promise<void> {
    let failure: unknown = null;
    try {
      for (;;) {
        const item = await source.next();
        if (item.done) break;
        sharedSubscriptionStats.executions += 1;
        const json = serializeResult(item.value);
        for (const member of this.members) member.deliver(json);
      }
    } catch (error) {
      failure = error;
    }
    this.close();
    for (const member of [...this.members]) member.finish(failure);
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof Object(value)[Symbol.asyncIterator] === 'function';
}

/** The open groups of one server, by sharing key. */
export class SharedSubscriptions {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly isActive: (identity: Identity) => boolean) {}

  /**
   * Joins the subscriber to the group of its key, starting the group's stream
   * with `start` when there is none. Resolves to its iterator for graphql-ws,
   * or to the result that refused the operation at its start.
   */
  async subscribe(info: SharedSubscriberInfo, start: Start): Promise<AsyncIterableIterator<never> | ExecutionResult> {
    let group = this.groups.get(info.key);
    if (!group || group.isClosed) {
      group = new Group(this, info.key, start);
      this.groups.set(info.key, group);
    }
    const member = new SharedSubscriber(info, group, this.isActive);
    // At once, so that it gets every event the group emits from now on.
    group.join(member);
    try {
      const refused = await group.started;
      if (refused) {
        member.finish(null);
        return refused;
      }
    } catch (error) {
      member.finish(null);
      throw error;
    }
    return member;
  }

  forget(group: Group): void {
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
  }
}

/**
 * The execution arguments a group runs with: the first subscriber's, with an
 * identity reduced to what the key holds (scopes and token name). Its token
 * id and expiry are left out so that the token guard never ends the shared
 * stream for one subscriber's token: each subscriber's own token is checked
 * before each of its deliveries instead.
 */
export function groupArgs(args: ExecutionArgs, identity: Identity): ExecutionArgs {
  const shared: Identity = { tokenId: null, tokenName: identity.tokenName, scopes: identity.scopes, expiresAt: null };
  return { ...args, contextValue: { ...(args.contextValue as object), identity: shared, onTokenInactive: undefined } };
}

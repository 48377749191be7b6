import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import { createEventBus, type BusConnection, type EventBus, type TopicEventTarget } from './event-bus.js';

export interface RedisBusOptions {
  url: string;
  /** Prefix of every channel, so that several gateways (or test runs) can share one Redis (UET_REDIS_PREFIX). */
  prefix: string;
  /** Failures nobody awaits: a lost publish, a listener that threw. */
  onError: (error: unknown) => void;
}

export interface RedisBus {
  bus: EventBus;
  /** A connection for plain commands (the rate-limit store): no offline queue, 1 s timeout. */
  commands: Redis;
  /** Resolves true once subscribed, or false after `timeoutMs` (the bus then connects in the background). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The event bus over Redis pub/sub (@graphql-yoga/redis-event-target), so
 * a mutation on one instance wakes subscribers on every instance. Notices
 * only wake readers; the database stays the source of truth.
 *
 * Connections: the subscriber waits out an outage (ioredis reconnects and
 * subscribes again); the publisher fails fast instead of queueing, so a
 * write never waits for Redis: its notice is lost and logged, and readers
 * catch up from the database once the bus is back (onConnectionChange). A
 * third connection serves the rate-limit store.
 */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  const subscriber = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: false, connectionName: 'uet-bus-sub' });
  // No offline queue: while Redis is away a publish fails at once instead of piling up. No command
  // timeout either: once written to the socket a notice is on its way, however late the reply.
  const publisher = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'uet-bus-pub' });
  // Rate limits wait for no slow Redis: after 1 s the store counts in memory (redis-rate-limit-store.ts).
  const commands = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    connectionName: 'uet-commands',
  });
  // ioredis reports every failed reconnect attempt as an 'error' event; an unheard one would kill the process.
  let lastError = '';
  const noteError = (error: Error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    options.onError(error);
  };
  for (const client of [subscriber, publisher, commands]) client.on('error', noteError);

  const connection = subscriberConnection(subscriber, () => (lastError = ''));
  // redis-event-target does not await publish: catch its failures here (a rejection nobody handles).
  const publishing = {
    publish: (channel: string, message: string) =>
      publisher.publish(channel, message).catch((error: unknown) => {
        options.onError(new Error(`event bus: a notice on ${channel} was not published (${String(error)})`));
        return 0;
      }),
  } as unknown as Redis;
  const target = prefixed(createRedisEventTarget({ publishClient: publishing, subscribeClient: subscriber }), options.prefix);
  return {
    bus: createEventBus(target, options.onError, connection),
    commands,
    ready(timeoutMs) {
      if (connection.connected()) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          stop();
          resolve(false);
        }, timeoutMs);
        const stop = connection.onChange((connected) => {
          if (!connected) return;
          clearTimeout(timer);
          stop();
          resolve(true);
        });
      });
    },
    async close() {
      const clients = [subscriber, publisher, commands];
      await Promise.allSettled(clients.map((client) => client.quit()));
      for (const client of clients) client.disconnect();
    },
  };
}

/** The subscriber's link: lost on 'close', back on 'ready' (after ioredis has subscribed again). */
function subscriberConnection(subscriber: Redis, onReady: () => void): BusConnection {
  const listeners = new Set<(connected: boolean) => void>();
  let connected = false;
  const set = (value: boolean) => {
    if (connected === value) return;
    connected = value;
    for (const listener of listeners) listener(value);
  };
  subscriber.on('ready', () => {
    onReady();
    set(true);
  });
  subscriber.on('close', () => set(false));
  return {
    connected: () => connected,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Topics under a prefix on the wire, plain names to the engine. */
function prefixed(target: TopicEventTarget, prefix: string): TopicEventTarget {
  return {
    addEventListener: (type, listener) => target.addEventListener(prefix + type, listener),
    removeEventListener: (type, listener) => target.removeEventListener(prefix + type, listener),
    dispatchEvent: (event) => target.dispatchEvent(new CustomEvent(prefix + event.type, { detail: (event as CustomEvent).detail })),
  };
}

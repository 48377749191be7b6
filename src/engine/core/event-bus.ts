import { setMaxListeners } from 'node:events';

/**
 * Each topic's payload, declared once. Core knows no topic: the module that
 * announces one adds it next to its notice type, by declaration merging
 * (`declare module '../core/event-bus.js' { interface Topics { 'run.state': RunStateNotice } }`),
 * so publish and subscribe are checked without core importing the modules.
 * The model is graphql-yoga's `createPubSub<TopicMap>`.
 */
export interface Topics {}

export type Topic = keyof Topics;

/**
 * The engine's publish/subscribe seam. Messages are small JSON objects that
 * wake readers up; the database stays the source of truth. Backed by any
 * EventTarget: the in-process one by default, a Redis-backed one
 * (@graphql-yoga/redis-event-target) when several instances share a database.
 */
export interface EventBus {
  publish<K extends Topic>(topic: K, message: Topics[K]): void;
  subscribe<K extends Topic>(topic: K, listener: (message: Topics[K]) => void): () => void;
  /** Listeners subscribed now (a soak watches that it does not grow). */
  listeners(): number;
  /** False while a shared bus (Redis) is unreachable: notices published elsewhere are not arriving. */
  connected(): boolean;
  /** Calls `listener` when the connection is lost (false) and when it is back (true). */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

/** Where a shared bus reports its connection; the in-process bus is always connected. */
export interface BusConnection {
  connected(): boolean;
  onChange(listener: (connected: boolean) => void): () => void;
}

const alwaysConnected: BusConnection = { connected: () => true, onChange: () => () => {} };

export interface TopicEventTarget {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

/** An in-process target; every open subscription adds a listener, so no cap. */
function localTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

export function createEventBus(
  target: TopicEventTarget = localTarget(),
  onListenerError: (error: unknown) => void = (error) => console.error('event bus listener failed', error),
  connection: BusConnection = alwaysConnected,
): EventBus {
  let listeners = 0;
  return {
    listeners: () => listeners,
    connected: () => connection.connected(),
    onConnectionChange: (listener) => connection.onChange(listener),
    publish(topic, message) {
      target.dispatchEvent(new CustomEvent(topic, { detail: message }));
    },
    subscribe(topic, listener) {
      // Node rethrows a listener's exception as an uncaught one: contain it here.
      const handler = (event: Event) => {
        try {
          listener((event as CustomEvent).detail);
        } catch (error) {
          onListenerError(error);
        }
      };
      target.addEventListener(topic, handler);
      listeners += 1;
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        listeners -= 1;
        target.removeEventListener(topic, handler);
      };
    },
  };
}

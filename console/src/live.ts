import { useEffect, useRef } from 'preact/hooks';
import type { AnyVariables, TypedDocumentNode } from '@urql/core';
import { useClient } from '@urql/preact';
import { useApi } from './session/session';

/** How long a burst of events may gather before the one re-read it causes. */
const GATHER_MS = 150;

/**
 * Calls `refresh` after events of these subscriptions, at most once per GATHER_MS (so a burst costs one query and a
 * steady stream still refreshes), and after the socket reconnects (events may have been missed meanwhile). No polling.
 * `subscriptions` is a module constant: a new array would open the subscriptions again.
 */
export function useRefreshOn(subscriptions: readonly TypedDocumentNode<unknown, Record<string, never>>[], refresh: () => void): void {
  const client = useClient();
  const { socket } = useApi();
  const latest = useRef(refresh);
  latest.current = refresh;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        latest.current();
      }, GATHER_MS);
    };
    const streams = subscriptions.map((query) => client.subscription(query, {}).subscribe(schedule));
    const offReconnect = socket.on('connected', (_socket, _payload, wasRetry) => wasRetry && schedule());
    return () => {
      clearTimeout(timer);
      offReconnect();
      for (const stream of streams) stream.unsubscribe();
    };
  }, [client, socket, subscriptions]);
}

/**
 * Calls `onEvent` with each event of one subscription, opened again when `variables` change (compared by value), and
 * `onReconnect` after the socket reconnects, for a panel that applies events itself rather than re-reading on each.
 */
export function useEvents<Data, Variables extends AnyVariables>(query: TypedDocumentNode<Data, Variables>, variables: Variables, onEvent: (data: Data) => void, onReconnect: () => void): void {
  const client = useClient();
  const { socket } = useApi();
  const latest = useRef({ onEvent, onReconnect, variables });
  latest.current = { onEvent, onReconnect, variables };
  const key = JSON.stringify(variables);
  useEffect(() => {
    const stream = client.subscription(query, latest.current.variables).subscribe((result) => result.data && latest.current.onEvent(result.data));
    const offReconnect = socket.on('connected', (_socket, _payload, wasRetry) => wasRetry && latest.current.onReconnect());
    return () => {
      offReconnect();
      stream.unsubscribe();
    };
  }, [client, socket, query, key]);
}

import { useEffect, useRef } from 'preact/hooks';
import { stringifyDocument, type AnyVariables, type TypedDocumentNode } from '@urql/core';
import { useClient } from '@urql/preact';
import { useApi } from './session/session';

/** How long a burst of events may gather before the one re-read it causes. */
const GATHER_MS = 150;

/**
 * Calls `refresh` after events of these subscriptions, at most once per GATHER_MS (so a burst costs one query and a
 * steady stream still refreshes), and after the socket reconnects (events may have been missed meanwhile). No polling.
 * `subscriptions` is a module constant: a new array would open the subscriptions again; they are opened again when
 * `variables` change (compared by value).
 */
export function useRefreshOn<Variables extends AnyVariables = Record<string, never>>(
  subscriptions: readonly TypedDocumentNode<unknown, Variables>[],
  refresh: () => void,
  variables: Variables = {} as Variables,
): void {
  const client = useClient();
  const { socket } = useApi();
  const latest = useRef({ refresh, variables });
  latest.current = { refresh, variables };
  const key = JSON.stringify(variables);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        latest.current.refresh();
      }, GATHER_MS);
    };
    const streams = subscriptions.map((query) => client.subscription(query, latest.current.variables).subscribe(schedule));
    const offReconnect = socket.on('connected', (_socket, _payload, wasRetry) => wasRetry && schedule());
    return () => {
      clearTimeout(timer);
      offReconnect();
      for (const stream of streams) stream.unsubscribe();
    };
  }, [client, socket, subscriptions, key]);
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

/**
 * Follows a subscription that replays what follows its `after` cursor (an opaque string or a byte offset), from `from`
 * (undefined: not known yet, so not opened; a new value opens it again from there), calling `onEvent` with each event
 * in order, `onError` with a refusal and `onComplete` when the server ends the stream. graphql-ws resubscribes after a
 * reconnect by sending the same payload again; its `variables` are read when sent, so that resubscription asks for
 * what follows the last event delivered: every event exactly once, in order, across reconnects.
 */
export function useResumingEvents<Data, Variables extends { after?: Cursor | null }, Cursor extends string | number = string>(
  query: TypedDocumentNode<Data, Variables>,
  variables: Omit<Variables, 'after'>,
  from: Cursor | null | undefined,
  cursorOf: (data: Data) => Cursor,
  onEvent: (data: Data) => void,
  onError: (message: string) => void,
  onComplete?: () => void,
): void {
  const { socket } = useApi();
  const latest = useRef({ variables, cursorOf, onEvent, onError, onComplete });
  latest.current = { variables, cursorOf, onEvent, onError, onComplete };
  const key = JSON.stringify(variables);
  useEffect(() => {
    if (from === undefined) return;
    const fixed = latest.current.variables;
    let after: Cursor | null = from;
    const payload = {
      query: stringifyDocument(query),
      get variables() {
        return { ...fixed, after };
      },
    };
    // graphql-ws also calls `complete` after an unsubscribe: only the server's end of the stream is reported.
    let left = false;
    const unsubscribe = socket.subscribe<Data>(payload, {
      next: (result) => {
        if (result.data) {
          after = latest.current.cursorOf(result.data);
          latest.current.onEvent(result.data);
        }
        if (result.errors?.length) latest.current.onError(result.errors.map((error) => error.message).join('; '));
      },
      error: (error) => latest.current.onError(Array.isArray(error) ? error.map((e: Error) => e.message).join('; ') : error instanceof Error ? error.message : 'the event stream closed'),
      complete: () => left || latest.current.onComplete?.(),
    });
    return () => {
      left = true;
      unsubscribe();
    };
  }, [socket, query, key, from]);
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** Carries a request id through everything one HTTP request or WebSocket operation does, for the logs. */
const storage = new AsyncLocalStorage<{ requestId: string }>();

export function withRequestId<T>(run: () => T): T {
  return storage.run({ requestId: randomUUID() }, run);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

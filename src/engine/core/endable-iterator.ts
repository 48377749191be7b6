/**
 * `events` with `end` called before return() or throw() reach it. An async
 * generator waiting for its next item would only see return() once that item
 * came; `end` (which wakes it as ended) makes it stop at once.
 */
export function endable<T>(events: AsyncGenerator<T>, end: () => void): AsyncIterableIterator<T> {
  return {
    next: () => events.next(),
    return: (value?: unknown) => {
      end();
      return events.return(value as undefined);
    },
    throw: (error?: unknown) => {
      end();
      return events.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

import type { Plugin } from 'graphql-yoga';

/**
 * A subscription asked for over plain HTTP with an Accept header that takes
 * no stream (application/json, application/graphql-response+json) is answered
 * 406 by Yoga, after it has started the subscription: its source stream and
 * its event bus listener stayed open for good, one more per such request.
 * With no result processor chosen, the stream is closed here.
 */
export function useCloseUnsentStreams(): Plugin {
  return {
    onResultProcess({ result, resultProcessor }) {
      if (resultProcessor || result === null || typeof result !== 'object' || !(Symbol.asyncIterator in result)) return;
      const stream = result as AsyncGenerator<unknown>;
      void stream.return?.(undefined)?.catch(() => {});
    },
  };
}

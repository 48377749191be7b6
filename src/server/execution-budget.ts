import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';
import { isMetered, meterAnswer, ResponseMeter, SHORT_VALUE_BYTES } from '../schema/response-meter.js';
import { answerShape } from './cost.js';

export const TIMEOUT_CODE = 'EXECUTION_TIMEOUT';
export const TOO_LARGE_CODE = 'RESPONSE_TOO_LARGE';

type Budget = Pick<Limits, 'executionTimeoutMs' | 'maxResponseBytes' | 'maxEventBytes'>;

/** At most this many bytes around each value the meter does not count: its key's quotes and colon, a comma, an object's braces. */
const VALUE_FRAME_BYTES = 8;
/** At most this many bytes around the data: {"data":...}. */
const ENVELOPE_BYTES = 16;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof Object(value)[Symbol.asyncIterator] === 'function';
}

function tooLargeError(what: string, bytes: number, max: number, env: string, atLeast: boolean): GraphQLError {
  return new GraphQLError(`${what} is ${atLeast ? 'at least ' : ''}${bytes} bytes, over the limit of ${max} (${env}): select fewer fields or ask for smaller pages`, {
    extensions: { code: TOO_LARGE_CODE, bytes, maxBytes: max, env },
  });
}

/**
 * Whether the answer is proven to fit in `max` bytes without serializing
 * it: the meter counted its text and JSON values, and every other value
 * (at most the operation's cost of them, each short, under a key no longer
 * than the longest in the document) fits in the rest. Errors and
 * extensions are not counted: an answer with them is not proven.
 */
function provenToFit(result: ExecutionResult, meter: ResponseMeter, contextValue: object, max: number): boolean {
  if (result.errors?.length || result.extensions || meter.longerThanCounted) return false;
  const shape = answerShape(contextValue);
  if (!shape) return false;
  return meter.most + shape.values * (shape.longestKey + VALUE_FRAME_BYTES + SHORT_VALUE_BYTES) + ENVELOPE_BYTES <= max;
}

/** The result in its place when it is more than `max` bytes (0: no cap): serialized only when the meter cannot prove it fits. */
function tooLarge(result: ExecutionResult, max: number, meter: ResponseMeter | null, contextValue: object, env: string, what: string): ExecutionResult | null {
  if (max === 0) return null;
  if (meter && provenToFit(result, meter, contextValue, max)) return null;
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes <= max) return null;
  return { errors: [tooLargeError(what, bytes, max, env, false)] };
}

function timeoutError(timeoutMs: number): GraphQLError {
  return new GraphQLError(`Operation ran longer than ${timeoutMs} ms (UET_EXECUTION_TIMEOUT_MS) and was stopped: ask for less`, {
    extensions: { code: TIMEOUT_CODE, timeoutMs, env: 'UET_EXECUTION_TIMEOUT_MS' },
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * The executor's stop signal for one operation: what the executor uses of an
 * AbortSignal (aborted, reason, throwIfAborted, the abort event). Node's own
 * AbortSignal costs about 5 µs to create and more to collect (25 times an
 * EventTarget), once per query; the executor asks nothing else of it.
 */
class OperationStop extends EventTarget {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((event: Event) => void) | null = null;

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const event = new Event('abort');
    this.onabort?.(event);
    this.dispatchEvent(event);
  }
}

/**
 * Each query's execution budget: a time limit and a cap on the size of its
 * response. Past either, the executor starts no further field (it asks its
 * signal before each one) and the client gets EXECUTION_TIMEOUT or
 * RESPONSE_TOO_LARGE, without data. The size is metered while the answer
 * is produced (response-meter.ts), and the finished answer serialized only
 * when the meter cannot prove it fits. Each subscription event has its own
 * cap (that event becomes RESPONSE_TOO_LARGE; the stream goes on). A
 * subscription's stream has no time limit: each of its events is bounded
 * by the cost analysis and the event cap.
 *
 * The signal is aborted by a timer, never from inside a resolver: the
 * executor leaves the rejected completions of a list's earlier items
 * unhandled when an item after them throws synchronously; a timer fires
 * only between macrotasks, so it never lands inside a list.
 */
export function useExecutionBudget({ executionTimeoutMs, maxResponseBytes, maxEventBytes }: Budget): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      // A mutation runs to its end and answers in full: stopped or refused half-way, its answer would hide which of its fields committed.
      if (getOperationAST(args.document, args.operationName)?.operation === 'mutation') return;
      const contextValue = args.contextValue as object;
      const stop = new OperationStop();
      let tooLargeTimer: NodeJS.Immediate | undefined;
      const meter =
        maxResponseBytes > 0 && isMetered(args.schema)
          ? new ResponseMeter(maxResponseBytes, (bytes) => {
              const error = tooLargeError('The response', bytes, maxResponseBytes, 'UET_MAX_RESPONSE_BYTES', true);
              tooLargeTimer = setImmediate(() => stop.abort(error));
            })
          : null;
      if (meter) meterAnswer(contextValue, meter);
      if (executionTimeoutMs > 0 || meter) {
        // Not async: an answer the executor has at once (no resolver waited) goes on without waiting a turn.
        setExecuteFn((executeArgs: ExecutionArgs & { signal?: AbortSignal }) => {
          const deadline = executionTimeoutMs > 0 ? setTimeout(() => stop.abort(timeoutError(executionTimeoutMs)), executionTimeoutMs) : undefined;
          const given = executeArgs.signal;
          if (given?.aborted) stop.abort(given.reason);
          else given?.addEventListener('abort', () => stop.abort(given.reason), { once: true });
          const done = () => {
            clearTimeout(deadline);
            clearImmediate(tooLargeTimer);
          };
          let result: ReturnType<typeof executeFn>;
          try {
            result = executeFn({ ...executeArgs, signal: stop } as ExecutionArgs);
          } catch (error) {
            done();
            return Promise.reject(error);
          }
          if (!isPromiseLike(result)) {
            done();
            return result;
          }
          return Promise.resolve(result).finally(done);
        });
      }
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          // Passed the cap before the signal stopped the executor (the rest ran without waiting): the same answer.
          if (meter && meter.bytes > maxResponseBytes) {
            setResult({ errors: [tooLargeError('The response', meter.bytes, maxResponseBytes, 'UET_MAX_RESPONSE_BYTES', true)] });
            return;
          }
          const refused = tooLarge(result, maxResponseBytes, meter, contextValue, 'UET_MAX_RESPONSE_BYTES', 'The response');
          if (refused) setResult(refused);
        },
      };
    },
    onSubscribe({ args }) {
      const contextValue = args.contextValue as object;
      // Counts only (never stops: that would end the stream); the events of one subscription execute one after another.
      const meter = maxEventBytes > 0 && isMetered(args.schema) ? new ResponseMeter(Infinity) : null;
      if (meter) meterAnswer(contextValue, meter);
      return {
        onSubscribeResult() {
          return {
            onNext({ result, setResult }) {
              const refused = tooLarge(result, maxEventBytes, meter, contextValue, 'UET_MAX_EVENT_BYTES', 'A subscription event');
              meter?.reset();
              if (refused) setResult(refused);
            },
          };
        },
      };
    },
  };
}

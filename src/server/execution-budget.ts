import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.js';

export const TIMEOUT_CODE = 'EXECUTION_TIMEOUT';
export const TOO_LARGE_CODE = 'RESPONSE_TOO_LARGE';

type Budget = Pick<Limits, 'executionTimeoutMs' | 'maxResponseBytes' | 'maxEventBytes'>;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof Object(value)[Symbol.asyncIterator] === 'function';
}

/** The result in its place when it serializes to more than `max` bytes (0: no cap). */
function tooLarge(result: ExecutionResult, max: number, env: string, what: string): ExecutionResult | null {
  if (max === 0) return null;
  const bytes = Buffer.byteLength(JSON.stringify(result));
  if (bytes <= max) return null;
  return {
    errors: [
      new GraphQLError(`${what} is ${bytes} bytes, over the limit of ${max} (${env}): select fewer fields or ask for smaller pages`, {
        extensions: { code: TOO_LARGE_CODE, bytes, maxBytes: max, env },
      }),
    ],
  };
}

function timeoutError(timeoutMs: number): GraphQLError {
  return new GraphQLError(`Operation ran longer than ${timeoutMs} ms (UET_EXECUTION_TIMEOUT_MS) and was stopped: ask for less`, {
    extensions: { code: TIMEOUT_CODE, timeoutMs, env: 'UET_EXECUTION_TIMEOUT_MS' },
  });
}

/**
 * A signal that aborts `timeoutMs` from now (or with `given`). The executor
 * asks its signal before each field it starts, and stops there.
 *
 * A timer, not a look at the clock in throwIfAborted: the executor leaves
 * the rejected completions of a list's earlier items unhandled when an item
 * after them throws synchronously; a timer fires only between macrotasks,
 * so it never lands inside a list.
 */
function deadlineSignal(timeoutMs: number, given: AbortSignal | undefined): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(timeoutError(timeoutMs)), timeoutMs);
  const signal = given ? AbortSignal.any([given, controller.signal]) : controller.signal;
  return { signal, clear: () => clearTimeout(timer) };
}

/**
 * Each query's execution budget: a time limit (past it, the executor starts
 * no further field and the client gets EXECUTION_TIMEOUT), a cap on the
 * size of its response (RESPONSE_TOO_LARGE instead of the data), and a
 * cap on each subscription event (that event becomes RESPONSE_TOO_LARGE;
 * the stream goes on). A subscription's stream has no time limit: each of
 * its events is bounded by the cost analysis and the event cap.
 */
export function useExecutionBudget({ executionTimeoutMs, maxResponseBytes, maxEventBytes }: Budget): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      // A mutation runs to its end and answers in full: stopped or refused half-way, its answer would hide which of its fields committed.
      if (getOperationAST(args.document, args.operationName)?.operation === 'mutation') return;
      if (executionTimeoutMs > 0) {
        setExecuteFn(async (executeArgs: ExecutionArgs & { signal?: AbortSignal }) => {
          const deadline = deadlineSignal(executionTimeoutMs, executeArgs.signal);
          try {
            return await executeFn({ ...executeArgs, signal: deadline.signal } as ExecutionArgs);
          } finally {
            deadline.clear();
          }
        });
      }
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const refused = tooLarge(result, maxResponseBytes, 'UET_MAX_RESPONSE_BYTES', 'The response');
          if (refused) setResult(refused);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult() {
          return {
            onNext({ result, setResult }) {
              const refused = tooLarge(result, maxEventBytes, 'UET_MAX_EVENT_BYTES', 'A subscription event');
              if (refused) setResult(refused);
            },
          };
        },
      };
    },
  };
}

import { pino } from 'pino';
import type { LogLevel } from './config.js';
import { currentRequestId } from './request-context.js';

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;

/** `json`: one JSON object a line, for log collectors. `pretty`: one readable line per entry, for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Never written, wherever they appear in a log line's fields. */
const REDACT = ['authorization', '*.authorization', 'token', '*.token', 'secret', '*.secret', 'connectionParams', '*.connectionParams', 'headers', '*.headers'];

/**
 * Log lines on stderr (pino): every line carries the request id of the
 * HTTP request or WebSocket operation it belongs to, and fields that could
 * hold a secret are redacted. JSON by default; `pretty` reformats the same
 * (already redacted) entries for a person.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line), format: LogFormat = 'json'): Logger {
  const log = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'message',
      redact: { paths: REDACT, censor: '[redacted]' },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId ? { requestId } : {};
      },
      serializers: { error: pino.stdSerializers.err },
    },
    { write: format === 'pretty' ? (line: string) => write(prettyLogLine(line)) : write },
  );
  const at =
    (level: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      log[level](fields, message);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * One JSON log line as a person reads it: `12:00:01 WARN  reaper acted crashedWorkers=2`,
 * with an error's stack indented below.
 */
export function prettyLogLine(jsonLine: string): string {
  const { time, level, message, error, ...fields } = JSON.parse(jsonLine) as Record<string, unknown>;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const rest = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' && /^\S+$/.test(value) ? value : JSON.stringify(value)}`);
  const failure = error as { message?: string; stack?: string } | undefined;
  if (failure && !failure.stack) rest.push(`error=${JSON.stringify(failure.message ?? failure)}`);
  const stack = failure?.stack ? `\n${failure.stack.replace(/^/gm, '    ')}` : '';
  return `${[clock, String(level).toUpperCase().padEnd(5), message, ...rest].join(' ')}${stack}\n`;
}

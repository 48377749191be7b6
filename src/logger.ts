import { pino } from 'pino';
import type { LogLevel } from './config.js';
import { currentRequestId } from './request-context.js';

export type Logger = Record<LogLevel, (message: string, fields?: Record<string, unknown>) => void>;

/** Never written, wherever they appear in a log line's fields. */
const REDACT = ['authorization', '*.authorization', 'token', '*.token', 'secret', '*.secret', 'connectionParams', '*.connectionParams', 'headers', '*.headers'];

/**
 * JSON lines on stderr (pino): every line carries the request id of the
 * HTTP request or WebSocket operation it belongs to, and fields that could
 * hold a secret are redacted.
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
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
    { write },
  );
  const at =
    (level: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      log[level](fields, message);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

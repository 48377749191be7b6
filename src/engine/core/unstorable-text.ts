import { DomainError } from '../core/errors.js';

/**
 * PostgreSQL stores no NUL character (U+0000) in text or jsonb, which
 * SQLite does (nul-safe-sql.ts). Such a value fails in the driver as one of
 * these; it is the client's input, so it is refused as BAD_USER_INPUT (the
 * transaction rolls back: nothing is written).
 */
export function isUnstorableText(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = (cause as Error & { cause?: unknown }).cause) {
    const { code, message } = cause as Error & { code?: unknown };
    // 22P05: "unsupported Unicode escape sequence" (jsonb); 22021: invalid byte 0x00 in text;
    // 08P01 "invalid message format": a NUL inside the statement the ORM sent.
    if (code === '22P05' || code === '22021' || (code === '08P01' && /invalid message format/.test(message))) return true;
  }
  return false;
}

export const unstorableText = () => new DomainError('BAD_USER_INPUT', 'text containing the NUL character (U+0000) cannot be stored on this database (PostgreSQL); nothing was written');

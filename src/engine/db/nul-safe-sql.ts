import { SqlitePlatform } from '@mikro-orm/sqlite';
import type { Orm } from './orm.js';

type Escape = (value: unknown) => string;

/**
 * MikroORM writes every parameter into the SQL text (sqlstring-sqlite
 * escapes only quotes), and SQLite reads a statement only up to a NUL
 * character: a string holding U+0000 (a tool's error log, a client's
 * hostile input) cut the statement short, and the write or the read failed
 * as an internal error. Such a string is written as its UTF-8 bytes cast to
 * text instead, CAST(X'610062' AS TEXT), one literal however many NULs it
 * holds, which stores it whole.
 */
export function installNulSafeEscape(orm: Orm): void {
  if (!(orm.em.getPlatform() instanceof SqlitePlatform)) return;
  const platform = orm.em.getPlatform() as unknown as { escape: Escape };
  const escape = platform.escape.bind(platform);
  const hasNul = (value: unknown): boolean => (typeof value === 'string' && value.includes('\0')) || (Array.isArray(value) && value.some(hasNul));
  const nulSafe: Escape = (value) => {
    if (!hasNul(value)) return escape(value);
    if (typeof value === 'string') return `CAST(X'${Buffer.from(value, 'utf8').toString('hex')}' AS TEXT)`;
    // A list, as for `in (?)`: each item on its own (nested lists in parentheses).
    return (value as unknown[]).map((item) => (Array.isArray(item) ? `(${nulSafe(item)})` : nulSafe(item))).join(', ');
  };
  platform.escape = nulSafe;
}

import { monotonicFactory, decodeTime, encodeTime } from 'ulid';
import type { Clock } from './clock.js';

export type IdSource = () => string;

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * ULIDs stamped with the engine clock and monotonic within a millisecond, so
 * id order is creation order and `createdAt` always equals the id's time part.
 */
export function createIdSource(clock: Clock): IdSource {
  const next = monotonicFactory();
  return () => next(clock.now().getTime());
}

export function isUlid(value: string): boolean {
  return ULID.test(value);
}

/** The smallest ULID whose time part is `ms`: a bound for "created at or after". */
export function ulidFloor(ms: number): string {
  return encodeTime(Math.max(0, ms), 10) + '0'.repeat(16);
}

export function ulidTime(id: string): number {
  return decodeTime(id);
}

import { badInput } from './errors.js';

/** Input checks shared by the services; each names the offending field. */

/** The most characters a free text (a reason, message, error, log or prompt) may have; names and ids keep the default 200. */
export const TEXT_LIMIT = 1_000_000;

export function requireText(field: string, value: unknown, maxLength = 200): string {
  if (typeof value !== 'string' || value.trim() === '') throw badInput(field, 'must be a non-empty string');
  if (value.length > maxLength) throw badInput(field, `must be at most ${maxLength} characters`);
  return value;
}

export function optionalText(field: string, value: unknown, maxLength = 200): string | null {
  if (value === undefined || value === null) return null;
  return requireText(field, value, maxLength);
}

export function jsonObject(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be a JSON object');
  return value as Record<string, unknown>;
}

export function optionalInt(field: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value)) throw badInput(field, 'must be an integer');
  return value as number;
}

export function optionalDate(field: string, value: unknown): Date | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw badInput(field, 'must be a date');
  return value;
}

import { badInput } from '../core/errors.js';

/**
 * Money without binary floating point: amounts are integers of nano-units
 * (10^-9 of the currency unit), carried as bigint, stored as integers and
 * summed by the database, and printed as exact decimal strings.
 */
export const NANO_DIGITS = 9;
const NANO = 10n ** BigInt(NANO_DIGITS);
/** The largest amount one record may carry: exact in a 64-bit float too (2^53 nano-units, about 9 million units). */
export const MAX_RECORD_NANOS = 2n ** 53n - 1n;
/**
 * The largest budget limit: a tenth of the largest 64-bit integer (922,337,203.68547758 units),
 * so that even 1000 % of it (the highest threshold) is a 64-bit integer.
 */
export const MAX_BUDGET_NANOS = (2n ** 63n - 1n) / 10n;
/**
 * The largest total the gateway stores: a budget's spent is kept as a decimal string of
 * at most 40 digits (its column's length), and a cost that would take it further is
 * refused. Summaries are not stored and have no such bound (exact-sum.ts).
 */
export const MAX_TOTAL_NANOS = 10n ** 40n - 1n;
/** Quantities and rates may be finer than an amount (a per-token price); their product must come out in nano-units. */
const MAX_FACTOR_DIGITS = 18;
const DECIMAL = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** Whole digits beyond any amount, limit or factor the gateway takes (amounts stay under 10^10, factors under 10^28). */
const MAX_WHOLE_DIGITS = 40;

/** A non-negative decimal, exactly: digits and the power of ten that scales them. */
export interface Exact {
  digits: bigint;
  scale: number;
}

/** Reads "12.34", "0.1", "1e-7" (or a JSON number, by its shortest decimal form); refuses anything inexact or negative. */
export function parseDecimal(field: string, value: unknown, maxDigits = MAX_FACTOR_DIGITS): Exact {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string') throw badInput(field, 'must be a decimal number');
  const match = DECIMAL.exec(text.trim());
  if (!match) throw badInput(field, `must be a non-negative decimal number, got ${JSON.stringify(text)}`);
  const fraction = match[2] ?? '';
  // The significant digits, as text: the size checks below come before any bigint
  // arithmetic, which "1e999999999" (10^(10^9)) would keep busy for a minute and more.
  const significant = (match[1] + fraction).replace(/^0+/, '');
  if (significant === '') return { digits: 0n, scale: 0 };
  // Trailing zeros carry no precision.
  let end = significant.length;
  while (significant.charCodeAt(end - 1) === 48 /* 0 */) end -= 1;
  const mantissa = significant.slice(0, end);
  const scale = fraction.length - Number(match[3] ?? 0) - (significant.length - mantissa.length);
  if (scale > maxDigits) throw badInput(field, `has more than ${maxDigits} decimal places`);
  if (mantissa.length - scale > MAX_WHOLE_DIGITS) throw badInput(field, `is too large (more than ${MAX_WHOLE_DIGITS} digits before the point)`);
  return scale < 0 ? { digits: BigInt(mantissa) * 10n ** BigInt(-scale), scale: 0 } : { digits: BigInt(mantissa), scale };
}

/** An exact decimal as nano-units, refusing one finer than a nano-unit or above `max` (by default one record's most). */
export function toNanos(field: string, value: Exact, max: bigint = MAX_RECORD_NANOS): bigint {
  if (value.scale > NANO_DIGITS) throw badInput(field, `must have at most ${NANO_DIGITS} decimal places (it would be ${formatExact(value)})`);
  const nanos = value.digits * 10n ** BigInt(NANO_DIGITS - value.scale);
  if (nanos > max) throw badInput(field, `must be at most ${formatNanos(max)}`);
  return nanos;
}

export function multiply(a: Exact, b: Exact): Exact {
  return { digits: a.digits * b.digits, scale: a.scale + b.scale };
}

export function formatExact({ digits, scale }: Exact): string {
  if (scale === 0) return digits.toString();
  const text = digits.toString().padStart(scale + 1, '0');
  return `${text.slice(0, -scale)}.${text.slice(-scale)}`.replace(/\.?0+$/, '');
}

/** Nano-units as the shortest exact decimal ("1000", "0.1", "12.000000001"). */
export function formatNanos(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  const whole = abs / NANO;
  const fraction = (abs % NANO).toString().padStart(NANO_DIGITS, '0').replace(/0+$/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

const CURRENCY = /^[A-Z]{3}$/;

export function parseCurrency(field: string, value: unknown): string {
  if (typeof value !== 'string' || !CURRENCY.test(value)) throw badInput(field, 'must be an ISO 4217 code: three upper-case letters');
  return value;
}

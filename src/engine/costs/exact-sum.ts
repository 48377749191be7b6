/**
 * Sums of cost_record.amount_nanos that neither overflow nor round, on
 * SQLite and PostgreSQL alike.
 *
 * SQLite's sum() of integers fails past 2^63 - 1 ("integer overflow"), which
 * 1,025 records of the largest amount (2^53 - 1) reach. So the database sums
 * each amount's three base-10^6 digits apart (an amount is below 2^53, so
 * below 10^18), and the three sums are joined here into one bigint. A digit
 * is below 10^6, so its sum over n records is below n x 10^6, which reaches
 * 2^63 only past 9 x 10^12 records: more than either database can hold (a
 * record takes over 150 bytes with its indexes, a SQLite file at most
 * 2.8 x 10^14, a PostgreSQL table 3.2 x 10^13). Every total is thus exact
 * and no sum fails, however much has been recorded.
 * PostgreSQL's sum(bigint) would be exact alone; one SQL keeps one path.
 */
const DIGIT = 1_000_000n;
const DIGITS = [
  ['sum_high', `amount_nanos / ${DIGIT * DIGIT}`],
  ['sum_mid', `amount_nanos / ${DIGIT} % ${DIGIT}`],
  ['sum_low', `amount_nanos % ${DIGIT}`],
] as const;

/**
 * Select expressions of the three digit sums: as text to read them (SQLite
 * hands out an integer past 2^53 as a rounded number), as bigint to order by.
 */
export function digitSums(type: 'text' | 'bigint'): string {
  return DIGITS.map(([name, digit]) => `cast(sum(${digit}) as ${type}) as ${name}`).join(', ');
}

/** Select expressions reading bigint digit sums of a subquery as text. */
export const digitSumsAsText = DIGITS.map(([name]) => `cast(${name} as text) as ${name}`).join(', ');

/**
 * Order-by terms for rows of bigint digit sums, largest total first, exactly:
 * the carries are moved up so that the two lower sums are digits again, and
 * the total then compares as (high, mid, low).
 */
export const TOTAL_DESCENDING = [`sum_high + (sum_mid + sum_low / ${DIGIT}) / ${DIGIT} desc`, `(sum_mid + sum_low / ${DIGIT}) % ${DIGIT} desc`, `sum_low % ${DIGIT} desc`].join(', ');

/** The total of a row's digit sums (read as text); 0 when nothing was summed. */
export function joinDigitSums(row: Record<string, unknown>): bigint {
  return DIGITS.reduce((total, [name]) => total * DIGIT + BigInt(String(row[name] ?? 0)), 0n);
}

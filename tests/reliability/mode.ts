/**
 * The reliability suites run short in `npm test` (and CI), and long with
 * `npm run test:reliability` (UET_RELIABILITY=full): RELIABILITY.md lists both.
 */
export const FULL = process.env.UET_RELIABILITY === 'full';

/** The short or the full size of a parameter. */
export const size = (short: number, full: number) => (FULL ? full : short);

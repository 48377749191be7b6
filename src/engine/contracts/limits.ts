/** Violations a validation lists; the rest are counted. */
export const MAX_LISTED_ERRORS = 100;
/** Where the check stops counting: past it, a hostile document would only cost time and memory. */
export const MAX_COUNTED_ERRORS = 10_000;
/** What a validator throws past MAX_COUNTED_ERRORS (a RangeError with this message). */
export const TOO_MANY = `more than ${MAX_COUNTED_ERRORS} violations`;

/**
 * The fd-3 cost protocol (docs/worker.md "Reports from tools"): a tool writes
 * one JSON object per line to file descriptor 3 ($UET_COST_FD), each one usage
 * record, e.g. {"model": "gpt-x", "tokens_in": 1200, "tokens_out": 340, "amount": "0.0123", "currency": "USD"}.
 */

/** One record as recordCost takes it. */
export interface CostReport {
  resourceType: 'API_CALL' | 'COMPUTE_TIME' | 'STORAGE' | 'NETWORK' | 'TOOL_USAGE' | 'CUSTOM';
  resourceName: string | null;
  amount: string;
  currency: string;
  model: string | null;
  tokensInput: number | null;
  tokensOutput: number | null;
}

/**
 * A record is a few hundred bytes; a long line is a tool writing something
 * else to fd 3. An attempt of a coding agent makes tens to hundreds of model
 * calls; past the cap, each further record is refused rather than sent (each
 * one is a mutation, under the token's rate limit).
 */
export const COST_LIMITS = { maxLineBytes: 4096, maxRecords: 1000 };

const RESOURCE_TYPES: CostReport['resourceType'][] = ['API_CALL', 'COMPUTE_TIME', 'STORAGE', 'NETWORK', 'TOOL_USAGE', 'CUSTOM'];
const FIELDS = new Set(['model', 'tokens_in', 'tokens_out', 'amount', 'currency', 'resource_type', 'resource_name']);
/** The gateway's texts (model, resource name) are at most 200 characters; token counts are GraphQL Ints. */
const MAX_TEXT = 200;
const MAX_INT = 2 ** 31 - 1;
/** Money is exact to 9 decimal places (a nano-unit) in the gateway. */
const AMOUNT = /^\d{1,16}(?:\.\d{1,9})?$/;
const NEWLINE = 0x0a;

/** Splits bytes into lines and parses each; calls onCost per valid record, onBadLine(why) per rejected one; bounded (line length, records per attempt: past the cap, lines are rejected as such). */
export class CostLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Inside a line already refused as too long: its bytes are dropped up to the next newline. */
  private skipping = false;
  private records = 0;

  constructor(
    private readonly onCost: (cost: CostReport) => void,
    private readonly onBadLine: (why: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline;
      this.take(chunk.subarray(start, end));
      if (newline === -1) return;
      this.finishLine();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline counts too. */
  end(): void {
    this.finishLine();
  }

  private take(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    if (this.pendingBytes + part.length > COST_LIMITS.maxLineBytes) {
      this.onBadLine(`a cost line is longer than ${COST_LIMITS.maxLineBytes} bytes: skipped`);
      this.skipping = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copied: the chunk's memory may be reused by the stream once push returns.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finishLine(): void {
    const line = Buffer.concat(this.pending).toString('utf8').trim();
    const skipped = this.skipping;
    this.pending = [];
    this.pendingBytes = 0;
    this.skipping = false;
    if (skipped || line === '') return;
    if (this.records >= COST_LIMITS.maxRecords) {
      this.onBadLine(`more than ${COST_LIMITS.maxRecords} cost records in one attempt: skipped`);
      return;
    }
    let cost: CostReport;
    try {
      cost = parseCostLine(line);
    } catch (error) {
      this.onBadLine(`a cost line was skipped: ${(error as Error).message} (${JSON.stringify(line.slice(0, 120))})`);
      return;
    }
    this.records += 1;
    this.onCost(cost);
  }
}

/** One line of the protocol as a record; throws an Error saying what is wrong. */
function parseCostLine(line: string): CostReport {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new Error('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
  const record = raw as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) throw new Error(`unknown fields ${unknown.join(', ')} (known: ${[...FIELDS].join(', ')})`);
  const model = text(record, 'model');
  const currency = record.currency ?? 'USD';
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new Error('currency must be three upper-case letters (ISO 4217)');
  const type = record.resource_type ?? 'api_call';
  const resourceType = typeof type === 'string' ? RESOURCE_TYPES.find((t) => t === type.toUpperCase()) : undefined;
  if (!resourceType) throw new Error(`resource_type must be one of ${RESOURCE_TYPES.map((t) => t.toLowerCase()).join(', ')}`);
  return {
    resourceType,
    resourceName: text(record, 'resource_name') ?? model,
    amount: amountOf(record.amount),
    currency,
    model,
    tokensInput: count(record, 'tokens_in'),
    tokensOutput: count(record, 'tokens_out'),
  };
}

/** An exact decimal text: a JSON number is read by its shortest form (0.1 is "0.1"), as the gateway reads one. */
function amountOf(value: unknown): string {
  if (value === undefined || value === null) throw new Error('amount is missing');
  let text: string | null = null;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    text = String(value);
    // 1e-7 prints in exponent form: written out to 9 places (trailing zeros dropped), when that is still the same amount.
    if (/e/i.test(text)) {
      const written = value.toFixed(9).replace(/\.?0+$/, '');
      text = Number(written) === value ? written : null;
    }
  }
  if (text === null || !AMOUNT.test(text)) throw new Error('amount must be a number >= 0 with at most 9 decimal places, best as a string ("0.0123")');
  return text;
}

function text(record: Record<string, unknown>, field: string): string | null {
  const value = record[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_TEXT) throw new Error(`${field} must be a non-empty string of at most ${MAX_TEXT} characters`);
  return value;
}

function count(record: Record<string, unknown>, field: string): number | null {
  const value = record[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_INT) throw new Error(`${field} must be a whole number from 0 to ${MAX_INT}`);
  return value;
}

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COST_LIMITS, CostLineReader, type CostReport } from '../../src/worker/cost-lines.js';

/** A reader with what it reported so far. */
function reader() {
  const costs: CostReport[] = [];
  const bad: string[] = [];
  const lines = new CostLineReader(
    (cost) => costs.push(cost),
    (why) => bad.push(why),
  );
  return { lines, costs, bad };
}

const EXAMPLE = { model: 'gpt-x', tokens_in: 1200, tokens_out: 340, amount: '0.0123', currency: 'USD' };

describe('CostLineReader', () => {
  it('reads the documented example line, with the defaults filled in', () => {
    const { lines, costs, bad } = reader();
    lines.push(Buffer.from(JSON.stringify(EXAMPLE) + '\n'));
    lines.push(Buffer.from('{"amount": 2, "resource_type": "compute_time", "resource_name": "runner", "currency": "EUR"}\n'));
    lines.end();
    expect(bad).toEqual([]);
    expect(costs).toEqual([
      { resourceType: 'API_CALL', resourceName: 'gpt-x', amount: '0.0123', currency: 'USD', model: 'gpt-x', tokensInput: 1200, tokensOutput: 340 },
      { resourceType: 'COMPUTE_TIME', resourceName: 'runner', amount: '2', currency: 'EUR', model: null, tokensInput: null, tokensOutput: null },
    ]);
  });

  it('joins lines split across chunks (even inside a UTF-8 character), takes CRLF and a last line without newline', () => {
    const { lines, costs, bad } = reader();
    const bytes = Buffer.from(`${JSON.stringify({ ...EXAMPLE, model: 'modèle-é' })}\r\n\n${JSON.stringify({ amount: 0.5 })}`);
    for (let i = 0; i < bytes.length; i += 7) lines.push(bytes.subarray(i, i + 7));
    expect(costs).toHaveLength(1);
    lines.end();
    expect(bad).toEqual([]);
    expect(costs.map((c) => [c.model, c.amount])).toEqual([
      ['modèle-é', '0.0123'],
      [null, '0.5'],
    ]);
  });

  it('reads number amounts exactly as the gateway does, and writes out exponent forms', () => {
    const { lines, costs, bad } = reader();
    for (const amount of [0.1, 1e-7, 12, 1e-12, 0.0123456789]) lines.push(Buffer.from(JSON.stringify({ amount }) + '\n'));
    lines.end();
    expect(costs.map((c) => c.amount)).toEqual(['0.1', '0.0000001', '12']);
    expect(bad).toHaveLength(2);
    expect(bad[0]).toContain('at most 9 decimal places');
  });

  it.each([
    ['not json', 'not JSON'],
    ['[1, 2]', 'not a JSON object'],
    ['"0.1"', 'not a JSON object'],
    ['{"model": "m"}', 'amount is missing'],
    ['{"amount": "-1"}', 'amount must be a number >= 0'],
    ['{"amount": -1}', 'amount must be a number >= 0'],
    ['{"amount": "1e3"}', 'amount must be a number >= 0'],
    ['{"amount": "NaN"}', 'amount must be a number >= 0'],
    ['{"amount": "0.0000000001"}', 'at most 9 decimal places'],
    ['{"amount": "1", "currency": "usd"}', 'currency must be three upper-case letters'],
    ['{"amount": "1", "resource_type": "gpu"}', 'resource_type must be one of api_call'],
    ['{"amount": "1", "tokens_in": 1.5}', 'tokens_in must be a whole number'],
    ['{"amount": "1", "tokens_out": -3}', 'tokens_out must be a whole number'],
    ['{"amount": "1", "tokens_in": 3000000000}', 'tokens_in must be a whole number'],
    ['{"amount": "1", "model": ""}', 'model must be a non-empty string'],
    [`{"amount": "1", "model": "${'m'.repeat(201)}"}`, 'model must be a non-empty string of at most 200'],
    ['{"amount": "1", "token_in": 5}', 'unknown fields token_in'],
    ['{"amount": "1", "__proto__": {"x": 1}}', 'unknown fields __proto__'],
  ])('skips the bad line %s, saying why', (line, why) => {
    const { lines, costs, bad } = reader();
    lines.push(Buffer.from(`${line}\n${JSON.stringify({ amount: '1' })}\n`));
    lines.end();
    expect(bad).toHaveLength(1);
    expect(bad[0]).toContain(why);
    expect(costs).toHaveLength(1);
  });

  it('drops an over-long line without holding it in memory, and reads the next one', () => {
    const { lines, costs, bad } = reader();
    const chunk = Buffer.alloc(64 * 1024, 'x');
    // 64 MiB of one line: only one note, and the reader keeps at most a line's bound.
    for (let i = 0; i < 1024; i++) lines.push(chunk);
    lines.push(Buffer.from(`\n${JSON.stringify(EXAMPLE)}\n`));
    lines.end();
    expect(bad).toEqual([`a cost line is longer than ${COST_LIMITS.maxLineBytes} bytes: skipped`]);
    expect(costs).toHaveLength(1);
  });

  it('takes a line of exactly the bound', () => {
    const { lines, costs, bad } = reader();
    const line = JSON.stringify({ amount: '1', resource_name: 'r' });
    const padded = line + ' '.repeat(COST_LIMITS.maxLineBytes - line.length);
    lines.push(Buffer.from(padded + '\n' + padded + ' \n'));
    lines.end();
    expect(costs).toHaveLength(1);
    expect(bad).toHaveLength(1);
  });

  it('refuses records past the cap of one attempt, as such', () => {
    const { lines, costs, bad } = reader();
    const line = Buffer.from(JSON.stringify({ amount: '0.001' }) + '\n');
    lines.push(Buffer.concat(Array(COST_LIMITS.maxRecords + 5).fill(line)));
    lines.end();
    expect(costs).toHaveLength(COST_LIMITS.maxRecords);
    expect(bad).toEqual(Array(5).fill(`more than ${COST_LIMITS.maxRecords} cost records in one attempt: skipped`));
  });

  it('reads what a real process writes on file descriptor 3', async () => {
    const { lines, costs, bad } = reader();
    const script = `const fs = require('node:fs');
      fs.writeSync(3, ${JSON.stringify(JSON.stringify(EXAMPLE))} + '\\n');
      fs.writeSync(3, 'oops\\n');
      fs.writeSync(3, '{"amount": "0.5", "resource_type": "tool_usage", "resource_name": "search"}');`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', (chunk: Buffer) => lines.push(chunk));
    await new Promise((resolve) => fd3.on('end', resolve));
    lines.end();
    expect(costs.map((c) => [c.resourceType, c.resourceName, c.amount])).toEqual([
      ['API_CALL', 'gpt-x', '0.0123'],
      ['TOOL_USAGE', 'search', '0.5'],
    ]);
    expect(bad).toEqual([expect.stringContaining('not JSON')]);
  });
});

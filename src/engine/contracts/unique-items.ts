/**
 * Ajv checks uniqueItems by comparing every pair of items unless the item
 * schema names a scalar type; a contract whose items are a $ref (step_attempt's
 * patch_ids) made a 1 MB document a 12 s blocked event loop (validateDocument
 * takes any contract and any document). This check keys each item by its
 * canonical JSON (keys sorted): one pass, the same verdict.
 *
 * Returns the indices of the first repeated item and of its first occurrence, or null.
 */
export function duplicateItems(data: unknown[]): { i: number; j: number } | null {
  const seen = new Map<string, number>();
  for (let j = 0; j < data.length; j++) {
    const key = canonicalJson(data[j]);
    const i = seen.get(key);
    if (i !== undefined) return { i, j };
    seen.set(key, j);
  }
  return null;
}

/** JSON with object keys sorted (two documents that differ only in key order give the same text), without recursion (an item may be nested 10,000 levels deep). */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  const token = (text: string) => ({ [TOKEN]: text });
  while (stack.length > 0) {
    const item = stack.pop();
    if (item !== null && typeof item === 'object' && TOKEN in item) out.push((item as Record<typeof TOKEN, string>)[TOKEN]);
    else if (Array.isArray(item)) {
      stack.push(token(']'));
      for (let k = item.length - 1; k >= 0; k--) stack.push(item[k], ...(k > 0 ? [token(',')] : []));
      stack.push(token('['));
    } else if (item !== null && typeof item === 'object') {
      const keys = Object.keys(item).sort();
      stack.push(token('}'));
      for (const [k, key] of [...keys.entries()].reverse()) stack.push((item as Record<string, unknown>)[key], token(`${k > 0 ? ',' : ''}${JSON.stringify(key)}:`));
      stack.push(token('{'));
    } else out.push(JSON.stringify(item) ?? 'null');
  }
  return out.join('');
}
const TOKEN = Symbol('token');

/**
 * The GraphQL a reader pastes from the documents still runs: every
 * ```graphql block in the README and docs/ parses and validates against
 * schema.graphql (which schema-files.test.ts keeps equal to the code's).
 * Placeholders such as "RUN_ID" are strings, so only the shape is checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { buildSchema, LoneAnonymousOperationRule, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const schema = buildSchema(readFileSync(new URL('schema.graphql', root), 'utf8'));
const documents = [
  'README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
// A block lists several operations side by side, each meant to be run alone.
const rules = specifiedRules.filter((rule) => rule !== LoneAnonymousOperationRule);

describe('GraphQL in the documents', () => {
  it.each(documents)('%s: every graphql block validates against the schema', (document) => {
    const blocks = [...readFileSync(new URL(document, root), 'utf8').matchAll(/^```graphql\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
    const problems = blocks.flatMap((block) => {
      try {
        return validate(schema, parse(block), rules).map((error) => `${error.message}\n${block}`);
      } catch (error) {
        return [`${(error as Error).message}\n${block}`];
      }
    });
    expect(problems).toEqual([]);
  });
});

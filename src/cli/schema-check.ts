import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { printGatewaySchema } from '../graphql.js';

/** The schema of the last release; copy schema.graphql over it when releasing. */
export const RELEASED_SCHEMA = new URL('../../schema.released.graphql', import.meta.url);

export const SCHEMA_CHECK_USAGE = `usage: uet-gateway schema:check [--against FILE]
  compares the schema the code builds with the last released schema (schema.released.graphql, or FILE)
  and lists breaking, dangerous and safe changes; exits 1 when any change is breaking`;

export interface SchemaComparison {
  breaking: Change[];
  dangerous: Change[];
  safe: Change[];
}

/** What changed from `releasedSdl` to `currentSdl`, by criticality (graphql-inspector's rules). */
export async function compareSchemas(releasedSdl: string, currentSdl: string): Promise<SchemaComparison> {
  const changes = await diff(buildSchema(releasedSdl), buildSchema(currentSdl));
  const of = (level: CriticalityLevel) => changes.filter((change) => change.criticality.level === level);
  return { breaking: of(CriticalityLevel.Breaking), dangerous: of(CriticalityLevel.Dangerous), safe: of(CriticalityLevel.NonBreaking) };
}

export async function schemaCheckCommand(args: string[]): Promise<number> {
  let against = RELEASED_SCHEMA.pathname;
  if (args[0] === '--against' && args[1]) against = args[1];
  else if (args.length > 0) {
    console.error(SCHEMA_CHECK_USAGE);
    return 2;
  }
  const result = await compareSchemas(readFileSync(against, 'utf8'), printGatewaySchema());
  const list = (title: string, changes: Change[]) => {
    if (changes.length === 0) return;
    console.log(`${title} (${changes.length}):`);
    for (const change of changes) console.log(`  ${change.path ?? ''}: ${change.message}`);
  };
  list('breaking', result.breaking);
  list('dangerous', result.dangerous);
  list('safe', result.safe);
  console.log(`${result.breaking.length} breaking, ${result.dangerous.length} dangerous, ${result.safe.length} safe change(s) against ${against}`);
  return result.breaking.length > 0 ? 1 : 0;
}

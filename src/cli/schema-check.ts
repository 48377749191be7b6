import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSchema } from 'graphql';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { printGatewaySchema } from '../graphql.js';
import { packageFile } from '../package-files.js';
import { parseCommandArgs } from './args.js';

/** The schema of the last release; copy schema.graphql over it when releasing (docs/operations.md#migrations-and-schema-releases). */
export const RELEASED_SCHEMA = pathToFileURL(packageFile('schema.released.graphql'));

export const SCHEMA_CHECK_USAGE = `usage: uet-gateway schema:check [--against FILE] [--verbose]
  compares the schema the code builds with the last released schema (schema.released.graphql, or FILE):
  prints the verdict, then the breaking and dangerous changes (--verbose: the safe ones too)
  exit codes: 0 nothing breaks, 1 a change breaks clients, 2 wrong usage or a schema file that cannot be read`;

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

export async function schemaCheckCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, SCHEMA_CHECK_USAGE, { options: { against: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
  const against = values.against ?? fileURLToPath(RELEASED_SCHEMA);
  const inCwd = relative(process.cwd(), against);
  const shown = values.against ?? (inCwd.startsWith('..') ? against : inCwd);
  // Exit 2, not 1, when the comparison cannot be made: 1 means "breaking", and a CI step must not read a typo as a verdict.
  let released: string;
  try {
    released = readFileSync(against, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(`error: cannot read ${shown}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`);
    return 2;
  }
  try {
    buildSchema(released);
  } catch (error) {
    console.error(`error: ${shown} is not a GraphQL schema: ${(error as Error).message.split('\n')[0]}`);
    return 2;
  }
  const { breaking, dangerous, safe } = await compareSchemas(released, printGatewaySchema());
  const counts = `(${dangerous.length} dangerous, ${safe.length} safe)`;
  console.log(breaking.length > 0 ? `${breaking.length} breaking change${breaking.length === 1 ? '' : 's'} ${counts} against ${shown}` : `no breaking changes ${counts} against ${shown}`);
  const list = (title: string, changes: Change[]) => {
    if (changes.length === 0) return;
    console.log(`\n${title} (${changes.length}):`);
    for (const change of changes) console.log(`  ${change.path ?? ''}: ${change.message}`);
  };
  list('breaking', breaking);
  list('dangerous', dangerous);
  if (values.verbose) list('safe', safe);
  return breaking.length > 0 ? 1 : 0;
}

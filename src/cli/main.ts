import { ConfigError } from '../config.js';
import { DomainError } from '../engine/core/errors.js';
import { HelpRequested, UsageError } from './args.js';
import { migrateCommand } from './migrate.js';
import { SCHEMA_CHECK_USAGE, schemaCheckCommand } from './schema-check.js';
import { SEED_USAGE, seedCommand } from './seed.js';
import { SIMULATE_USAGE, simulateCommand } from './simulate.js';
import { TOKEN_USAGE, tokenCommand } from './token.js';

const HELP = `uet-gateway: a GraphQL control plane for AI-assisted software development

usage: uet-gateway <command> [options]

commands:
  serve                 start the gateway (GraphiQL at http://localhost:4000/graphql); configured by env vars, see docs/operations.md
  migrate               apply pending database migrations and exit
  token ...             create, list or revoke API tokens
  seed --demo           fill the database with a realistic demo (runs, patches, gates, costs, workers, a workstream)
  simulate ...          run simulated workers against a running gateway
  schema:check ...      report breaking changes against the last released schema
  help                  this text

${TOKEN_USAGE}
${SEED_USAGE}
${SIMULATE_USAGE}
${SCHEMA_CHECK_USAGE}

exit codes: 0 done, 1 failed, 2 wrong usage`;

/** The command-line entry (package bin `uet-gateway`). */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      // The server runs until a signal stops it; main.ts owns its lifecycle.
      await import('../main.js');
      return -1;
    case 'migrate':
      return migrateCommand();
    case 'token':
      return tokenCommand(rest);
    case 'seed':
      return seedCommand(rest);
    case 'simulate':
      return simulateCommand(rest);
    case 'schema:check':
      return schemaCheckCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof HelpRequested) {
      console.log(error.usage);
      process.exitCode = 0;
      return;
    }
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\n${error.usage}`);
      process.exitCode = 2;
      return;
    }
    const known = error instanceof ConfigError || error instanceof DomainError;
    console.error(known ? `error: ${(error as Error).message}` : error);
    process.exitCode = 1;
  },
);

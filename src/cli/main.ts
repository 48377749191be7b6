import { ConfigError } from '../config.js';
import { closest } from '../engine/contracts/issues.js';
import { DomainError } from '../engine/core/errors.js';
import { CommandError, HelpRequested, parseCommandArgs, UsageError } from './args.js';

// Each command's module is loaded only when it runs: `--help` stays quick, and
// a command's dependencies (graphql-inspector for schema:check) are not every command's.

const SERVE_USAGE = `usage: uet-gateway serve
  starts the gateway (GraphiQL at http://localhost:4000/graphql) and runs until SIGTERM or SIGINT;
  configured by environment variables (PORT, HOST, DATABASE_URL, ...): docs/operations.md#configuration`;

const COMMANDS = ['serve', 'migrate', 'token', 'seed', 'simulate', 'worker', 'schema:check', 'backup', 'help'];

const HELP = `uet-gateway: a GraphQL control plane for AI-assisted software development

usage: uet-gateway <command> [options]

commands:
  serve                 start the gateway (GraphiQL at http://localhost:4000/graphql); configured by env vars, see docs/operations.md
  migrate               apply pending database migrations and exit
  token ...             create, list or revoke API tokens
  seed --demo           fill the database with a realistic demo (runs, patches, gates, costs, workers, a workstream)
  simulate ...          run simulated workers against a running gateway
  worker ...            run a worker: claim tasks and run their tools on this machine (docs/worker.md)
  schema:check ...      report breaking changes against the last released schema
  backup FILE           copy the SQLite database to FILE, also while the gateway runs
  help [COMMAND]        this text, or a command's usage

\`uet-gateway COMMAND --help\` shows a command's usage. Commands that open a database say which on stderr:
the one DATABASE_URL names, by default sqlite:data/uet-gateway.sqlite in the working directory.

exit codes: 0 done, 1 failed, 2 wrong usage`;

/** The command-line entry (package bin `uet-gateway`); resolves to the exit code, or -1 for a server that keeps running. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      parseCommandArgs(rest, SERVE_USAGE, { options: {} });
      // graphql-js reads NODE_ENV once, as it loads, and outside production checks every type test for a second copy of
      // itself (5 % of a replay's CPU); nothing the CLI imported above loads it. An operator's own NODE_ENV wins.
      process.env.NODE_ENV ??= 'production';
      // The server runs until a signal stops it; main.ts owns its lifecycle.
      await import('../main.js');
      return -1;
    case 'migrate':
      return (await import('./migrate.js')).migrateCommand(rest);
    case 'token':
      return (await import('./token.js')).tokenCommand(rest);
    case 'seed':
      return (await import('./seed.js')).seedCommand(rest);
    case 'simulate':
      return (await import('./simulate.js')).simulateCommand(rest);
    case 'worker':
      return (await import('./worker.js')).workerCommand(rest);
    case 'schema:check':
      return (await import('./schema-check.js')).schemaCheckCommand(rest);
    case 'backup':
      return (await import('./backup.js')).backupCommand(rest);
    case 'help':
    case '--help':
    case '-h':
      // `help token` is `token --help`.
      if (command === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
      console.log(HELP);
      return 0;
    case undefined:
      console.error(`error: missing command\n\n${HELP}`);
      return 2;
    default: {
      const near = closest(command, COMMANDS);
      console.error(`error: unknown command "${command}"${near ? `; did you mean "${near}"?` : ''}\n\n${HELP}`);
      return 2;
    }
  }
}

// `uet-gateway ... | head` closes the pipe early: stop writing quietly (no EPIPE
// crash) and let the command finish with its own exit code.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.stdout.destroy();
});

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
    const known = error instanceof ConfigError || error instanceof DomainError || error instanceof CommandError;
    console.error(known ? `error: ${(error as Error).message}` : error);
    process.exitCode = 1;
  },
);

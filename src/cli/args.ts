import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Wrong usage: main prints the message and the command's usage on stderr and exits 2, without a stack. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** `--help` or `-h`: main prints the usage on stdout and exits 0; the command does nothing else. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

/**
 * A command's arguments through node:util parseArgs (strict), with the
 * manners every command shares: `--help`/`-h` anywhere before `--` asks for
 * the usage, and an unknown option or a missing value is a UsageError that
 * says what was wrong.
 */
export function parseCommandArgs<T extends Omit<ParseArgsConfig, 'args' | 'strict'>>(argv: string[], usage: string, config: T): ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>> {
  const end = argv.indexOf('--');
  if ((end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) throw new HelpRequested(usage);
  try {
    return parseArgs({ ...config, args: argv, strict: true });
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError(error.message.replace(/\. To specify a positional argument starting with a '-'.*$/s, ''), usage);
    }
    throw error;
  }
}

/** The command could not do its job for a reason the user can fix (a file exists, the wrong database): main prints "error: <message>" and exits 1. */
export class CommandError extends Error {}

import { resolve } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Every environment variable the gateway reads, parsed and checked in one place. */
export interface Config {
  port: number;
  host: string;
  /** SQLite file path, or ':memory:'. */
  sqlitePath: string;
  logLevel: LogLevel;
}

export const DEFAULT_SQLITE_PATH = 'data/uet-gateway.sqlite';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export class ConfigError extends Error {}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 4000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be 0..65535, got "${raw}"`);
  return port;
}

/** DATABASE_URL: `sqlite:<path>` (relative paths from the working directory) or `sqlite::memory:`. */
function parseDatabaseUrl(raw: string | undefined): string {
  if (raw === undefined || raw === '') return resolve(DEFAULT_SQLITE_PATH);
  const match = /^sqlite:(?:\/\/)?(.+)$/.exec(raw);
  if (!match) {
    throw new ConfigError(`DATABASE_URL must look like sqlite:<path> (PostgreSQL support comes later), got "${raw}"`);
  }
  return match[1] === ':memory:' ? ':memory:' : resolve(match[1]);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    port: parsePort(env.PORT),
    host: env.HOST || '127.0.0.1',
    sqlitePath: parseDatabaseUrl(env.DATABASE_URL),
    logLevel,
  };
}

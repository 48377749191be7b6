import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, databaseOptions, describeDatabase, loadConfig, redactUrl } from '../../src/config.js';

describe('config: the database and Redis', () => {
  it('defaults to the SQLite file, with no PostgreSQL and no Redis', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ postgresUrl: null, redisUrl: null, redisPrefix: 'uet:', dbPoolSize: 10 });
    expect(config.sqlitePath).toBe(resolve('data/uet-gateway.sqlite'));
    expect(databaseOptions(config).postgresUrl).toBeNull();
  });

  it('takes sqlite: paths and sqlite::memory:', () => {
    expect(loadConfig({ DATABASE_URL: 'sqlite:tmp/x.sqlite' }).sqlitePath).toBe(resolve('tmp/x.sqlite'));
    expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).sqlitePath).toBe(':memory:');
  });

  it('selects PostgreSQL for postgres:// and postgresql:// URLs, and never prints the password', () => {
    for (const url of ['postgres://uet:s3cret@db:5432/uet', 'postgresql://uet:s3cret@db/uet']) {
      const config = loadConfig({ DATABASE_URL: url, UET_DB_POOL_SIZE: '4' });
      expect(databaseOptions(config)).toMatchObject({ postgresUrl: url, poolSize: 4 });
      expect(describeDatabase(config)).not.toContain('s3cret');
      expect(describeDatabase(config)).toContain('***');
    }
  });

  it('refuses other URLs and bad pool sizes without echoing secrets', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:pw@db/x' })).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:pw@db/x' })).toThrow(/mysql:\/\/root:\*\*\*@db\/x/);
    expect(() => loadConfig({ UET_DB_POOL_SIZE: '0' })).toThrow(/UET_DB_POOL_SIZE/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
  });

  it('takes REDIS_URL and a channel prefix', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', UET_REDIS_PREFIX: 'staging:' })).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      redisPrefix: 'staging:',
    });
    expect(redactUrl('rediss://user:pw@cache:6380')).toBe('rediss://user:***@cache:6380');
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379');
  });
});

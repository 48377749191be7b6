/**
 * .env.example names every environment variable the gateway reads, and the
 * default it shows for each is the one src/config.ts applies, so the file
 * cannot drift from the code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const root = new URL('../..', import.meta.url).pathname;

/** NAME → value of every `# NAME=value` (or uncommented) line. */
const listed = new Map([...readFileSync(join(root, '.env.example'), 'utf8').matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => [name!, value!] as const));

/** The names loadConfig reads, recorded by an environment that answers every read with "unset". */
function namesLoadConfigReads(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, name) => {
      if (typeof name === 'string') read.add(name);
      return undefined;
    },
  });
  loadConfig(env);
  return read;
}

/** `process.env.NAME` outside src/config.ts (a command's own variables). */
function namesReadElsewhere(): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (path.endsWith('.ts')) for (const [, name] of readFileSync(path, 'utf8').matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)) names.add(name!);
    }
  };
  visit(join(root, 'src'));
  return names;
}

describe('.env.example', () => {
  const fromConfig = namesLoadConfigReads();
  const everything = new Set([...fromConfig, ...namesReadElsewhere()]);

  it('names every variable the gateway and its commands read, and nothing else', () => {
    // Sanity: the recording sees the reads (a broken Proxy would make the comparison vacuous).
    expect(fromConfig).toContain('PORT');
    expect(fromConfig).toContain('UET_MAX_COST');
    expect([...listed.keys()].sort()).toEqual([...everything].sort());
  });

  it('shows for each variable of src/config.ts the default it applies', () => {
    const defaults = loadConfig({});
    const wrong = [...fromConfig].filter((name) => JSON.stringify(loadConfig({ [name]: listed.get(name) })) !== JSON.stringify(defaults));
    expect(wrong, 'these lines of .env.example change the configuration').toEqual([]);
    // And the check has teeth: a value other than the default does change it.
    expect(loadConfig({ PORT: '4001' })).not.toEqual(defaults);
  });
});

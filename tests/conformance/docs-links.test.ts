/**
 * The project's documents stay connected: every relative link in the
 * Markdown files resolves to a file and, with `#anchor`, to one of its
 * headings; every `docs/<page>.md#<anchor>` (or SECURITY.md's, ...)
 * that code, tests or the schema's descriptions cite exists; no file points
 * at the domain notes that used to live outside the repository; and the
 * state tables of docs/domain.md are the machines the engine enforces.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StateMachine } from '../../src/engine/core/state-machine.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', 'data', '.scratch', 'test-artifacts']);
const TEXT_EXTENSIONS = new Set(['.ts', '.js', '.cjs', '.mjs', '.md', '.graphql', '.json', '.yml', '.yaml', '.sh', '']);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    // By name, whatever its type: a worktree's node_modules is a symlink to a folder.
    if (SKIPPED_DIRS.has(entry.name)) return [];
    if (entry.isDirectory()) return walk(path);
    return entry.isFile() && TEXT_EXTENSIONS.has(extname(entry.name)) ? [path] : [];
  });
}

const textFiles = walk(root);
const markdownFiles = textFiles.filter((path) => path.endsWith('.md'));
const read = (path: string) => readFileSync(path, 'utf8');

/** The text outside fenced code blocks and inline code, where links and headings live. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = text!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Why `target` (a path with an optional #anchor, relative to `from`'s folder) does not resolve, or null. */
function brokenTarget(from: string, target: string): string | null {
  const [path = '', anchor] = target.split('#');
  const file = path === '' ? from : resolve(dirname(from), decodeURIComponent(path));
  if (!existsSync(file)) return `no file ${relative(root, file)}`;
  if (anchor === undefined || anchor === '') return null;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `#${anchor} in a file that is not Markdown`;
  return anchors(read(file)).has(anchor) ? null : `no heading #${anchor} in ${relative(root, file)}`;
}

describe('the project documents', () => {
  it('docs/ has the domain, architecture and operations pages', () => {
    for (const page of ['domain', 'architecture', 'operations']) expect(existsSync(join(root, 'docs', `${page}.md`))).toBe(true);
  });

  it('every relative Markdown link resolves to a file and heading', () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      for (const [, target] of prose(read(file)).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // http:, https:, mailto:
        const why = brokenTarget(file, target!);
        if (why) broken.push(`${relative(root, file)}: (${target}) ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every <page>.md#anchor cited in code, tests and the schema exists', () => {
    const broken: string[] = [];
    let cited = 0;
    for (const file of textFiles.filter((path) => !path.endsWith('.md'))) {
      for (const [target] of read(file).matchAll(/\b(?:docs\/[a-z-]+|SECURITY|RELIABILITY|README)\.md#[a-z0-9-]+/g)) {
        cited += 1;
        const why = brokenTarget(join(root, 'README.md'), target);
        if (why) broken.push(`${relative(root, file)}: ${target} ${why}`);
      }
    }
    expect(broken).toEqual([]);
    expect(cited).toBeGreaterThan(0);
  });

  it('no file cites the domain notes that are not in the repository', () => {
    const outside = 'DOMAIN' + '.md';
    const citing = textFiles.filter((file) => read(file).includes(outside)).map((file) => relative(root, file));
    expect(citing).toEqual([]);
  });
});

describe('docs/domain.md', () => {
  /** The machines every src/engine/<module>/machines.ts exports, by the entity they name. */
  async function engineMachines(): Promise<Map<string, StateMachine<string>>> {
    const machines = new Map<string, StateMachine<string>>();
    const engine = join(root, 'src/engine');
    for (const module of readdirSync(engine)) {
      const file = join(engine, module, 'machines.ts');
      if (!existsSync(file)) continue;
      for (const value of Object.values(await import(pathToFileURL(file).href))) {
        if (value instanceof StateMachine) machines.set(value.entity, value as StateMachine<string>);
      }
    }
    return machines;
  }

  /** Tables headed "| <name> state | may move to |": each state and the states it may move to. */
  function documentedTables(): Map<string, Map<string, string[]>> {
    const tables = new Map<string, Map<string, string[]>>();
    const lines = read(join(root, 'docs/domain.md')).split('\n');
    lines.forEach((line, index) => {
      const header = /^\| (\w+) state \| may move to \|$/.exec(line);
      if (!header) return;
      const rows = new Map<string, string[]>();
      for (const row of lines.slice(index + 2)) {
        const cells = /^\| ([A-Z_]+) \|(.*)\|$/.exec(row);
        if (!cells) break;
        const targets = cells[2]!
          .split(',')
          .map((state) => state.trim())
          .filter(Boolean);
        rows.set(
          cells[1]!.toLowerCase(),
          targets.map((state) => state.toLowerCase()),
        );
      }
      tables.set(header[1]!, rows);
    });
    return tables;
  }

  const ENTITY_OF_TABLE: Record<string, string> = {
    run: 'Run',
    step: 'StepAttempt',
    worker: 'Worker',
    task: 'Task',
    ledger: 'LedgerEntry',
    gate: 'TestGate',
  };

  it("documents each state machine's transitions exactly as the engine enforces them", async () => {
    const machines = await engineMachines();
    const tables = documentedTables();
    for (const [table, entity] of Object.entries(ENTITY_OF_TABLE)) {
      const machine = machines.get(entity);
      const rows = tables.get(table);
      expect(machine, `a machine for ${entity} in src/engine/*/machines.ts`).toBeDefined();
      expect(rows, `a "| ${table} state | may move to |" table in docs/domain.md`).toBeDefined();
      const enforced = Object.fromEntries(machine!.states.map((from) => [from, machine!.states.filter((to) => machine!.allows(from, to)).sort()]));
      const documented = Object.fromEntries([...rows!].map(([from, to]) => [from, [...to].sort()]));
      expect(documented, `docs/domain.md's ${table} table`).toEqual(enforced);
    }
  });
});

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** What `npm run lint:deps` finds in the src/ under `cwd`, by rule. */
function lintDeps(cwd: string): Violation[] {
  const run = spawnSync(process.execPath, [depcruise, 'src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json'], {
    cwd,
    encoding: 'utf8',
  });
  const result = JSON.parse(run.stdout) as { summary: { violations: { rule: { name: string }; from: string; to: string }[] } };
  return result.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

describe('the dependency rules (npm run lint:deps)', () => {
  const planted = mkdtempSync(join(tmpdir(), 'uet-module-order-'));
  afterAll(() => rmSync(planted, { recursive: true, force: true }));

  it('src/ follows the module order and has no import cycles', () => {
    expect(lintDeps(root)).toEqual([]);
  });

  it('a planted violation of each rule is reported by name', () => {
    cpSync(join(root, 'src'), join(planted, 'src'), { recursive: true });
    cpSync(join(root, 'tsconfig.json'), join(planted, 'tsconfig.json'));
    const plant = (file: string, text: string) => {
      mkdirSync(dirname(join(planted, file)), { recursive: true });
      writeFileSync(join(planted, file), text);
    };
    // A lower module reaching up the order (type-only imports count).
    plant('src/engine/runs/planted-upward.ts', "import type { Patch } from '../patches/entities.js';\nexport type Planted = Patch;\n");
    // The engine reaching into the server.
    plant('src/engine/core/planted-server.ts', "export { withRequestId } from '../../request-context.js';\nexport * from '../../server/errors.js';\n");
    // The types reaching into the root fields.
    plant('src/schema/planted-resolvers.ts', "import '../resolvers/runs.js';\n");
    // A cycle.
    plant('src/engine/patches/planted-a.ts', "import { b } from './planted-b.js';\nexport const a = () => b;\n");
    plant('src/engine/patches/planted-b.ts', "import { a } from './planted-a.js';\nexport const b = () => a;\n");
    // A folder that is no module of the order.
    plant('src/engine/misc/planted.ts', "import { DomainError } from '../core/errors.js';\nexport const planted = DomainError;\n");

    const found = lintDeps(planted);
    expect(found).toEqual(
      expect.arrayContaining([
        { rule: 'module-order-runs', from: 'src/engine/runs/planted-upward.ts', to: 'src/engine/patches/entities.ts' },
        { rule: 'engine-stands-alone', from: 'src/engine/core/planted-server.ts', to: 'src/request-context.ts' },
        { rule: 'engine-stands-alone', from: 'src/engine/core/planted-server.ts', to: 'src/server/errors.ts' },
        { rule: 'schema-before-resolvers', from: 'src/schema/planted-resolvers.ts', to: 'src/resolvers/runs.ts' },
        expect.objectContaining({ rule: 'no-circular', from: 'src/engine/patches/planted-a.ts', to: 'src/engine/patches/planted-b.ts' }),
        { rule: 'engine-folder-in-order', from: 'src/engine/misc/planted.ts', to: 'src/engine/core/errors.ts' },
      ]),
    );
    // Only the planted files break a rule.
    expect(found.filter((v) => !v.from.includes('planted'))).toEqual([]);
  });
});

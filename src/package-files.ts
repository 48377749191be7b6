import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's folder (where package.json is). Modules run from src/ (tsx) or from dist/src/ (compiled), one level
 * deeper, so files the gateway reads at run time (schema-json/, schema.released.graphql) are found from here,
 * never by a path relative to the module.
 */
function findPackageRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

const PACKAGE_ROOT = findPackageRoot();

/** A path inside the package, e.g. packageFile('schema-json/'). */
export const packageFile = (relative: string): string => join(PACKAGE_ROOT, relative);

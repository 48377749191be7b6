// Whether dist/ (`npm run build`) was compiled from the sources as they are now. The build records
// the newest modification time of its inputs; a source saved since then makes dist/ stale.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const STAMP = join(ROOT, 'dist', '.build-stamp.json');
/** What tsconfig.build.json compiles, and how. */
const INPUTS = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time (ms) of the build's inputs; a deployment that ships dist/ without them has none. */
export function newestSourceMs() {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const input of INPUTS) if (existsSync(join(ROOT, input))) visit(join(ROOT, input));
  return newest;
}

export function distIsFresh() {
  try {
    return newestSourceMs() <= JSON.parse(readFileSync(STAMP, 'utf8')).sourcesMs;
  } catch {
    // No stamp (never built, or the last build failed).
    return false;
  }
}

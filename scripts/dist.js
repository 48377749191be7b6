// Whether each part of dist/ (`npm run build`) was built from its sources as they are now. A build records the
// newest modification time of its inputs; a source saved since then makes that part stale.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The parts of the build: what each is made from (`ignore`: files inside the inputs that are not), and its stamp. */
export const BUILDS = {
  /** tsc (tsconfig.build.json): the gateway and its migrations in dist/src and dist/migrations, and the contracts' validators generated from schema-json/. */
  gateway: {
    inputs: ['src', 'migrations', 'schema-json', 'tsconfig.json', 'tsconfig.build.json'],
    // Written by the build and the type check (gql.tada), from schema.graphql: not a source.
    ignore: [join(ROOT, 'src', 'worker', 'graphql-env.d.ts')],
    stamp: join(ROOT, 'dist', '.build-stamp.json'),
  },
  /** Vite (console/vite.config.ts): the console in dist/console. Its graphql-env.d.ts is written by the type check, and types are not built. */
  console: { inputs: ['console'], ignore: [join(ROOT, 'console', 'src', 'graphql-env.d.ts')], stamp: join(ROOT, 'dist', 'console', '.build-stamp.json') },
};

/** The newest modification time (ms) of a build's inputs; a deployment that ships dist/ without them has none. */
export function newestSourceMs(build = BUILDS.gateway) {
  let newest = 0;
  const visit = (path) => {
    if (build.ignore.includes(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  for (const input of build.inputs) if (existsSync(join(ROOT, input))) visit(join(ROOT, input));
  return newest;
}

export function distIsFresh(build = BUILDS.gateway) {
  try {
    return newestSourceMs(build) <= JSON.parse(readFileSync(build.stamp, 'utf8')).sourcesMs;
  } catch {
    // No stamp (never built, or the last build failed).
    return false;
  }
}

#!/usr/bin/env node
// `npm run build`: compiles src/ and migrations/ to dist/ with tsc (tsconfig.build.json), bundles the CLI and the
// gateway into dist/src/cli/main.js (esbuild) and generates the contracts' validators beside it from schema-json/ (so
// that the gateway neither resolves and reads hundreds of modules nor compiles the contracts as it starts), and the
// console (console/) to dist/console with Vite, each from scratch so that no output of a deleted source survives, then
// stamps each.
// `--if-stale` (npm start) builds only the parts whose sources changed since; a checkout without console/ has no console to build.
// Parts named on the command line (`gateway`, `console`) are the only ones built: the console's tests build just the console.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { BUILDS, ROOT, distIsFresh, newestSourceMs } from './dist.js';

const ifStale = process.argv.includes('--if-stale');
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
for (const name of named) {
  if (!(name in BUILDS)) {
    console.error(`build: no part named ${name} (parts: ${Object.keys(BUILDS).join(', ')})`);
    process.exit(2);
  }
}
const CONSOLE_OUT = join(ROOT, 'dist', 'console');

/** A dev dependency's script, or exit saying where to build. */
function devTool(name, path) {
  try {
    return createRequire(import.meta.url).resolve(path);
  } catch {
    console.error(`build failed: ${name} (a dev dependency) is not installed; build where \`npm ci\` installed it, then copy dist/ over`);
    process.exit(1);
  }
}

function run(script, args, failure, env = process.env) {
  const { status } = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit', cwd: ROOT, env });
  if (status !== 0) {
    console.error(`build failed: ${failure}`);
    process.exit(1);
  }
}

/** The gzipped size of the console's scripts: the figure that says what a first visit downloads. */
function consoleScriptsGzipKb() {
  const assets = join(CONSOLE_OUT, 'assets');
  const bytes = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + gzipSync(readFileSync(join(assets, name))).length, 0);
  return (bytes / 1024).toFixed(1);
}

/**
 * The CLI with everything it imports in one file, in place of tsc's dist/src/cli/main.js (which `npm start` and the
 * bin run). Not bundled: the SQLite addon; drivers knex and MikroORM name that the gateway never loads; ws's optional
 * native helpers; GraphiQL's 9 MB of files, loaded from the package on the first request for them.
 */
async function bundle() {
  const esbuild = await import(pathToFileURL(devTool('esbuild', 'esbuild')).href);
  const main = join(ROOT, 'dist/src/cli/main.js');
  await esbuild.build({
    entryPoints: [main],
    outfile: main,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    external: [
      'sqlite3',
      'pg-native',
      'pg-query-stream',
      'mysql',
      'mysql2',
      'mariadb',
      'oracledb',
      'tedious',
      'better-sqlite3',
      'libsql',
      'bufferutil',
      'utf-8-validate',
      '@graphql-yoga/render-graphiql',
    ],
    // The CommonJS packages in the bundle call require (node: modules, the addon).
    banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
  });
}

const steps = {
  async gateway() {
    const tsc = devTool('TypeScript', 'typescript/bin/tsc');
    // Everything but the console, which has a build (and a stamp) of its own.
    if (existsSync(join(ROOT, 'dist'))) for (const entry of readdirSync(join(ROOT, 'dist'))) if (entry !== 'console') rmSync(join(ROOT, 'dist', entry), { recursive: true, force: true });
    // The worker's typed documents need their graphql-env.d.ts (generated, not committed) before tsc reads them.
    const gqlTada = join(dirname(createRequire(import.meta.url).resolve('gql.tada/package.json')), 'bin', 'cli.js');
    run(gqlTada, ['generate-output', '-c', join(ROOT, 'src', 'worker', 'tsconfig.json')], "the worker's GraphQL types were not generated from schema.graphql");
    run(tsc, ['-p', join(ROOT, 'tsconfig.build.json')], 'dist/ is incomplete, and uet-gateway runs the TypeScript sources (through tsx) until a build succeeds');
    await bundle();
    // With the compiled registry, so that the generated code is what that registry loads; beside the bundle, where its
    // registry looks for it.
    const { writeGeneratedValidators } = await import(pathToFileURL(join(ROOT, 'dist/src/engine/contracts/registry.js')).href);
    writeGeneratedValidators(join(ROOT, 'dist/src/cli/validators.generated.cjs'));
    return 'dist/';
  },
  console() {
    // Its bin is not among the package's exports: found next to its package.json.
    const vite = join(dirname(devTool('Vite', 'vite/package.json')), 'bin', 'vite.js');
    // Vite empties dist/console first.
    // Always a production build: a build started from the tests (NODE_ENV=test) would otherwise compile JSX for
    // development, with this machine's source paths in the bundle, and `npm start` would then serve it as fresh.
    run(vite, ['build', '--config', join(ROOT, 'console', 'vite.config.ts'), '--logLevel', 'warn'], 'the console is not built (the gateway answers `/` with a page saying so)', {
      ...process.env,
      NODE_ENV: 'production',
    });
    return `dist/console (scripts ${consoleScriptsGzipKb()} KB gzipped)`;
  },
};

for (const [name, build] of Object.entries(BUILDS)) {
  if ((named.length > 0 && !named.includes(name)) || (ifStale && distIsFresh(build))) continue;
  if (!build.inputs.some((input) => existsSync(join(ROOT, input)))) continue;
  // Taken before building: a source saved during the build leaves it stale.
  const sourcesMs = newestSourceMs(build);
  const started = Date.now();
  const built = await steps[name]();
  writeFileSync(build.stamp, JSON.stringify({ sourcesMs }) + '\n');
  console.error(`built ${built} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

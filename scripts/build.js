#!/usr/bin/env node
// `npm run build`: compiles src/ and migrations/ to dist/ with tsc (tsconfig.build.json), from scratch so that no
// output of a deleted source survives, then stamps it. `--if-stale` (npm start) builds only when a source changed since.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, STAMP, distIsFresh, newestSourceMs } from './dist.js';

if (process.argv.includes('--if-stale') && distIsFresh()) process.exit(0);
// Taken before compiling: a source saved during the build leaves dist/ stale.
const sourcesMs = newestSourceMs();
rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('build failed: TypeScript (a dev dependency) is not installed; build where `npm ci` installed it, then copy dist/ over');
  process.exit(1);
}
const started = Date.now();
const { status } = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (status !== 0) {
  console.error('build failed: dist/ is incomplete, and uet-gateway runs the TypeScript sources (through tsx) until a build succeeds');
  process.exit(1);
}
writeFileSync(STAMP, JSON.stringify({ sourcesMs }) + '\n');
console.error(`built dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);

#!/usr/bin/env node
// The package's command. It runs the compiled CLI (dist/, `npm run build`) when dist/ was built from the sources as
// they are now: plain JavaScript, no compiler loaded. Otherwise (never built, or a source changed since) it runs the
// TypeScript sources through tsx, so a checkout being edited, and its tests, never run a stale build.
import { distIsFresh } from '../scripts/dist.js';

if (distIsFresh()) {
  await import('../dist/src/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}

// The console's build (`npm run build` runs it through scripts/build.js): hashed files in dist/console/, which the gateway serves at `/`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Preact's automatic JSX runtime, without a plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // Every file is served by the gateway with a strict CSP: nothing inlined as a data: URL script.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  // The gateway answers the API at the same origin; `vite` dev mode forwards to one on :4000.
  server: { proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } } },
});

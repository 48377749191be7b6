/**
 * The gateway of gateway.ts (imported as is: the same app, database and
 * settings), plus a stdin command for memory measurements:
 *
 *   {"cmd": "gc"}  runs a full garbage collection (a few passes) and answers
 *                  {"rss", "heapUsed", "heapTotal", "external", "arrayBuffers"} in bytes
 *   {"cmd": "snapshot", "path": "..."}  writes a V8 heap snapshot there (for
 *                  finding what a subscription holds); answers {"path"}
 *
 * gc is exposed at run time (v8 flag + a fresh context), so the child needs
 * no --expose-gc on its command line.
 */
import { createInterface } from 'node:readline';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

await import('./gateway.js');

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

createInterface({ input: process.stdin }).on('line', (line) => {
  void (async () => {
    const command = JSON.parse(line) as { cmd?: string; path?: string };
    if (command.cmd === 'snapshot' && command.path) {
      console.log(JSON.stringify({ path: writeHeapSnapshot(command.path) }));
      return;
    }
    if (command.cmd !== 'gc') {
      console.log(JSON.stringify({ error: `unknown command ${String(command.cmd)}` }));
      return;
    }
    // Several passes: weak references and finalizers free more on the next.
    for (let i = 0; i < 4; i++) {
      gc();
      await settle();
    }
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
    console.log(JSON.stringify({ rss, heapUsed, heapTotal, external, arrayBuffers }));
  })();
});

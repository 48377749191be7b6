import { existsSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, until } from '../helpers/wait.js';
import { setTools, startWorker, stepLogText, stepsOf, submitTasks, taskReaches, workerScratch, workerToken } from '../helpers/worker.js';

/** A TCP proxy in front of the gateway whose connections the test cuts, and which refuses new ones while down. */
async function startProxy(target: URL) {
  const sockets = new Set<Socket>();
  let down = false;
  let accepted = 0;
  const server: Server = createServer((client) => {
    if (down) return client.destroy();
    accepted += 1;
    const upstream = connect(Number(target.port), target.hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    accepted: () => accepted,
    /** Cuts every connection and refuses new ones until up(). */
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      down = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// 400 numbered lines over about 4 s, so that the connection drops while the tool writes.
const STEADY = `
for (let i = 0; i < 400; i++) {
  process.stdout.write('line ' + i + '\\n');
  if (i % 50 === 0) process.stderr.write('progress ' + i + '\\n');
  await new Promise((r) => setTimeout(r, 10));
}
`;

/** 12 MiB of numbered 64-byte lines once <dir>/go exists; it exits once <dir>/finish does. */
function flood(dir: string) {
  return `
import { existsSync, writeFileSync } from 'node:fs';
const dir = ${JSON.stringify(dir)};
const wait = async (file) => { while (!existsSync(dir + '/' + file)) await new Promise((r) => setTimeout(r, 20)); };
const write = (text) => new Promise((r) => process.stdout.write(text, r));
await write('ready\\n');
await wait('go');
for (let block = 0; block < 12; block++) {
  let text = '';
  for (let i = block * 16384; i < (block + 1) * 16384; i++) text += String(i).padStart(9, '0') + ' ' + 'y'.repeat(53) + '\\n';
  await write(text);
}
writeFileSync(dir + '/written', '');
await wait('finish');
`;
}

const FLOOD_LINES = 12 * 16384;

// Each test spawns the CLI (through tsx when dist/ is stale) and real tools: generous under load.
describe('uet-gateway worker: the connection drops while a tool runs', { timeout: 120_000 }, () => {
  let server: TestServer;
  const scratch = workerScratch();

  beforeAll(async () => {
    // Room for the whole flood in the gateway's log: what is cut below is the worker's doing.
    server = await startTestServer({ limits: { stepLogMaxBytes: 64 * 1024 * 1024 } });
    await setTools(server, { steady: { command: scratch.tool('steady', STEADY) }, flood: { command: scratch.tool('flood', flood(scratch.dir)) } });
  });
  afterAll(async () => {
    await server?.stop();
    scratch.remove();
  });

  /** The run's first step, once some of its log is stored. */
  async function stepWithLog(runId: string): Promise<string> {
    let stepId: string | undefined;
    const deadline = Date.now() + 60_000;
    while (!(stepId && (await stepLogText(server, stepId)).size > 0)) {
      if (Date.now() > deadline) throw new Error('no log stored within 60 s');
      stepId = (await stepsOf(server, runId))[0]?.id;
      await sleep(20);
    }
    return stepId;
  }

  it('keeps the tool running, reconnects, and resends the log by offset: no gap, no duplicate', async () => {
    const proxy = await startProxy(new URL(server.url));
    const worker = startWorker(proxy.url, await workerToken(server), ['--tools', 'steady', '--workdir', scratch.dir]);
    try {
      await worker.line(/registered/);
      const { runId, taskIds } = await submitTasks(server, ['steady']);
      await taskReaches(server, taskIds[0]!, ['RUNNING']);
      // Some output is stored before the cut.
      const stepId = await stepWithLog(runId);
      const before = proxy.accepted();
      proxy.cut();
      await worker.line(/lost the connection to the gateway/);
      // Down for a while: the tool keeps writing, the worker keeps its output.
      await sleep(1_000);
      proxy.up();
      await worker.line(/connection to the gateway is back/);
      expect(proxy.accepted()).toBeGreaterThan(before);

      const task = await taskReaches(server, taskIds[0]!, ['COMPLETED', 'FAILED']);
      expect(task.state).toBe('COMPLETED');
      const log = await stepLogText(server, stepId);
      const lines = log.text.split('\n').filter((line) => line.startsWith('line '));
      expect(lines).toEqual(Array.from({ length: 400 }, (_, i) => `line ${i}`));
      expect(log.text.split('\n').filter((line) => line.startsWith('progress ')).length).toBe(8);
      expect(log.size).toBe(Buffer.byteLength(log.text));
      expect(log.text).not.toContain('uet-worker:');
    } finally {
      worker.interrupt();
      await worker.exited;
      await proxy.close();
    }
  });

  it('keeps at most 8 MiB of output while the gateway is unreachable: the oldest and newest halves, and one marker line for the gap', async () => {
    const proxy = await startProxy(new URL(server.url));
    const worker = startWorker(proxy.url, await workerToken(server), ['--tools', 'flood', '--workdir', join(scratch.dir, 'work')]);
    try {
      await worker.line(/registered/);
      const { runId, taskIds } = await submitTasks(server, ['flood']);
      const stepId = await stepWithLog(runId);
      proxy.cut();
      await worker.line(/lost the connection to the gateway/);
      writeFileSync(join(scratch.dir, 'go'), '');
      await until(() => existsSync(join(scratch.dir, 'written')), 'the flood to be written', 60_000);
      // The worker reads the last of the pipe.
      await sleep(500);
      proxy.up();
      await worker.line(/connection to the gateway is back/);
      writeFileSync(join(scratch.dir, 'finish'), '');
      expect((await taskReaches(server, taskIds[0]!, ['COMPLETED', 'FAILED'], 60_000)).state).toBe('COMPLETED');

      const log = await stepLogText(server, stepId);
      const markers = [...log.text.matchAll(/\[uet-worker: (\d+) bytes of output dropped while the gateway was unreachable\]\n/g)];
      expect(markers).toHaveLength(1);
      const [marker] = markers;
      const head = log.text.slice(0, marker!.index).split('\n').slice(0, -1);
      const tail = log.text
        .slice(marker!.index! + marker![0].length)
        .split('\n')
        .slice(0, -1);
      expect(head[0]).toBe('ready');
      const numbers = (lines: string[]) => lines.map((line) => Number(line.slice(0, 9)));
      const first = numbers(head.slice(1));
      const last = numbers(tail);
      // Whole lines in order on both sides (the cut falls between lines: they are 64 bytes, the halves a multiple of that).
      expect(first).toEqual(Array.from({ length: first.length }, (_, i) => i));
      expect(last).toEqual(Array.from({ length: last.length }, (_, i) => FLOOD_LINES - last.length + i));
      expect(Number(marker![1])).toBe((FLOOD_LINES - first.length - last.length) * 64);
      expect(first.length * 64).toBeGreaterThanOrEqual(4 * 1024 * 1024 - 64 * 1024);
      expect(last.length * 64).toBeLessThanOrEqual(4 * 1024 * 1024);
      expect(log.size).toBe(Buffer.byteLength(log.text));
    } finally {
      worker.interrupt();
      await worker.exited;
      await proxy.close();
    }
  });
});

import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';
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

describe('uet-gateway worker: the connection drops while a tool runs', () => {
  let server: TestServer;
  const scratch = workerScratch();

  beforeAll(async () => {
    server = await startTestServer();
    await setTools(server, { steady: { command: scratch.tool('steady', STEADY) } });
  });
  afterAll(async () => {
    await server?.stop();
    scratch.remove();
  });

  it('keeps the tool running, reconnects, and resends the log by offset: no gap, no duplicate', async () => {
    const proxy = await startProxy(new URL(server.url));
    const worker = startWorker(proxy.url, await workerToken(server), ['--tools', 'steady', '--workdir', scratch.dir]);
    try {
      await worker.line(/registered/);
      const { runId, taskIds } = await submitTasks(server, ['steady']);
      await taskReaches(server, taskIds[0]!, ['RUNNING']);
      // Some output is stored before the cut.
      let stepId: string | undefined;
      const deadline = Date.now() + 30_000;
      while (!(stepId && (await stepLogText(server, stepId)).size > 0)) {
        if (Date.now() > deadline) throw new Error('no log stored within 30 s');
        stepId = (await stepsOf(server, runId))[0]?.id;
        await sleep(20);
      }
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
      const log = await stepLogText(server, stepId!);
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
});

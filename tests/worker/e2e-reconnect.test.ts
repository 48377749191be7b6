import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { sleep, until } from '../helpers/wait.js';
import { byStream, contiguous, nodeTool, readStepLog, registeredWorker, type RegisteredWorker, setTools, stopWorker, submitTools, watchRun, workerToken } from '../helpers/worker.js';

// Issue 21: the worker's connection to the gateway is lost while a tool prints; the tool keeps running, the worker
// reconnects and resends from the offsets the gateway has, so the step log has no gap and no duplicate.
let server: TestServer;
let proxy: TcpProxy;
let root: string;
let worker: RegisteredWorker | undefined;

beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
  proxy = await startTcpProxy(Number(new URL(server.url).port));
  root = mkdtempSync(join(tmpdir(), 'uet-e2e-reconnect-'));
  mkdirSync(join(root, 'work'));
});
afterAll(async () => {
  if (worker) await stopWorker(worker);
  await proxy.close();
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

const TICKS = 300;
const expectedTicks = Array.from({ length: TICKS }, (_, i) => `tick ${i + 1} of ${TICKS}\n`).join('');

describe('a lost connection mid-tool', () => {
  it('the worker reconnects through the same address and the log has no gap and no duplicate', { timeout: 180_000 }, async () => {
    onTestFailed(() => console.error(`worker stderr:\n${worker?.output.stderr}`));
    await setTools(server, { ticker: { command: nodeTool('ticker.mjs') } });
    // 300 lines, one every 40 ms: about 12 s of output.
    const { runId, taskIds } = await submitTools(server, 'ws-reconnect', [{ id: 'tick', tool: 'ticker', args: [String(TICKS), '40'] }]);
    const run = watchRun(server.wsClient(), runId);
    worker = await registeredWorker(`http://127.0.0.1:${proxy.port}/graphql`, await workerToken(server, ['WORKER']), ['--workdir', join(root, 'work')]);

    const liveChunks = () => [...run.steps.values()].reduce((n, s) => n + s.chunks.length, 0);
    await until(() => liveChunks() >= 3, 'the first lines of the tool', 60_000);

    // First loss: a cut, and no way back for 1.5 s (the tool prints on meanwhile), then the way is open again.
    const acceptedBefore = proxy.accepted;
    proxy.refusing = true;
    proxy.cut();
    await sleep(1500);
    proxy.refusing = false;
    const afterFirst = liveChunks();
    await until(() => liveChunks() > afterFirst, 'lines again after the first reconnect', 60_000);
    expect(proxy.accepted).toBeGreaterThan(acceptedBefore);

    // Second loss: a cut while appends flow, and an immediate reconnect.
    proxy.cut();
    const afterSecond = liveChunks();
    await until(() => liveChunks() > afterSecond, 'lines again after the second reconnect', 60_000);

    await run.done;
    const task = (await server.ok(`query($id: ID!) { task(id: $id) { state attempts result } }`, { id: taskIds.tick })).task;
    expect(task).toMatchObject({ state: 'COMPLETED', attempts: 1, result: { exit_code: 0 } });

    const [stepId] = [...run.steps.keys()];
    expect(run.steps.size).toBe(1);
    const log = await readStepLog(server, stepId!);
    const text = byStream(log.chunks);
    expect(text.stdout).toBe(expectedTicks);
    expect(text.stderr).toBe('');
    expect(log).toMatchObject({ size: Buffer.byteLength(expectedTicks), cutBytes: 0, complete: true });
    expect(contiguous(log.chunks)).toBe(Buffer.byteLength(expectedTicks));
    // No worker marker either: nothing overflowed, so the log is the tool's bytes only.
    expect(text.stdout).not.toContain('[uet-worker');

    // A subscriber that stayed connected throughout saw the same chunks, each once.
    const live = run.steps.get(stepId!)!;
    await live.done;
    expect(live.chunks).toEqual(log.chunks.map(({ offset, endOffset, stream, text }) => ({ offset, endOffset, stream, text })));
  });
});

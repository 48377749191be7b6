import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { alive, killLeftover, nodeTool, registeredWorker, type RegisteredWorker, setTools, stopWorker, submitTools, workerToken } from '../helpers/worker.js';

// Issue 21: a worker killed with SIGKILL leaves its detached tool running and its task folder on disk. The next worker
// started on the same --workdir kills that tool's process group and removes the folder at startup, and leaves alone
// what a live worker sharing the root is running.
let server: TestServer;
let root: string;
const workers: RegisteredWorker[] = [];
const pidDir = (name: string) => join(root, 'pids', name);
const pidOf = (name: string, which: 'tool' | 'grandchild') => Number(readFileSync(join(pidDir(name), which), 'utf8'));

beforeAll(async () => {
  server = await startTestServer({ limits: { mutationsPerMinute: 0 } });
  root = mkdtempSync(join(tmpdir(), 'uet-leftovers-'));
  mkdirSync(join(root, 'work'));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => stopWorker(w, 5_000)));
  for (const name of ['doomed', 'kept']) for (const which of ['tool', 'grandchild'] as const) if (existsSync(join(pidDir(name), which))) killLeftover(pidOf(name, which));
  await server.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The task folder under `work` whose tool record names this tool pid. */
function folderOfTool(work: string, toolPid: number): string | undefined {
  return readdirSync(work)
    .map((name) => join(work, name))
    .find((folder) => {
      const record = join(folder, '.uet', 'tool.json');
      return existsSync(record) && JSON.parse(readFileSync(record, 'utf8')).toolPid === toolPid;
    });
}

describe.runIf(existsSync('/proc/self/stat'))('a worker started after one killed on the same --workdir', () => {
  it("kills the dead worker's tool group and removes its folders, and leaves a live worker's alone", { timeout: 180_000 }, async () => {
    onTestFailed(() => {
      for (const w of workers) console.error(`worker ${w.id} stderr:\n${w.output.stderr}`);
    });
    const work = join(root, 'work');
    // Two tools of the same silent sleeper, so that each worker takes the task of its own.
    await setTools(server, { doomedSleeper: { command: nodeTool('sleeper.mjs') }, keptSleeper: { command: nodeTool('sleeper.mjs') } });
    const token = await workerToken(server, ['WORKER']);
    await submitTools(server, 'ws-leftovers', [
      { id: 'doomed', tool: 'doomedSleeper', env: { PID_DIR: pidDir('doomed') } },
      { id: 'kept', tool: 'keptSleeper', env: { PID_DIR: pidDir('kept') } },
    ]);
    const doomed = await registeredWorker(server.url, token, ['--workdir', work, '--tools', 'doomedSleeper']);
    workers.push(doomed);
    const kept = await registeredWorker(server.url, token, ['--workdir', work, '--tools', 'keptSleeper']);
    workers.push(kept);

    // Both tools (and their grandchildren) run, each recorded in its folder.
    const started = (name: string) => existsSync(join(pidDir(name), 'tool')) && existsSync(join(pidDir(name), 'grandchild')) && folderOfTool(work, pidOf(name, 'tool')) !== undefined;
    await until(() => started('doomed') && started('kept'), 'both tools to start and be recorded', 60_000);
    const doomedTool = pidOf('doomed', 'tool');
    const doomedGrandchild = pidOf('doomed', 'grandchild');
    const keptTool = pidOf('kept', 'tool');
    const keptGrandchild = pidOf('kept', 'grandchild');
    const doomedFolder = folderOfTool(work, doomedTool)!;
    const keptFolder = folderOfTool(work, keptTool)!;
    const record = JSON.parse(readFileSync(join(doomedFolder, '.uet', 'tool.json'), 'utf8'));
    expect(record).toMatchObject({ toolPid: doomedTool });
    // The folder's name says whose it is: the worker's pid and start time.
    const mark = new RegExp(`-(w${doomed.pid}\\.\\d+)-[A-Za-z0-9]+$`).exec(basename(doomedFolder))?.[1];
    expect(mark).toBeDefined();

    doomed.kill('SIGKILL');
    await doomed.exited;
    // Nothing stopped the silent tool: it and its folder outlive the worker.
    expect([alive(doomedTool), alive(doomedGrandchild), existsSync(doomedFolder)]).toEqual([true, true, true]);
    // A folder the dead worker made before its tool started (no record): named with its pid and start time.
    const unrecorded = join(work, `task-t2-${mark}-AbC123`);
    mkdirSync(join(unrecorded, '.uet'), { recursive: true });

    const newcomer = await registeredWorker(server.url, token, ['--workdir', work, '--tools', 'none-of-these']);
    workers.push(newcomer);
    // It cleaned up before it registered.
    expect(newcomer.output.stderr).toContain(`cleaned up after a worker that died: killed tool group ${doomedTool}, removed folder ${doomedFolder}`);
    expect(newcomer.output.stderr).toContain(`cleaned up after a worker that died: removed folder ${unrecorded}`);
    expect([existsSync(doomedFolder), existsSync(unrecorded)]).toEqual([false, false]);
    // The tool and its grandchild (the same group) die of the SIGKILL.
    await until(() => !alive(doomedTool) && !alive(doomedGrandchild), 'the dead worker’s tool group to die', 30_000);

    // The live worker's tool, grandchild and folder are untouched, and it still runs its task.
    expect([alive(keptTool), alive(keptGrandchild), existsSync(keptFolder)]).toEqual([true, true, true]);
    expect(newcomer.output.stderr).not.toContain(keptFolder);
    expect(kept.output.stderr).not.toMatch(/task \S+ (done|failed|stopped)/);
  });
});

/**
 * Worker logs (issue 21): a tool's output on its way from the tool's stdout through a real worker
 * (`uet-gateway worker`, a process of its own) and the gateway to a stepLogAppended subscriber, and what a fleet
 * running 100 tools at once holds in memory.
 *
 * throughput  tests/fixtures/tools/lines.mjs prints LINES lines (~56 bytes each, multi-byte UTF-8; every 97th also
 *             to stderr) as a workstream task run by one worker. A graphql-ws subscriber follows the step's log
 *             (stepLogAppended from offset 0) until it holds every byte. Two figures, in lines/s:
 *               start -> last byte   from the step's start (startedAt) to the last chunk's arrival;
 *               first -> last byte   from the first chunk's storing (its `at`) to the last chunk's arrival.
 *             Baseline in the same round: `node lines.mjs LINES | node <reader>` through an OS pipe (stderr to
 *             /dev/null), timed the same two ways: from spawn, and from the reader's first byte, to its last.
 * memory      WORKERS workers x SLOTS slots, each with a token of its own, take WORKERS x SLOTS ticker tools
 *             (tests/fixtures/tools/ticker.mjs: a line every 100 ms for TICK_SECONDS) at once. RSS of the gateway and
 *             of each worker (its tools not counted) is sampled every 250 ms; the figure is the peak while the tools
 *             run. Baseline: the same processes idle just before (registered, nothing to run).
 *
 * The gateway is bench/servers/gateway.ts (rate limits off: serve-gateway.ts) on the server core; the workers, their
 * tools and the raw pipe inherit the load core, as the load generator does. The worker runs the compiled CLI when
 * dist/ is fresh (built first, as footprint does; a failed build is noted and the sources run through tsx).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Benchmark } from '../lib/benchmark.js';
import { gatewayCall, sleep, socketUrl } from '../lib/fanout.js';
import { startServerProcess, type ServerProcess } from '../lib/processes.js';
import { figure, type BenchmarkReport } from '../lib/report.js';
import { spread } from '../lib/stats.js';
import { connect, type WsConnection } from '../lib/ws-client.js';
import { BENCH_ADMIN_TOKEN } from '../servers/token.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/uet-gateway.js');
const TOOLS = join(ROOT, 'tests/fixtures/tools');
const AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
const SAMPLE_MS = 250;

const SIZES = {
  quick: { lines: 10_000, workers: 2, slots: 5, tickSeconds: 2 },
  full: { lines: 100_000, workers: 4, slots: 25, tickSeconds: 20 },
};

/** Reads stdin to its end; prints {lines, bytes, firstToLastMs}. */
const READER = `let lines = 0, bytes = 0, first = 0;
process.stdin.on('data', (c) => { if (!first) first = performance.now(); bytes += c.length; for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++; });
process.stdin.on('end', () => console.log(JSON.stringify({ lines, bytes, firstToLastMs: performance.now() - first })));`;

const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

interface Pass {
  startToLastMs: number;
  firstToLastMs: number;
}

/** The tool piped into a reader process by the OS, timed from spawn and from the reader's first byte. */
async function rawPipe(lines: number, expectedBytes: number): Promise<Pass> {
  const began = performance.now();
  const shell = `${quote(process.execPath)} ${quote(join(TOOLS, 'lines.mjs'))} ${lines} 2>/dev/null | ${quote(process.execPath)} -e ${quote(READER)}`;
  const child = spawn('sh', ['-c', shell], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  const startToLastMs = performance.now() - began;
  const read = JSON.parse(out) as { lines: number; bytes: number; firstToLastMs: number };
  if (read.lines !== lines || read.bytes !== expectedBytes) throw new Error(`the raw pipe read ${read.lines} lines, ${read.bytes} bytes`);
  return { startToLastMs, firstToLastMs: read.firstToLastMs };
}

interface Worker {
  child: ChildProcess;
  id: string;
  stop(): Promise<void>;
}

/** `uet-gateway worker` with a token of its own; resolves once it says it registered. */
async function startWorker(url: string, name: string, slots: number, workdir: string): Promise<Worker> {
  const { createApiToken } = await gatewayCall<any>(url, `mutation($n: String!) { createApiToken(input: {name: $n, scopes: [WORKER]}) { token } }`, { n: name });
  mkdirSync(workdir, { recursive: true });
  const child = spawn(process.execPath, [BIN, 'worker', '--url', url, '--token', createApiToken.token, '--slots', String(slots), '--workdir', workdir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const id = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr += `${line}\n`;
      const registered = /worker (\S+) registered/.exec(line);
      if (registered) resolve(registered[1]!);
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code} before it registered:\n${stderr}`)));
  });
  return {
    child,
    id,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const rssMbOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

let workstreams = 0;
/** Submits a workstream of `count` tasks of `tool` with these args; returns its run id. */
async function submit(url: string, tool: string, count: number, args: string[]): Promise<string> {
  const task = (i: number) => ({
    task_id: `t${i}`,
    name: `${tool} ${i}`,
    kind: tool,
    depends_on: [],
    execution: { max_attempts: 1, timeout_seconds: 3600, retry_strategy: 'none', background: false },
    inputs: { args, env: {} },
  });
  const spec = {
    workstream_id: `bench-${tool}-${++workstreams}-${Date.now()}`,
    project_id: 'bench-worker-logs',
    phase_id: 'bench',
    name: `${count} x ${tool}`,
    objective: 'bench',
    concurrency: { max_parallel: count },
    tasks: Array.from({ length: count }, (_, i) => task(i)),
  };
  const data = await gatewayCall<any>(url, `mutation($s: JSON!) { submitWorkstream(input: {spec: $s}) { workstream { run { id } } } }`, { s: spec });
  return data.submitWorkstream.workstream.run.id;
}

/** Resolves when runEvents(runId:) completes: the run has ended. Counts steps running at once on the way. */
function followRun(ws: WsConnection, runId: string): { ended: Promise<void>; running(): number; peakRunning(): number } {
  let running = 0;
  let peak = 0;
  const ended = new Promise<void>((resolve, reject) => {
    ws.subscribe(
      `subscription($r: ID) { runEvents(runId: $r, kinds: [TOOL_CALL_STARTED, TOOL_CALL_COMPLETED, TOOL_CALL_ERROR, RUN_STATE_CHANGED]) { kind payload } }`,
      { r: runId },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return reject(new Error(errors.map((e) => e.message).join('; ')));
          const event = data.runEvents;
          if (event.kind === 'TOOL_CALL_STARTED') peak = Math.max(peak, ++running);
          else if (event.kind !== 'RUN_STATE_CHANGED') running--;
          else if (event.payload.to !== 'succeeded') reject(new Error(`run ${runId} ended ${event.payload.to}: ${JSON.stringify(event.payload)}`));
        },
        error: (errors) => reject(new Error(errors.map((e) => e.message).join('; '))),
        complete: resolve,
      },
    );
  });
  return { ended, running: () => running, peakRunning: () => peak };
}

/** Polls until the run's first step exists; returns it. */
async function firstStep(url: string, runId: string): Promise<{ id: string; startedAt: string }> {
  for (;;) {
    const data = await gatewayCall<any>(url, `query($id: ID!) { run(id: $id) { steps(first: 1) { edges { node { id startedAt } } } } }`, { id: runId });
    const step = data.run.steps.edges[0]?.node;
    if (step) return step;
    await sleep(10);
  }
}

/** One throughput pass through the worker: submit, follow the step's log to its last byte. */
async function throughWorker(url: string, ws: WsConnection, lines: number, expectedBytes: number): Promise<Pass> {
  const runId = await submit(url, 'lines', 1, [String(lines)]);
  const step = await firstStep(url, runId);
  let bytes = 0;
  let firstAt = 0;
  let lastArrival = 0;
  await new Promise<void>((resolve, reject) => {
    ws.subscribe(
      `subscription($s: ID!) { stepLogAppended(stepId: $s, after: 0) { offset endOffset at } }`,
      { s: step.id },
      {
        next: ({ data, errors }) => {
          if (errors?.length) return reject(new Error(errors.map((e) => e.message).join('; ')));
          const chunk = data.stepLogAppended;
          if (chunk.offset === 0) firstAt = Date.parse(chunk.at);
          bytes = chunk.endOffset;
          lastArrival = Date.now();
        },
        error: (errors) => reject(new Error(errors.map((e) => e.message).join('; '))),
        complete: resolve,
      },
    );
  });
  if (bytes !== expectedBytes) throw new Error(`the subscriber got ${bytes} bytes of ${expectedBytes}`);
  return { startToLastMs: lastArrival - Date.parse(step.startedAt), firstToLastMs: lastArrival - firstAt };
}

interface Memory {
  gatewayIdleMb: number;
  gatewayPeakMb: number;
  workerIdleMb: number;
  workerPeakMb: number;
  peakRunning: number;
}

/** 100 (quick: 10) ticker tools at once over the fleet; RSS sampled while they run. */
async function fleetMemory(url: string, ws: WsConnection, gateway: ServerProcess, fleet: Worker[], tools: number, tickSeconds: number): Promise<Memory> {
  await sleep(2_000);
  const gatewayIdleMb = gateway.rssBytes() / 2 ** 20;
  const workerIdle = fleet.map((w) => rssMbOf(w.child.pid!));
  const runId = await submit(url, 'ticker', tools, [String(tickSeconds * 10), '100']);
  const run = followRun(ws, runId);
  let gatewayPeakMb = gatewayIdleMb;
  const workerPeak = [...workerIdle];
  let done = false;
  void run.ended.then(() => (done = true));
  while (!done) {
    gatewayPeakMb = Math.max(gatewayPeakMb, gateway.rssBytes() / 2 ** 20);
    fleet.forEach((w, i) => (workerPeak[i] = Math.max(workerPeak[i]!, rssMbOf(w.child.pid!))));
    await Promise.race([sleep(SAMPLE_MS), run.ended]);
  }
  await run.ended;
  return {
    gatewayIdleMb,
    gatewayPeakMb,
    workerIdleMb: spread(workerIdle).median,
    workerPeakMb: Math.max(...workerPeak),
    peakRunning: run.peakRunning(),
  };
}

const bench: Benchmark = {
  name: 'worker-logs',
  title: 'Worker logs: tool stdout to a stepLogAppended subscriber through a real worker, and a fleet of 100 tools in memory',
  async run({ mode, rounds, dir, log }): Promise<BenchmarkReport> {
    const size = SIZES[mode];
    const notes: string[] = [];
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--if-stale', 'gateway'], { cwd: ROOT, encoding: 'utf8' });
    // bin/uet-gateway.js runs the sources through tsx when dist/ is not fresh: the figures then include tsx's loader.
    if (build.status !== 0) notes.push(`the build failed (${build.stderr.trim().split('\n')[0]}): the workers ran from the TypeScript sources through tsx`);
    const expected = spawnSync(process.execPath, [join(TOOLS, 'lines.mjs'), String(size.lines)], { maxBuffer: 256 << 20 });
    const stdoutBytes = expected.stdout.length;
    const logBytes = stdoutBytes + expected.stderr.length;

    const gateway = await startServerProcess('gateway.ts', { BENCH_DB: join(dir, 'worker-logs.sqlite') });
    const url = gateway.info.url as string;
    const ws = await connect(socketUrl(gateway), AUTH);
    const tool = (file: string) => `${quote(process.execPath)} ${quote(join(TOOLS, file))}`;
    // A task of kind <tool> is routed to that tool (by capability).
    const app = (kind: string, file: string) => ({ command: tool(file), capabilities: { task_kinds: [kind], domains: [] }, limits: { max_parallel: 1000, timeout_seconds: 3600 } });
    const config = {
      version: 1,
      apps: { lines: app('lines', 'lines.mjs'), ticker: app('ticker', 'ticker.mjs') },
      routing: { rules: [] },
      defaults: { max_attempts: 1, timeout_seconds: 3600, strategy: 'fixed' },
    };
    await gatewayCall(url, `mutation($c: JSON!) { setRouterConfig(input: {config: $c}) { routerConfig { version } } }`, { c: config });

    const fleet: Worker[] = [];
    try {
      for (let i = 0; i < size.workers; i++) fleet.push(await startWorker(url, `bench-worker-${i}`, size.slots, join(dir, `work-${i}`)));
      const raw: Pass[] = [];
      const worker: Pass[] = [];
      const memory: Memory[] = [];
      for (let round = 0; round < rounds; round++) {
        raw.push(await rawPipe(size.lines, stdoutBytes));
        worker.push(await throughWorker(url, ws, size.lines, logBytes));
        memory.push(await fleetMemory(url, ws, gateway, fleet, size.workers * size.slots, size.tickSeconds));
        const [r, w, m] = [raw.at(-1)!, worker.at(-1)!, memory.at(-1)!];
        log(
          `round ${round + 1}: raw pipe ${Math.round(r.startToLastMs)} ms (first byte to last ${Math.round(r.firstToLastMs)} ms), through the worker ${Math.round(w.startToLastMs)} ms (${Math.round(w.firstToLastMs)} ms); ` +
            `${m.peakRunning} tools at once: gateway RSS ${Math.round(m.gatewayIdleMb)} -> ${Math.round(m.gatewayPeakMb)} MB, worker ${Math.round(m.workerIdleMb)} -> ${Math.round(m.workerPeakMb)} MB`,
        );
      }
      const rate = (passes: Pass[], key: keyof Pass) => passes.map((p) => size.lines / (p[key] / 1000));
      const rawStart = { name: 'raw pipe: start -> last byte', values: rate(raw, 'startToLastMs') };
      const rawFirst = { name: 'raw pipe: first -> last byte', values: rate(raw, 'firstToLastMs') };
      const of = (key: keyof Memory) => memory.map((m) => m[key]);
      const tools = size.workers * size.slots;
      return {
        name: 'worker-logs',
        title: this.title,
        rounds,
        figures: [
          figure('through worker + gateway: start -> last byte', 'lines/s', rate(worker, 'startToLastMs'), rawStart),
          figure('through worker + gateway: first -> last byte', 'lines/s', rate(worker, 'firstToLastMs'), rawFirst),
          figure(rawStart.name, 'lines/s', rawStart.values),
          figure(rawFirst.name, 'lines/s', rawFirst.values),
          figure(`gateway RSS, peak with ${tools} tools running`, 'MB', of('gatewayPeakMb'), { name: 'gateway RSS idle', values: of('gatewayIdleMb') }),
          figure('gateway RSS idle', 'MB', of('gatewayIdleMb')),
          figure(`worker RSS, peak (the largest of ${size.workers}, ${size.slots} tools each)`, 'MB', of('workerPeakMb'), { name: 'worker RSS idle', values: of('workerIdleMb') }),
          figure('worker RSS idle (median of the workers)', 'MB', of('workerIdleMb')),
          figure('tools running at once (peak)', 'tools', of('peakRunning')),
        ],
        goals: [],
        notes: [
          ...notes,
          `${size.lines.toLocaleString('en-US')} lines, ${stdoutBytes.toLocaleString('en-US')} bytes on stdout and ${expected.stderr.length.toLocaleString('en-US')} on stderr per pass; the raw pipe discards stderr.`,
          `memory: ${size.workers} workers x ${size.slots} slots (one token each), ${tools} ticker tools printing a line every 100 ms for ${size.tickSeconds} s; rate limits off in the bench gateway (serve-gateway.ts), so appends are not throttled.`,
          'Worker RSS is the worker process alone (its tools are processes of their own).',
        ],
      };
    } finally {
      await Promise.all(fleet.map((w) => w.stop()));
      await ws.close();
      await gateway.stop();
    }
  },
};

export default bench;

/**
 * Idle footprint (issue 20): how long the compiled gateway takes from its
 * process starting to serving, and how much memory it holds once idle.
 *
 * Each round starts `node dist/src/cli/main.js serve` (what `npm start` runs;
 * the gateway is compiled first when a source changed) on a new SQLite file,
 * PORT=0, with JSON logs, and times from spawn to:
 *   ready    its "listening" log line;
 *   served   the first answer of /health (the first request it serves).
 * It also reads the CPU time (user + system) the process spent until ready,
 * the figure that holds on a loaded machine where wall time does not.
 * Then it leaves the gateway idle for IDLE_MS and reads its RSS from /proc.
 * The first start also creates the file and applies every migration; the
 * second start in the same round opens the migrated file (a restart).
 *
 * Baseline in the same rounds: a bare node:http process answering /health,
 * spawned and measured the same way: the floor of any Node server here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Benchmark } from '../lib/benchmark.js';
import { figure, type BenchmarkReport } from '../lib/report.js';
import { spread } from '../lib/stats.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const IDLE_MS = 3_000;
const RSS_GOAL_MB = 120;
const START_GOAL_MS = 1_000;
const BARE_SERVER = `require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(JSON.stringify({ url: 'http://127.0.0.1:' + this.address().port })); });`;

interface Started {
  readyMs: number;
  readyCpuMs: number;
  servedMs: number;
  rssMb: number;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const TICK_MS = 10;
/** CPU time (user + system) a process has used, from /proc/<pid>/stat (fields 14 and 15, after the command's parenthesis). */
const cpuMsOf = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
};
const rssMbOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Spawns a server that prints a JSON line with its url when listening; times it, idles it, reads its RSS, stops it. */
async function measure(args: string[], env: Record<string, string>): Promise<Started> {
  const began = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      // The gateway logs to stderr, the bare server prints to stdout.
      for (const input of [child.stdout, child.stderr]) {
        createInterface({ input }).on('line', (line) => {
          const url = /"url":"([^"]+)"/.exec(line)?.[1];
          if (url) resolve(url.replace(/\/graphql$/, ''));
        });
      }
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)));
    });
    const readyMs = performance.now() - began;
    const readyCpuMs = cpuMsOf(child.pid!);
    const health = await fetch(`${url}/health`);
    await health.arrayBuffer();
    const servedMs = performance.now() - began;
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    return { readyMs, readyCpuMs, servedMs, rssMb: rssMbOf(child.pid!) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

const bench: Benchmark = {
  name: 'footprint',
  title: 'Idle footprint: start to ready, and RSS when idle (compiled, SQLite)',
  async run({ rounds, dir, log }): Promise<BenchmarkReport> {
    const build = spawnSync(process.execPath, [join(ROOT, 'scripts/build.js'), '--if-stale', 'gateway'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`building the gateway failed:\n${build.stderr}`);
    const gateway = [join(ROOT, 'dist/src/cli/main.js'), 'serve'];
    const first: Started[] = [];
    const restart: Started[] = [];
    const bare: Started[] = [];
    for (let round = 0; round < rounds; round++) {
      const env = { DATABASE_URL: `sqlite:${join(dir, `footprint-${round}.sqlite`)}`, PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', UET_ADMIN_TOKEN: 'bench-footprint-secret-0123456789' };
      first.push(await measure(gateway, env));
      restart.push(await measure(gateway, env));
      bare.push(await measure(['-e', BARE_SERVER], {}));
      log(
        `round ${round + 1}: first start ready ${Math.round(first.at(-1)!.readyMs)} ms, restart ${Math.round(restart.at(-1)!.readyMs)} ms (CPU ${restart.at(-1)!.readyCpuMs} ms), bare node:http ${Math.round(bare.at(-1)!.readyMs)} ms; idle RSS ${Math.round(restart.at(-1)!.rssMb)} MB`,
      );
    }
    const of = (runs: Started[], key: keyof Started) => runs.map((run) => run[key]);
    const bareReady = { name: 'bare node:http ready', values: of(bare, 'readyMs') };
    const bareRss = { name: 'bare node:http idle RSS', values: of(bare, 'rssMb') };
    const restartReady = spread(of(restart, 'readyMs')).median;
    const idleRss = spread(of(restart, 'rssMb')).median;
    return {
      name: 'footprint',
      title: this.title,
      rounds,
      figures: [
        figure('first start (migrates a new file): ready', 'ms', of(first, 'readyMs'), bareReady),
        figure('first start: first request served', 'ms', of(first, 'servedMs')),
        figure('restart: ready', 'ms', of(restart, 'readyMs'), bareReady),
        figure('restart: first request served', 'ms', of(restart, 'servedMs')),
        figure('restart: CPU time (user + system) to ready', 'ms', of(restart, 'readyCpuMs'), { name: 'bare node:http CPU to ready', values: of(bare, 'readyCpuMs') }),
        figure('first start: CPU time to ready', 'ms', of(first, 'readyCpuMs')),
        figure('idle RSS after a restart', 'MB', of(restart, 'rssMb'), bareRss),
        figure('idle RSS after the first start', 'MB', of(first, 'rssMb'), bareRss),
        figure('bare node:http ready', 'ms', bareReady.values),
        figure('bare node:http idle RSS', 'MB', bareRss.values),
      ],
      goals: [
        { text: `start to ready under ${START_GOAL_MS} ms on SQLite (restart)`, met: restartReady < START_GOAL_MS, measured: `${Math.round(restartReady)} ms` },
        { text: `idle RSS under ${RSS_GOAL_MB} MB`, met: idleRss < RSS_GOAL_MB, measured: `${Math.round(idleRss)} MB` },
      ],
      notes: [`Idle for ${IDLE_MS / 1000} s after the first request before RSS is read; \`node dist/src/cli/main.js serve\`, as \`npm start\` runs it, without tsx.`],
    };
  },
};

export default bench;

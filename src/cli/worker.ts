import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from '../worker/worker.js';
import { parseCommandArgs, UsageError } from './args.js';

export const WORKER_USAGE = `usage: uet-gateway worker --url URL --token TOKEN [--tools a,b] [--slots 1] [--workdir DIR] [--repo DIR]
    [--heartbeat-seconds 5] [--timeout-seconds 60] [--grace-seconds 10] [--poll-seconds 1]
  A worker that runs the tools of the router configuration on this machine: it registers with the gateway,
  claims tasks, runs each task's tool (the tool's command, without a shell) in a fresh folder, streams its
  output to the step's log and reports its tests, costs and changes (docs/worker.md).
  --url           the gateway's GraphQL endpoint, http://127.0.0.1:$PORT/graphql (PORT defaults to 4000)
  --token         a token with the worker scope (or UET_TOKEN); never passed to a tool
  --tools         the tool ids it runs, comma-separated (default: any)
  --slots         tasks at once (default 1)
  --workdir       where task folders are made (default: a folder under the OS temp dir)
  --repo          a local git repository each task folder is cloned from (default: an empty folder)
  --heartbeat-seconds, --timeout-seconds  its heartbeat interval, and how long without one before the
                  gateway judges it stale and requeues its tasks
  --grace-seconds how long a stopped tool has between SIGTERM and SIGKILL
  --poll-seconds  how often it asks for work when none is queued
  SIGTERM or SIGINT stops it: its tools are stopped, its tasks handed back, and it exits 0.`;

/** `uet-gateway worker`: runs until a signal or the gateway stops it; resolves to the exit code. */
export async function workerCommand(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const say = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
  const worker = new Worker({ ...options, say });
  const onSignal = (signal: NodeJS.Signals) => worker.stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await worker.run();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

/** A whole number within bounds, or a UsageError that says which option and what it got. */
function wholeNumber(name: string, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, WORKER_USAGE);
  return value;
}

function parseOptions(argv: string[]) {
  const { values } = parseCommandArgs(argv, WORKER_USAGE, {
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      tools: { type: 'string' },
      slots: { type: 'string', default: '1' },
      workdir: { type: 'string' },
      repo: { type: 'string' },
      'heartbeat-seconds': { type: 'string', default: '5' },
      'timeout-seconds': { type: 'string', default: '60' },
      'grace-seconds': { type: 'string', default: '10' },
      'poll-seconds': { type: 'string', default: '1' },
    },
  });
  const token = values.token ?? process.env.UET_TOKEN;
  if (!token) throw new UsageError('--token is required (or set UET_TOKEN): a token with the worker scope (`uet-gateway token create --name NAME --scopes worker`)', WORKER_USAGE);
  const port = process.env.PORT || '4000';
  const url = values.url ?? `http://127.0.0.1:${port}/graphql`;
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    throw new UsageError(`${values.url ? '--url' : 'PORT'} must give an http(s) URL such as http://127.0.0.1:4000/graphql, got "${values.url ?? port}"`, WORKER_USAGE);
  }
  const tools = values.tools === undefined ? [] : values.tools.split(',').map((tool) => tool.trim());
  if (tools.some((tool) => tool === '')) throw new UsageError(`--tools must list tool ids separated by commas, got "${values.tools}"`, WORKER_USAGE);
  const heartbeatSeconds = wholeNumber('heartbeat-seconds', values['heartbeat-seconds'], 1, 3_600);
  const timeoutSeconds = wholeNumber('timeout-seconds', values['timeout-seconds'], 1, 86_400);
  if (timeoutSeconds <= heartbeatSeconds)
    throw new UsageError(`--timeout-seconds (${timeoutSeconds}) must be more than --heartbeat-seconds (${heartbeatSeconds}), or the gateway judges the worker stale between two beats`, WORKER_USAGE);
  return {
    url,
    token,
    tools,
    slots: wholeNumber('slots', values.slots, 1, 1_000),
    workdirRoot: resolve(values.workdir ?? join(tmpdir(), 'uet-worker')),
    repo: values.repo === undefined ? null : resolve(values.repo),
    heartbeatSeconds,
    timeoutSeconds,
    graceSeconds: wholeNumber('grace-seconds', values['grace-seconds'], 0, 3_600),
    pollSeconds: wholeNumber('poll-seconds', values['poll-seconds'], 1, 3_600),
  };
}

import { readFileSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What a worker killed with SIGKILL leaves behind on its --workdir root: its
 * tools' process groups (detached, so nothing stops them) and its task
 * folders. A task folder's name says which worker made it
 * (`task-<task>-w<pid>.<starttime>-XXXXXX`), from the moment it exists, and
 * `.uet/tool.json` says which tool runs in it. The next worker started on the
 * root kills and removes what belongs to a worker that is gone. A pid alone
 * could be a new process that reused it: a pid with its start time cannot.
 * This needs /proc (Linux); elsewhere no folder carries a mark and nothing is cleaned.
 */

/** The record of a running tool in its task folder (whose worker it is, the folder's name says). */
interface ToolRecord {
  /** The tool's pid, which is its process group's id (it runs detached). */
  toolPid: number;
  toolStart: number;
}

const RECORD = join('.uet', 'tool.json');
const MARKED = /-w(\d+)\.(\d+)-[A-Za-z0-9]+$/;

/** A process's start time (/proc/<pid>/stat field 22, clock ticks since boot); null when there is no such process, or it is a zombie (dead). */
function startTime(pid: number | 'self'): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ...": comm may hold spaces and parentheses, so the fields are counted after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' ? null : Number(fields[19]);
}

const ownStart = startTime('self');

/** This worker's mark in the names of the task folders it makes (`w<pid>.<starttime>`); '' without /proc. */
export const WORKER_MARK = ownStart === null ? '' : `w${process.pid}.${ownStart}`;

const aliveAs = (pid: number, start: number) => startTime(pid) === start;

/** Records the tool just started in its task folder, so that a worker started after this one died can stop it. */
export async function recordTool(folder: string, toolPid: number): Promise<void> {
  const toolStart = startTime(toolPid);
  // Without /proc, or a tool already gone: nothing to record.
  if (ownStart === null || toolStart === null) return;
  const record: ToolRecord = { toolPid, toolStart };
  await writeFile(join(folder, RECORD), JSON.stringify(record));
}

/** At startup: kills the tools and removes the task folders of workers that died on this root; another live worker's stay untouched. */
export async function cleanUpLeftovers(root: string, say: (line: string) => void): Promise<void> {
  if (ownStart === null) return;
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const owner = name.startsWith('task-') ? MARKED.exec(name) : null;
    // An unmarked folder (made without /proc, or by an older worker): whose it is cannot be told, so it stays.
    if (!owner || aliveAs(Number(owner[1]), Number(owner[2]))) continue;
    const folder = join(root, name);
    const record = await readRecord(folder);
    let killed = '';
    // Only the very process recorded: a pid reused since is never signalled.
    if (record && aliveAs(record.toolPid, record.toolStart)) {
      try {
        process.kill(-record.toolPid, 'SIGKILL');
        killed = `killed tool group ${record.toolPid}, `;
      } catch {
        // Gone meanwhile.
      }
    }
    await rm(folder, { recursive: true, force: true, maxRetries: 3 }).then(
      () => say(`cleaned up after a worker that died: ${killed}removed folder ${folder}`),
      (error: Error) => say(`could not remove ${folder}, left by a worker that died: ${error.message}`),
    );
  }
}

/** The folder's tool record; null when there is none (its worker died before the tool started) or it is not whole. */
async function readRecord(folder: string): Promise<ToolRecord | null> {
  try {
    const record = JSON.parse(await readFile(join(folder, RECORD), 'utf8')) as ToolRecord;
    return Number.isInteger(record.toolPid) && record.toolPid > 0 && Number.isInteger(record.toolStart) ? record : null;
  } catch {
    return null;
  }
}

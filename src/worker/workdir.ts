import { execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { WORKER_MARK } from './leftovers.js';
import { toolEnv } from './tool-env.js';

const run = promisify(execFile);

/** A task's fresh working folder. */
export interface Workdir {
  path: string;
  /** <path>/.uet/junit.xml */
  junitFile: string;
  remove(): Promise<void>;
}

/** What a tool changed in its folder, as one diff the gateway's createPatch accepts. */
export interface WorkdirChanges {
  diffText: string;
  files: string[];
  baseCommit: string | null;
}

/** The worker's own files inside a task folder: never part of the tool's changes. */
const UET_DIR = '.uet';
/** A clone of a large repository, or `git add` of what a runaway tool wrote, must not hold the task forever. */
const GIT_TIMEOUT_MS = 120_000;
/** What git may print besides a diff (errors, a rev, a name list is bounded by the diff): small. */
const GIT_OUTPUT_BYTES = 1_048_576;

/** A fresh folder under root (mkdtemp, named after the task and the worker), cloned from `repo` when given (git clone, no shell), with .uet/ made and excluded from git. */
export async function makeWorkdir(root: string, taskId: string, repo: string | null): Promise<Workdir> {
  await mkdir(root, { recursive: true });
  // The worker's mark in the name: a worker started after this one died knows the folder is its to remove (leftovers.ts).
  const path = await mkdtemp(join(root, `task-${taskId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)}-${WORKER_MARK ? `${WORKER_MARK}-` : ''}`));
  const remove = () => rm(path, { recursive: true, force: true, maxRetries: 3 });
  try {
    // `--` ends the options: a repo path starting with "-" is a path, not a flag.
    if (repo !== null) await git(dirname(path), ['clone', '--quiet', '--', repo, path]);
    await mkdir(join(path, UET_DIR));
    // Ignored from the start, so a tool's own `git status` or `git add -A` leaves the worker's files out too.
    if (repo !== null) await ignoreUetDir(path);
  } catch (error) {
    await remove();
    throw error;
  }
  return { path, junitFile: join(path, UET_DIR, 'junit.xml'), remove };
}

/** What a tool left in a folder that is a git repository (git add -A; diff --cached --binary against HEAD or the empty tree); null when not a repository or nothing changed. Bounded: a diff over maxBytes throws an Error saying so. */
export async function workdirChanges(path: string, maxBytes: number): Promise<WorkdirChanges | null> {
  // Only the folder's own repository: never one around it (a --workdir inside a checkout), which `git add -A` would change.
  if (!(await exists(join(path, '.git')))) return null;
  // Again: a tool may have run `git init` after the folder was made.
  await ignoreUetDir(path);
  await git(path, ['add', '-A']);
  const head = await git(path, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => null);
  const baseCommit = head === null ? null : head.toString('utf8').trim();
  // Without HEAD (a tool's `git init` and no commit), `diff --cached` compares with the empty tree.
  // Fixed options, whatever the repository's config says: the gateway's parser reads git's own format with a/ b/ prefixes.
  const options = ['--cached', '--binary', '-M', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', ...(baseCommit ? [baseCommit] : [])];
  const diff = await git(path, ['diff', ...options], maxBytes).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') throw new Error(`the changes in ${path} make a diff of more than ${maxBytes} bytes, the most a patch may hold: change less in one task`);
    throw error;
  });
  if (diff.length === 0) return null;
  const names = await git(path, ['diff', ...options, '--name-only', '-z'], maxBytes);
  return { diffText: utf8('the diff', diff), files: utf8('the file names', names).split('\0').filter(Boolean), baseCommit };
}

/** .uet/ in the repository's own exclude file (.git/info/exclude), once. */
async function ignoreUetDir(path: string): Promise<void> {
  const gitDir = (await git(path, ['rev-parse', '--absolute-git-dir'])).toString('utf8').trim();
  const file = join(gitDir, 'info', 'exclude');
  const rule = `/${UET_DIR}/`;
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current.split('\n').includes(rule)) return;
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, `${current === '' || current.endsWith('\n') ? '' : '\n'}${rule}\n`);
}

/**
 * git without a shell, in a small environment: the worker's token never reaches
 * hooks or filters a tool may have configured in its folder, and git never looks
 * for a repository above `cwd` nor waits for a password prompt.
 */
async function git(cwd: string, args: string[], maxBytes = GIT_OUTPUT_BYTES): Promise<Buffer> {
  const env = toolEnv(process.env, { args: [], env: {} }, { GIT_CEILING_DIRECTORIES: dirname(cwd), GIT_TERMINAL_PROMPT: '0' });
  // A tool's repository config may name an fsmonitor command or hooks: the worker's own git calls run neither.
  const safe = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null'];
  try {
    const { stdout } = await run('git', [...safe, ...args], { cwd, env, encoding: 'buffer', maxBuffer: maxBytes, timeout: GIT_TIMEOUT_MS, killSignal: 'SIGKILL' });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') throw failure;
    const said = failure.stderr?.toString('utf8').trim();
    throw new Error(`git ${args[0]} failed in ${cwd}${said ? `: ${said.slice(0, 2000)}` : `: ${failure.message}`}`);
  }
}

/** The gateway takes a diff as text: bytes that are not UTF-8 would be changed on the way, and the patch with them. */
function utf8(what: string, bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${what} holds text that is not UTF-8: mark such files binary in .gitattributes so git encodes them`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

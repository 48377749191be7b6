/** What a task adds to its tool's command line and environment (task.payload.inputs, a task_spec's `inputs`). */
export interface TaskInputs {
  args: string[];
  env: Record<string, string>;
}

/**
 * The task_spec contract's bounds of `inputs`, which the gateway checks on
 * workstream specs and createTask payloads; checked again here because the
 * worker runs nothing it has not checked itself. At their largest, a command
 * line and an environment still fit the kernel's ARG_MAX (2 MiB on Linux).
 */
export const INPUT_LIMITS = { maxArgs: 256, maxArgLength: 4096, maxEnv: 64, maxEnvNameLength: 128, maxEnvValueLength: 8192 };

/** The worker's own variables a tool may see: where programs are, whose home, the locale, the time zone, the temp dir. Never its token. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
/** A portable environment variable name (POSIX): anything else some program along the way mangles or refuses. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** task.payload.inputs checked (shape and the bounds of the task_spec contract's `inputs`); {args: [], env: {}} when absent. Throws Error saying what is wrong. */
export function taskInputs(payload: unknown): TaskInputs {
  const raw = isObject(payload) ? payload.inputs : undefined;
  if (raw === undefined || raw === null) return { args: [], env: {} };
  if (!isObject(raw)) throw new Error('inputs must be an object {args: [...], env: {...}}');
  const unknown = Object.keys(raw).filter((key) => key !== 'args' && key !== 'env');
  if (unknown.length > 0) throw new Error(`inputs has unknown fields ${unknown.join(', ')}: only args and env are read`);
  return { args: argsOf(raw.args), env: envOf(raw.env) };
}

/** The tool's environment: PATH, HOME, LANG, LC_ALL, TZ, TMPDIR from `parent` (when set), then inputs.env, then `uet` (UET_* variables win). */
export function toolEnv(parent: NodeJS.ProcessEnv, inputs: TaskInputs, uet: Record<string, string>): Record<string, string> {
  const env = plainRecord();
  for (const name of INHERITED) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return Object.assign(env, inputs.env, uet);
}

function argsOf(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('inputs.args must be a list of strings');
  if (raw.length > INPUT_LIMITS.maxArgs) throw new Error(`inputs.args has ${raw.length} items, at most ${INPUT_LIMITS.maxArgs} allowed`);
  return raw.map((arg: unknown, i) => {
    if (typeof arg !== 'string') throw new Error(`inputs.args[${i}] must be a string`);
    return checkedText(`inputs.args[${i}]`, arg, INPUT_LIMITS.maxArgLength);
  });
}

function envOf(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw new Error('inputs.env must be an object of NAME: value strings');
  const entries = Object.entries(raw);
  if (entries.length > INPUT_LIMITS.maxEnv) throw new Error(`inputs.env has ${entries.length} variables, at most ${INPUT_LIMITS.maxEnv} allowed`);
  const env = plainRecord();
  for (const [name, value] of entries) {
    if (name.length > INPUT_LIMITS.maxEnvNameLength || !ENV_NAME.test(name)) {
      throw new Error(`inputs.env name ${JSON.stringify(name.slice(0, 200))} is not a variable name (letters, digits and _, not starting with a digit, at most ${INPUT_LIMITS.maxEnvNameLength})`);
    }
    // The worker's own variables say which run, task and folder this is: a task may not pretend otherwise.
    if (name.toUpperCase().startsWith('UET_')) throw new Error(`inputs.env may not set ${name}: UET_* variables are the worker's`);
    if (typeof value !== 'string') throw new Error(`inputs.env.${name} must be a string`);
    env[name] = checkedText(`inputs.env.${name}`, value, INPUT_LIMITS.maxEnvValueLength);
  }
  return env;
}

/** A NUL ends a C string early: the program would see something else than the task said. */
function checkedText(field: string, value: string, max: number): string {
  if (value.length > max) throw new Error(`${field} is ${value.length} characters, at most ${max} allowed`);
  if (value.includes('\0')) throw new Error(`${field} contains a NUL character`);
  return value;
}

/** No prototype: a variable named __proto__ is a variable like any other, not a prototype to set. */
function plainRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

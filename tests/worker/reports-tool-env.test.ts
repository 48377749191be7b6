import { describe, expect, it } from 'vitest';
import { INPUT_LIMITS, taskInputs, toolEnv } from '../../src/worker/tool-env.js';

describe('taskInputs', () => {
  it('reads args and env from the payload, and gives empty inputs when there are none', () => {
    expect(taskInputs({ inputs: { args: ['--fix', 'src'], env: { MODE: 'ci', lower_ok: '1' } } })).toEqual({ args: ['--fix', 'src'], env: { MODE: 'ci', lower_ok: '1' } });
    expect(taskInputs({})).toEqual({ args: [], env: {} });
    expect(taskInputs(null)).toEqual({ args: [], env: {} });
    expect(taskInputs({ inputs: null })).toEqual({ args: [], env: {} });
    expect(taskInputs({ inputs: { args: ['a'] } })).toEqual({ args: ['a'], env: {} });
  });

  it.each([
    [{ inputs: 'x' }, 'inputs must be an object'],
    [{ inputs: [] }, 'inputs must be an object'],
    [{ inputs: { args: 'a b' } }, 'inputs.args must be a list of strings'],
    [{ inputs: { args: [1] } }, 'inputs.args[0] must be a string'],
    [{ inputs: { args: Array(INPUT_LIMITS.maxArgs + 1).fill('a') } }, `at most ${INPUT_LIMITS.maxArgs} allowed`],
    [{ inputs: { args: ['x'.repeat(INPUT_LIMITS.maxArgLength + 1)] } }, `at most ${INPUT_LIMITS.maxArgLength} allowed`],
    [{ inputs: { args: ['a\0b'] } }, 'NUL'],
    [{ inputs: { env: ['A=1'] } }, 'inputs.env must be an object'],
    [{ inputs: { env: { 'A-B': '1' } } }, 'is not a variable name'],
    [{ inputs: { env: { '1A': '1' } } }, 'is not a variable name'],
    [{ inputs: { env: { 'A=B': '1' } } }, 'is not a variable name'],
    [{ inputs: { env: { '': '1' } } }, 'is not a variable name'],
    [{ inputs: { env: { ['A'.repeat(INPUT_LIMITS.maxEnvNameLength + 1)]: '1' } } }, 'is not a variable name'],
    [{ inputs: { env: { UET_TASK_ID: 'forged' } } }, 'may not set UET_TASK_ID'],
    [{ inputs: { env: { uet_token: 'x' } } }, 'may not set uet_token'],
    [{ inputs: { env: { A: 1 } } }, 'inputs.env.A must be a string'],
    [{ inputs: { env: { A: 'x'.repeat(INPUT_LIMITS.maxEnvValueLength + 1) } } }, `at most ${INPUT_LIMITS.maxEnvValueLength} allowed`],
    [{ inputs: { env: Object.fromEntries(Array.from({ length: INPUT_LIMITS.maxEnv + 1 }, (_, i) => [`V${i}`, ''])) } }, `at most ${INPUT_LIMITS.maxEnv} allowed`],
    [{ inputs: { args: [], command: 'rm' } }, 'unknown fields command'],
  ])('refuses %j', (payload, message) => {
    expect(() => taskInputs(payload)).toThrow(message);
  });

  it('treats a variable named __proto__ (from JSON) as a variable, not a prototype', () => {
    const inputs = taskInputs(JSON.parse('{"inputs": {"env": {"__proto__": "x", "A": "1"}}}'));
    expect(Object.entries(inputs.env)).toEqual([
      ['__proto__', 'x'],
      ['A', '1'],
    ]);
    expect(Object.entries(toolEnv({}, inputs, {}))).toEqual(Object.entries(inputs.env));
  });
});

describe('toolEnv', () => {
  const parent = { PATH: '/usr/bin', HOME: '/home/w', LANG: 'C.UTF-8', TZ: 'UTC', UET_TOKEN: 'secret', AWS_SECRET_ACCESS_KEY: 'secret', NODE_OPTIONS: '--inspect' };

  it('passes the allow-list of the worker environment, never its token or other secrets', () => {
    const env = toolEnv(parent, { args: [], env: {} }, { UET_TASK_ID: 't1' });
    expect({ ...env }).toEqual({ PATH: '/usr/bin', HOME: '/home/w', LANG: 'C.UTF-8', TZ: 'UTC', UET_TASK_ID: 't1' });
  });

  it('lets inputs.env override the inherited variables and the UET_ variables win over everything', () => {
    const env = toolEnv(parent, { args: [], env: { PATH: '/opt/bin', MODE: 'ci' } }, { UET_WORKDIR: '/w', UET_COST_FD: '3' });
    expect({ ...env }).toEqual({ PATH: '/opt/bin', HOME: '/home/w', LANG: 'C.UTF-8', TZ: 'UTC', MODE: 'ci', UET_WORKDIR: '/w', UET_COST_FD: '3' });
  });
});

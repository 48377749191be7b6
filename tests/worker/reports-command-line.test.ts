import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commandArgv } from '../../src/worker/command-line.js';

describe('commandArgv', () => {
  it('splits words as a shell does: quotes and backslashes', () => {
    expect(commandArgv(`node "/opt/my tools/lint.js" --format 'a b' x\\ y`)).toEqual(['node', '/opt/my tools/lint.js', '--format', 'a b', 'x y']);
    expect(commandArgv(`  npx   vitest  run  `)).toEqual(['npx', 'vitest', 'run']);
  });

  it('keeps $VAR as literal text and quoted operators as plain characters', () => {
    expect(commandArgv('echo $HOME "$UET_TOKEN" a\\;b "x | y"')).toEqual(['echo', '$HOME', '$UET_TOKEN', 'a;b', 'x | y']);
  });

  it('gives argv that runs the program itself: no shell sees the words', async () => {
    const marker = '$(touch /tmp/should-not-exist)';
    const [program, ...args] = commandArgv(`${JSON.stringify(process.execPath)} -e "console.log(JSON.stringify(process.argv.slice(1)))" '${marker}' "*.ts"`);
    const { stdout } = await promisify(execFile)(program!, args);
    expect(JSON.parse(stdout)).toEqual([marker, '*.ts']);
  });

  it.each([
    ['npm test; rm -rf /', 'the operator ;'],
    ['cat a | grep b', 'the operator |'],
    ['make && make install', 'the operator &&'],
    ['tool > out.txt', 'the operator >'],
    ['tool < in.txt', 'the operator <'],
    ['tool 2>&1', 'the operator >&'],
    ['sleep 10 &', 'the operator &'],
    ['echo $(id)', 'the operator ('],
    ['eslint src/*.ts', 'the glob src/*.ts'],
    ['pytest # all of them', 'a comment (# all of them)'],
    ['echo ${HOME}', 'the substitution ${HOME}'],
  ])('refuses %j, naming %s', (command, syntax) => {
    expect(() => commandArgv(command)).toThrow(syntax);
    expect(() => commandArgv(command)).toThrow(/needs a shell/);
  });

  it('refuses an empty command', () => {
    expect(() => commandArgv('   ')).toThrow('the tool command is empty');
    expect(() => commandArgv('""')).not.toThrow();
    expect(commandArgv('""')).toEqual(['']);
  });
});

import { parse } from 'shell-quote';

/**
 * The operator's tool command (router config `command`) split into argv the
 * way a shell splits words (quotes, backslashes) but without a shell: the
 * worker runs the program itself, so nothing a shell would do to the string
 * can happen. A command that needs a shell (operators, globs, comments,
 * substitutions) is refused rather than run differently from what it says:
 * wrap it in a script, or name `sh -c '...'` explicitly.
 */
export function commandArgv(command: string): string[] {
  if (typeof command !== 'string' || command.trim() === '') throw new Error('the tool command is empty');
  const argv: string[] = [];
  // Every variable is given back as written: `$VAR` stays literal text. shell-quote reads `${VAR}` as `$VAR` too,
  // and would lose the braces: refused, since a reader of the command would expect it expanded.
  const literal = (name: string) => {
    if (command.includes(`\${${name}}`)) throw new Error(`the tool command "${command}" uses the substitution \${${name}}, which needs a shell: the worker expands no variables`);
    return `$${name}`;
  };
  for (const word of parse(command, literal)) {
    if (typeof word === 'string') {
      argv.push(word);
      continue;
    }
    const syntax = 'comment' in word ? `a comment (#${word.comment})` : word.op === 'glob' ? `the glob ${word.pattern}` : `the operator ${word.op}`;
    throw new Error(`the tool command "${command}" uses ${syntax}, which needs a shell: the worker runs the program without one (quote it to pass it as text)`);
  }
  if (argv.length === 0) throw new Error('the tool command is empty');
  return argv;
}

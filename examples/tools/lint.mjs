#!/usr/bin/env node
// A demo "lint" tool for `uet-gateway worker` (docs/worker.md). It reads the files of its working folder and prints
// one finding per line on stdout (the step log shows them as they come) and a summary on stderr. Findings are
// warnings: it exits 0, so the task succeeds; a real linter would exit 1 to fail the task.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// UET_WORKDIR is the task's fresh folder (also the working directory the worker starts a tool in).
const root = process.env.UET_WORKDIR ?? process.cwd();
const MAX_LINE = 100;

/** Every file below `dir`, without the worker's .uet/ folder and git's own files. */
function filesIn(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === '.git' || entry.name === '.uet') return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesIn(path) : [path];
  });
}

let findings = 0;
const files = filesIn(root);
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const where = `${relative(root, file)}:${i + 1}`;
    const say = (message) => {
      findings += 1;
      console.log(`${where}: ${message}`);
    };
    if (line.length > MAX_LINE) say(`line is ${line.length} characters long (at most ${MAX_LINE})`);
    if (/\s+$/.test(line)) say('trailing whitespace');
    if (/\bTODO\b/.test(line)) say(`TODO left in: ${line.trim()}`);
  });
}
console.error(`lint: ${findings} finding${findings === 1 ? '' : 's'} in ${files.length} file${files.length === 1 ? '' : 's'}`);

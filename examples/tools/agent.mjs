#!/usr/bin/env node
// A demo "agent" tool for `uet-gateway worker` (docs/worker.md). A real coding agent would ask a model for a change;
// this one makes a small fixed change in its working folder and reports what the "model call" cost:
// - the change: the worker turns what a tool leaves in a git repository into a patch (git diff against HEAD), so
//   a folder that is not a repository yet is made one first (git init, and a commit of what is there);
// - the cost: one JSON line per model call on file descriptor $UET_COST_FD (3), which the worker records.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.UET_WORKDIR ?? process.cwd();
// git without a shell; a fixed identity, so commits work on a machine without git config.
const git = (...args) => execFileSync('git', ['-c', 'user.name=Demo agent', '-c', 'user.email=agent@example.com', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });

if (!existsSync(join(root, '.git'))) {
  git('init', '--quiet');
  // The worker's own .uet/ folder is not part of the project.
  writeFileSync(join(root, '.git', 'info', 'exclude'), '/.uet/\n', { flag: 'a' });
  git('add', '-A');
  git('commit', '--quiet', '--allow-empty', '-m', 'Before the agent');
  console.log('made the folder a git repository');
}

// The change: fix the greeting's TODO if the sample project is there, and leave a note either way.
const greet = join(root, 'src', 'greet.js');
if (existsSync(greet)) {
  const before = readFileSync(greet, 'utf8');
  writeFileSync(greet, before.replace('return `Hello, ${name}!`; // TODO: trim the name', 'return `Hello, ${name.trim()}!`;'));
  console.log('src/greet.js: the name is trimmed now');
}
mkdirSync(join(root, 'notes'), { recursive: true });
writeFileSync(join(root, 'notes', 'agent.md'), `# Agent notes\n\nTask ${process.env.UET_TASK_ID ?? '(run by hand)'}: trimmed the name before greeting.\n`);
console.log('notes/agent.md: written');

// What the "model call" cost, as the worker's cost protocol has it: one JSON object per line.
const cost = { model: 'demo-model', tokens_in: 1200, tokens_out: 340, amount: '0.0123', currency: 'USD' };
const fd = Number(process.env.UET_COST_FD);
if (Number.isInteger(fd)) writeSync(fd, `${JSON.stringify(cost)}\n`);
else console.error('UET_COST_FD is not set (not run by a worker): the cost is not reported');

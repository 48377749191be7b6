#!/usr/bin/env node
// A demo "tests" tool for `uet-gateway worker` (docs/worker.md). It runs a small bundled node:test file with two
// reporters: JUnit XML to $UET_JUNIT_FILE, which the worker reads into a test gate, and the readable spec report to
// stdout, which the step log shows. One test fails on purpose: node exits 1, and since the report is readable the
// worker counts the task a success and lets the gate say that tests failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Without the worker (run by hand), the report goes where the worker would look for it: .uet/junit.xml.
const junitFile = process.env.UET_JUNIT_FILE ?? join(process.cwd(), '.uet', 'junit.xml');
mkdirSync(dirname(junitFile), { recursive: true });
const testFile = join(dirname(fileURLToPath(import.meta.url)), 'tests', 'greeting.test.mjs');

const run = spawnSync(process.execPath, ['--test', '--test-reporter=junit', `--test-reporter-destination=${junitFile}`, '--test-reporter=spec', '--test-reporter-destination=stdout', testFile], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);

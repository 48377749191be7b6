// The test file the demo "tests" tool runs. One test fails on purpose, so the gate the worker makes from the
// JUnit report shows a real failure (with its message and stack), and one is skipped.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

const greet = (name) => `Hello, ${name}!`;

describe('greet', () => {
  test('greets by name', () => assert.equal(greet('Ada'), 'Hello, Ada!'));
  test('trims the name', () => assert.equal(greet('  Ada '), 'Hello, Ada!'));
  test('greets in French', { skip: 'no translations yet' }, () => {});
});

test('adds', () => assert.equal(1 + 1, 2));

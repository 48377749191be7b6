import { execFile } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUNIT_LIMITS, readJUnitReport } from '../../src/worker/junit-report.js';

const FIXTURES = new URL('../fixtures/junit/', import.meta.url).pathname;
/** What one graphql-ws message may carry by default (UET_WS_MAX_MESSAGE_BYTES): the results must fit with the mutation around them. */
const WS_MESSAGE_BYTES = 1_048_576;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'uet-junit-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function report(name: string, xml: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, xml);
  return file;
}

const suite = (cases: string) => `<?xml version="1.0"?>\n<testsuites><testsuite name="s">${cases}</testsuite></testsuites>`;

describe('readJUnitReport', () => {
  it('is null when the tool wrote no report', async () => {
    expect(await readJUnitReport(join(dir, 'none.xml'))).toBeNull();
  });

  it('reads the report node --test writes with the junit reporter (a failure, a skip, a nested suite)', async () => {
    const file = join(dir, 'node.xml');
    const code = await new Promise<number | null>((resolve) => {
      execFile(process.execPath, ['--test', '--test-reporter=junit', `--test-reporter-destination=${file}`, join(FIXTURES, 'node-suite.mjs')], (error) =>
        resolve(error ? ((error as { code?: number }).code ?? null) : 0),
      );
    });
    expect(code).toBe(1);
    const results = await readJUnitReport(file);
    expect(results).toMatchObject({ totalTests: 3, passedTests: 1, failedTests: 1, skippedTests: 1 });
    // node --test names every test's classname "test".
    expect(results!.testNames).toEqual(['test > adds', 'test > upper-cases <tags> & &quot;quotes&quot;']);
    expect(results!.failures).toHaveLength(1);
    expect(results!.failures[0]!.test).toBe('test > upper-cases <tags> & &quot;quotes&quot;');
    expect(results!.failures[0]!.message).toMatch(/^'A' !== 'B'|Expected values to be strictly equal/);
    expect(results!.failures[0]!.message).toContain('node-suite.mjs');
  });

  it('reads a pytest report: classname > name, errors count as failures, skipped tests did not run', async () => {
    const results = await readJUnitReport(join(FIXTURES, 'pytest.xml'));
    expect(results).toMatchObject({ totalTests: 5, passedTests: 2, failedTests: 2, skippedTests: 1 });
    expect(results!.testNames).toEqual([
      'tests.test_parser > test_parses_empty_input',
      'tests.test_parser > test_parses_nested_lists',
      'tests.test_parser.TestErrors > test_reports_line_numbers',
      'tests.test_network > test_fetches_schema',
    ]);
    expect(results!.failures.map((f) => f.test)).toEqual(['tests.test_parser.TestErrors > test_reports_line_numbers', 'tests.test_network > test_fetches_schema']);
    expect(results!.failures[0]!.message).toMatch(/^AssertionError: assert 3 == 4\n \+ {2}where 3 = <Error line=3>\.line\ndef test_reports_line_numbers/);
    expect(results!.failures[1]!.message).toContain('failed on setup with "ConnectionRefusedError');
  });

  it('reads a vitest report: the file as classname, describe blocks in the name', async () => {
    const results = await readJUnitReport(join(FIXTURES, 'vitest.xml'));
    expect(results).toEqual({
      totalTests: 4,
      passedTests: 2,
      failedTests: 1,
      skippedTests: 1,
      failures: [{ test: 'tests/cart.test.ts > cart > totals with tax', message: expect.stringContaining('- 10.9\n+ 10.8') }],
      testNames: ['tests/cart.test.ts > cart > adds an item', 'tests/cart.test.ts > cart > totals with tax', 'tests/cart.test.ts > cart > empties'],
    });
    expect(results!.failures[0]!.message.startsWith('expected 10.8 to be 10.9 // Object.is equality\n')).toBe(true);
  });

  it('reads a bare <testsuite> root and names a test without classname by its suite', async () => {
    const file = await report('bare.xml', '<testsuite name="unit"><testcase name="a"/><testcase name="b"><failure/></testcase><testcase/></testsuite>');
    expect(await readJUnitReport(file)).toEqual({
      totalTests: 3,
      passedTests: 2,
      failedTests: 1,
      skippedTests: 0,
      failures: [{ test: 'unit > b', message: '' }],
      testNames: ['unit > a', 'unit > b', 'unit > (unnamed test)'],
    });
  });

  it.each([
    ['empty.xml', '', 'is not well-formed XML'],
    ['text.xml', 'all tests passed', 'is not'],
    ['html.xml', '<html><body>report</body></html>', 'root element is not <testsuites> or <testsuite>'],
    ['broken.xml', '<testsuites><testsuite name="a"><testcase name="x"></testsuite>', 'is not well-formed XML'],
  ])('refuses %s, which is not a JUnit report', async (name, xml, why) => {
    await expect(readJUnitReport(await report(name, xml))).rejects.toThrow(why);
  });

  it('refuses entity expansion (billion laughs) and external entities before parsing', async () => {
    const laughs = ['<!DOCTYPE lolz [', '<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`), ']>'];
    const bomb = await report('bomb.xml', `<?xml version="1.0"?>\n${laughs.join('\n')}\n<testsuites><testsuite name="s"><testcase name="&lol9;"/></testsuite></testsuites>`);
    await expect(readJUnitReport(bomb)).rejects.toThrow('has a DOCTYPE or entity declaration');
    const external = await report('xxe.xml', `<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><testsuite><testcase name="&x;"/></testsuite>`);
    await expect(readJUnitReport(external)).rejects.toThrow('has a DOCTYPE or entity declaration');
    // Without a declaration an unknown entity stays text: nothing is fetched or expanded.
    const undeclared = await readJUnitReport(await report('undeclared.xml', suite('<testcase name="&x;"/>')));
    expect(undeclared!.testNames).toEqual(['s > &x;']);
  });

  it('refuses deep nesting', async () => {
    const depth = 10_000;
    const file = await report('deep.xml', `<testsuites>${'<testsuite name="d">'.repeat(depth)}<testcase name="t"/>${'</testsuite>'.repeat(depth)}</testsuites>`);
    await expect(readJUnitReport(file)).rejects.toThrow();
    // Nesting within the bound is read: a suite per describe block.
    const ok = await report('nested.xml', `<testsuites>${'<testsuite name="d">'.repeat(20)}<testcase name="t"/>${'</testsuite>'.repeat(20)}</testsuites>`);
    expect((await readJUnitReport(ok))!.testNames).toEqual(['d > t']);
  });

  it('refuses a file over the size bound without reading it', async () => {
    const file = join(dir, 'huge.xml');
    await writeFile(file, '');
    await truncate(file, JUNIT_LIMITS.maxFileBytes + 1);
    await expect(readJUnitReport(file)).rejects.toThrow(`is ${JUNIT_LIMITS.maxFileBytes + 1} bytes, at most ${JUNIT_LIMITS.maxFileBytes} are read`);
  });

  it('refuses a report of more test cases than the bound', async () => {
    const file = await report('many.xml', suite('<testcase name="t"/>'.repeat(JUNIT_LIMITS.maxTests + 1)));
    await expect(readJUnitReport(file)).rejects.toThrow(`more than ${JUNIT_LIMITS.maxTests} test cases`);
  });

  it('keeps exact counts but trims failures, messages and names to what completeTestGate takes in one message', async () => {
    const long = 'é'.repeat(4000);
    const cases = Array.from({ length: 300 }, (_, i) => `<testcase classname="c${'x'.repeat(900)}" name="t${i}${'n'.repeat(300)}"><failure message="${long}">${long}</failure></testcase>`);
    const passing = Array.from({ length: 5000 }, (_, i) => `<testcase classname="pass" name="p${i}${'n'.repeat(200)}"/>`);
    const results = (await readJUnitReport(await report('big.xml', suite(cases.join('') + passing.join('')))))!;
    expect(results).toMatchObject({ totalTests: 5300, failedTests: 300, passedTests: 5000, skippedTests: 0 });
    expect(results.failures.length).toBeLessThanOrEqual(JUNIT_LIMITS.maxFailures);
    expect(results.failures.length).toBeGreaterThan(0);
    for (const failure of results.failures) {
      expect(failure.test.length).toBeLessThanOrEqual(JUNIT_LIMITS.maxNameLength);
      expect(failure.message.length).toBeLessThanOrEqual(JUNIT_LIMITS.maxMessageLength);
    }
    expect(results.testNames.length).toBeGreaterThan(0);
    expect(results.testNames.every((name) => name.length >= 1 && name.length <= 1000)).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(results))).toBeLessThan(WS_MESSAGE_BYTES * 0.9);
  });
});

import { open } from 'node:fs/promises';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A JUnit report as completeTestGate takes it (TestGateResultsInput). */
export interface JUnitResults {
  totalTests: number;
  passedTests: number;
  failedTests: number;
  skippedTests: number;
  /** test: "<classname or suite> > <name>" */
  failures: { test: string; message: string }[];
  testNames: string[];
}

/**
 * The bounds of what is read and what is sent. The file: a suite of ten
 * thousand tests writes a few MiB. What is sent must fit one graphql-ws
 * message (UET_WS_MAX_MESSAGE_BYTES, 1 MiB by default) with room to spare, so
 * the failures and the names each get a byte budget; the counts stay exact.
 * A test name is at most 1,000 characters (completeTestGate's testNames).
 */
export const JUNIT_LIMITS = {
  maxFileBytes: 16 * 1024 * 1024,
  maxTests: 100_000,
  maxNesting: 64,
  maxFailures: 100,
  maxMessageLength: 2000,
  maxFailureBytes: 256 * 1024,
  maxNameLength: 1000,
  maxNameBytes: 256 * 1024,
};

/** The elements that may repeat: always lists, even with one item. */
const REPEATED = new Set(['testsuite', 'testcase', 'failure', 'error', 'skipped']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Character references too (&#10; in pytest's messages): the parser decodes them only with its HTML table on.
  htmlEntities: true,
  isArray: (name) => REPEATED.has(name),
  maxNestedTags: JUNIT_LIMITS.maxNesting,
});

interface XmlNode {
  [key: string]: unknown;
}

/** The report at `file`; null when there is no such file. Throws an Error saying why for a file that is not a JUnit report or is over the bounds. Results are trimmed to what completeTestGate accepts (count and length limits of the gateway: read src/engine/gates for them). */
export async function readJUnitReport(file: string): Promise<JUnitResults | null> {
  const text = await readBounded(file);
  if (text === null) return null;
  // Test runners write no DOCTYPE; refusing it refuses every entity-expansion trick (billion laughs, external entities).
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new Error(`${file} has a DOCTYPE or entity declaration, which no JUnit report has: not read`);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`${file} is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  let document: XmlNode;
  try {
    document = parser.parse(text) as XmlNode;
  } catch (error) {
    throw new Error(`${file} could not be read as XML: ${(error as Error).message}`);
  }
  const root = document.testsuites ?? document.testsuite;
  if (root === undefined) throw new Error(`${file} is not a JUnit report: its root element is not <testsuites> or <testsuite>`);
  const results = new ResultsBuilder(file);
  // <testsuites> holds suites (and, from node --test, top-level test cases); a bare <testsuite> is one suite.
  if (document.testsuites !== undefined) results.suite(asNode(root), null);
  else for (const suite of root as XmlNode[]) results.suite(asNode(suite), attribute(asNode(suite), 'name') || null);
  return results.done();
}

/** Gathers the results of every test case, counting all of them and keeping what fits the budgets. */
class ResultsBuilder {
  private total = 0;
  private failed = 0;
  private skipped = 0;
  private readonly failures: { test: string; message: string }[] = [];
  private readonly names: string[] = [];
  private failureBytes = 0;
  private nameBytes = 0;

  constructor(private readonly file: string) {}

  suite(node: XmlNode, suiteName: string | null): void {
    for (const testcase of list(node.testcase)) this.testcase(testcase, suiteName);
    // Suites nest (a describe block in node --test and vitest); nesting depth is bounded by the parser.
    for (const child of list(node.testsuite)) this.suite(child, attribute(child, 'name') || suiteName);
  }

  done(): JUnitResults {
    return {
      totalTests: this.total,
      passedTests: this.total - this.failed - this.skipped,
      failedTests: this.failed,
      skippedTests: this.skipped,
      failures: this.failures,
      testNames: this.names,
    };
  }

  private testcase(node: XmlNode, suiteName: string | null): void {
    this.total += 1;
    if (this.total > JUNIT_LIMITS.maxTests) throw new Error(`${this.file} has more than ${JUNIT_LIMITS.maxTests} test cases, the most a report may hold: split the suite`);
    const prefix = attribute(node, 'classname') || suiteName;
    const name = attribute(node, 'name') || '(unnamed test)';
    const test = clip(prefix ? `${prefix} > ${name}` : name, JUNIT_LIMITS.maxNameLength);
    const failure = [...list(node.failure), ...list(node.error)][0];
    if (failure !== undefined) {
      this.failed += 1;
      this.keepFailure(test, failureMessage(failure));
    } else if (node.skipped !== undefined) {
      this.skipped += 1;
      return;
    }
    // Skipped tests did not run: a required test that was skipped counts as not run.
    const bytes = Buffer.byteLength(test);
    if (this.nameBytes + bytes > JUNIT_LIMITS.maxNameBytes) return;
    this.nameBytes += bytes;
    this.names.push(test);
  }

  private keepFailure(test: string, message: string): void {
    const bytes = Buffer.byteLength(test) + Buffer.byteLength(message);
    if (this.failures.length >= JUNIT_LIMITS.maxFailures || this.failureBytes + bytes > JUNIT_LIMITS.maxFailureBytes) return;
    this.failureBytes += bytes;
    this.failures.push({ test, message });
  }
}

/** The file's text, or null when it does not exist; read no further than the bound. */
async function readBounded(file: string): Promise<string | null> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (handle === null) return null;
  try {
    const { size } = await handle.stat();
    if (size > JUNIT_LIMITS.maxFileBytes) throw new Error(`${file} is ${size} bytes, at most ${JUNIT_LIMITS.maxFileBytes} are read: write a smaller report`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** The failure's message attribute, then its text (usually a stack), as much as fits. */
function failureMessage(failure: XmlNode): string {
  const message = attribute(failure, 'message');
  const body = typeof failure['#text'] === 'string' ? failure['#text'] : '';
  const text = message && body && !body.startsWith(message) ? `${message}\n${body}` : message || body;
  return clip(text, JUNIT_LIMITS.maxMessageLength);
}

function attribute(node: XmlNode, name: string): string {
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value.trim() : '';
}

/** The elements of a repeated child; an element with only text parses as a string. */
function list(value: unknown): XmlNode[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => (typeof item === 'object' && item !== null ? (item as XmlNode) : { '#text': String(item) }));
}

function asNode(value: unknown): XmlNode {
  return typeof value === 'object' && value !== null ? (value as XmlNode) : {};
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

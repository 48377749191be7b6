import type { GateCriteria, GateDecision, GateResults } from './entities.js';

/**
 * docs/domain.md#test-gates: judges each criterion that is set against the reported
 * results. The gate passes when every judged criterion holds, or none is
 * set; the reason names each criterion that failed.
 */
export function judge(criteria: GateCriteria, results: GateResults): GateDecision {
  const met: GateDecision['criteria_met'] = {};
  const failures: string[] = [];
  if (criteria.min_coverage != null) {
    const coverage = results.coverage_percent;
    met.coverage = coverage != null && coverage >= criteria.min_coverage;
    if (!met.coverage) {
      failures.push(coverage == null ? `coverage: no coverage reported (at least ${criteria.min_coverage}% required)` : `coverage: ${coverage}% is below ${criteria.min_coverage}%`);
    }
  }
  if (criteria.max_failures != null) {
    met.failures = results.failed_tests <= criteria.max_failures;
    if (!met.failures) failures.push(`failures: ${failedTests(results)}, at most ${criteria.max_failures} allowed`);
  }
  if (criteria.required_tests.length > 0) {
    // Judged from what was reported: a required test must have run and not failed.
    const ran = new Set([...(results.test_names ?? []), ...results.failures.map((f) => f.test)]);
    const failed = new Set(results.failures.map((f) => f.test));
    const missing = criteria.required_tests.filter((name) => !ran.has(name));
    const broken = criteria.required_tests.filter((name) => failed.has(name));
    met.required_tests = missing.length === 0 && broken.length === 0;
    if (missing.length > 0) failures.push(`required_tests: did not run: ${missing.join(', ')}`);
    if (broken.length > 0) failures.push(`required_tests: failed: ${broken.join(', ')}`);
  }
  const judged = Object.keys(met).length;
  if (failures.length > 0) return { passed: false, reason: failures.join('; '), criteria_met: met };
  return { passed: true, reason: judged === 0 ? 'no criteria set' : `all ${judged} criteria met`, criteria_met: met };
}

/** Failing tests a max_failures reason names; the rest are counted ("and N more"). */
const NAMED_FAILURES = 5;
/** A name longer than this is cut in the reason (the results keep it whole). */
const NAMED_FAILURE_LENGTH = 200;

/** "2 failed tests (math > adds, math > divides)": the count, and the first failing tests' names when the results list them. */
function failedTests(results: GateResults): string {
  const count = `${results.failed_tests} failed test${results.failed_tests === 1 ? '' : 's'}`;
  const names = [...new Set(results.failures.map((f) => f.test))];
  if (names.length === 0) return count;
  const shown = names.slice(0, NAMED_FAILURES).map((name) => (name.length > NAMED_FAILURE_LENGTH ? `${name.slice(0, NAMED_FAILURE_LENGTH)}…` : name));
  const more = Math.max(results.failed_tests, names.length) - shown.length;
  return `${count} (${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''})`;
}

// The policy verdicts of a ledger entry: what validatePatch found (format, the run's resource scope, the effective
// policy's constraints, each broken rule by name) and what verifyPatch found (its tests or its run's gates).
import { graphql, type ResultOf } from '../graphql';

export const VerdictFields = graphql(`
  fragment ConsolePatchVerdicts on LedgerEntry @_unmask {
    stateHistory {
      state
    }
    validation {
      formatOk
      scopeOk
      constraintsOk
      testsRan
      testsPassed
      validationErrors
    }
  }
`);

type Entry = ResultOf<typeof VerdictFields>;
type Verdict = 'passed' | 'failed' | 'not judged yet';

/** "max_lines_changed: 120 lines changed, at most 100 allowed" → the rule and what broke it. */
function ruleOf(message: string): { rule: string; detail: string } {
  const colon = message.indexOf(':');
  return colon > 0 ? { rule: message.slice(0, colon), detail: message.slice(colon + 1).trim() } : { rule: 'rule', detail: message };
}

export function PatchVerdicts({ entry }: { entry: Entry }) {
  const { validation } = entry;
  // scopeOk and constraintsOk read false until validation ran: a failed validation leaves its errors, a passed one a VALIDATED step.
  const validated = validation.validationErrors.length > 0 || entry.stateHistory.some((step) => step.state === 'VALIDATED');
  const judged = (ok: boolean): Verdict => (validated ? (ok ? 'passed' : 'failed') : 'not judged yet');
  const rows: [string, Verdict][] = [
    ['Format', validation.formatOk ? 'passed' : 'failed'],
    ["Run's resource scope", judged(validation.scopeOk)],
    ['Policy constraints', judged(validation.constraintsOk)],
    ['Tests or gates', validation.testsRan ? (validation.testsPassed ? 'passed' : 'failed') : 'not judged yet'],
  ];
  return (
    <section aria-labelledby="verdicts-heading">
      <h2 id="verdicts-heading">Policy verdicts</h2>
      <table class="verdicts">
        <caption>What validation and verification found</caption>
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([check, verdict]) => (
            <tr key={check}>
              <th scope="row">{check}</th>
              <td class="verdict" data-verdict={verdict}>
                {verdict}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {validation.validationErrors.length > 0 && (
        <table class="violations">
          <caption>
            {validation.validationErrors.length} broken {validation.validationErrors.length === 1 ? 'rule' : 'rules'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">What broke it</th>
            </tr>
          </thead>
          <tbody>
            {validation.validationErrors.map((message, i) => {
              const { rule, detail } = ruleOf(message);
              return (
                <tr key={i} data-violation={message}>
                  <th scope="row">{rule}</th>
                  <td>{detail}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

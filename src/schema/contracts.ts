import { MAX_COUNTED_ERRORS, MAX_LISTED_ERRORS, type Contract, type DocumentValidation, type ValidationIssue } from '../engine/contracts/registry.js';
import { builder } from './builder.js';

export const ContractRef = builder.objectRef<Contract>('Contract').implement({
  description: 'A data contract: one JSON Schema (draft 2020-12) from schema-json/.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What validateDocument(contract:) takes: the file name without .v1.json (e.g. "run_record").' }),
    id: t.exposeString('id', { description: 'The schema $id.' }),
    title: t.exposeString('title', { description: "The schema's title (its name when it has none)." }),
    schema: t.expose('schema', { type: 'JSON', description: 'The JSON Schema document itself.' }),
  }),
});

const ValidationIssueRef = builder.objectRef<ValidationIssue>('ValidationIssue').implement({
  description: 'One way a document breaks its contract.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'JSON Pointer to the offending value ("/" for the document).' }),
    message: t.exposeString('message', {
      description:
        'What is wrong there: an unknown property by name (with the known one it is probably a typo of), a missing one with its shape, allowed values and ' +
        'default, an enum with its allowed values (e.g. must have required property "phase_id": a non-empty string).',
    }),
  }),
});

export const DocumentValidationRef = builder.objectRef<DocumentValidation>('DocumentValidation').implement({
  description: 'The outcome of checking a document against a contract.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Whether the document matches the contract.' }),
    errors: t.field({
      type: [ValidationIssueRef],
      description: `The violations found, the first ${MAX_LISTED_ERRORS} at most (moreErrors counts the rest); empty when valid.`,
      resolve: (v) => v.errors,
    }),
    moreErrors: t.int({
      description: `Violations found beyond those in errors; 0 when errors lists them all. Past ${MAX_COUNTED_ERRORS} the check stops counting (countStopped) and lists only the first.`,
      resolve: (v) => v.moreErrors ?? 0,
    }),
    countStopped: t.boolean({
      description: `True when the document has more than ${MAX_COUNTED_ERRORS} violations: the check stopped there, and moreErrors is a lower bound.`,
      resolve: (v) => v.stoppedCounting === true,
    }),
  }),
});

import type { Contract, DocumentValidation, ValidationIssue } from '../engine/contracts/registry.js';
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
    message: t.exposeString('message', { description: "What is wrong there, in the validator's words (e.g. must have required property 'phase_id')." }),
  }),
});

export const DocumentValidationRef = builder.objectRef<DocumentValidation>('DocumentValidation').implement({
  description: 'The outcome of checking a document against a contract.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid', { description: 'Whether the document matches the contract.' }),
    errors: t.field({ type: [ValidationIssueRef], description: 'Every violation found; empty when valid.', resolve: (v) => v.errors }),
  }),
});

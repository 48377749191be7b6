import type { Contract, DocumentValidation, ValidationIssue } from '../engine/contracts/registry.js';
import { builder } from './builder.js';

export const ContractRef = builder.objectRef<Contract>('Contract').implement({
  description: 'A data contract: one JSON Schema (draft 2020-12) from schema-json/.',
  fields: (t) => ({
    name: t.exposeString('name'),
    id: t.exposeString('id', { description: 'The schema $id.' }),
    title: t.exposeString('title'),
    schema: t.expose('schema', { type: 'JSON' }),
  }),
});

const ValidationIssueRef = builder.objectRef<ValidationIssue>('ValidationIssue').implement({
  fields: (t) => ({
    path: t.exposeString('path', { description: 'JSON Pointer to the offending value ("/" for the document).' }),
    message: t.exposeString('message'),
  }),
});

export const DocumentValidationRef = builder.objectRef<DocumentValidation>('DocumentValidation').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    errors: t.field({ type: [ValidationIssueRef], resolve: (v) => v.errors }),
  }),
});

import { builder } from '../schema/builder.js';
import { ContractRef, DocumentValidationRef } from '../schema/contracts.js';

builder.queryFields((t) => ({
  contracts: t.field({
    type: [ContractRef],
    description: 'The data contracts (JSON Schemas from schema-json/) that the gateway validates documents against, by name.',
    resolve: (_, __, ctx) => ctx.engine.contracts.list(),
  }),
  validateDocument: t.field({
    type: DocumentValidationRef,
    description: 'Checks a JSON document against a data contract and lists its violations (the first 100, and how many more); it stores nothing. An unknown contract is BAD_USER_INPUT.',
    args: {
      contract: t.arg.string({ required: true, description: "The contract's name (Contract.name, e.g. run_record or doc-meta)." }),
      document: t.arg({ type: 'JSON', required: true, description: 'The document to check, as JSON (every contract describes an object; anything else is reported as invalid).' }),
    },
    resolve: (_, args, ctx) => ctx.engine.contracts.validate(args.contract, args.document),
  }),
}));

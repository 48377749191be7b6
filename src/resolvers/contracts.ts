import { builder } from '../schema/builder.js';
import { ContractRef, DocumentValidationRef } from '../schema/contracts.js';

builder.queryFields((t) => ({
  contracts: t.field({
    type: [ContractRef],
    description: 'The JSON Schemas the gateway validates documents against.',
    resolve: (_, __, ctx) => ctx.engine.contracts.list(),
  }),
  validateDocument: t.field({
    type: DocumentValidationRef,
    args: { contract: t.arg.string({ required: true }), document: t.arg({ type: 'JSON', required: true }) },
    resolve: (_, args, ctx) => ctx.engine.contracts.validate(args.contract, args.document),
  }),
}));

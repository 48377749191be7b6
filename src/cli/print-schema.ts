import { writeFileSync } from 'node:fs';
import { printGatewaySchema } from '../graphql.js';

/** `npm run schema`: rewrites the checked-in schema.graphql from the code. */
const target = new URL('../../schema.graphql', import.meta.url);
writeFileSync(target, printGatewaySchema());
console.log(`wrote ${target.pathname}`);

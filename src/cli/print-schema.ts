import { writeFileSync } from 'node:fs';
import { printGatewaySchema } from '../graphql.js';
import { packageFile } from '../package-files.js';

/** `npm run schema`: rewrites the checked-in schema.graphql from the code. */
const target = packageFile('schema.graphql');
writeFileSync(target, printGatewaySchema());
console.log(`wrote ${target}`);

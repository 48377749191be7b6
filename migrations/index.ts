import { Migration20261124000000Init } from './Migration20261124000000Init.js';

// Every migration in order; listed explicitly so that no file globbing or
// dynamic import is needed at run time (tsx, vitest and bundlers alike).
export const migrationsList = [{ name: 'Migration20261124000000Init', class: Migration20261124000000Init }];

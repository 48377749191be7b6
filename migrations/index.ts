import { Migration20261124000000Init } from './Migration20261124000000Init.js';
import { Migration20261124150000ApiTokens } from './Migration20261124150000ApiTokens.js';
import { Migration20261125000000Workers } from './Migration20261125000000Workers.js';
import { Migration20261125100000PatchesAndGates } from './Migration20261125100000PatchesAndGates.js';
import { Migration20261125200000CostsAndBudgets } from './Migration20261125200000CostsAndBudgets.js';
import { Migration20261125300000Workstreams } from './Migration20261125300000Workstreams.js';
import { Migration20261125400000Routing } from './Migration20261125400000Routing.js';
import { Migration20261130000000RunProjectStateIndex } from './Migration20261130000000RunProjectStateIndex.js';
import { Migration20261206000000ApiTokenRevokedAtIndex } from './Migration20261206000000ApiTokenRevokedAtIndex.js';
import { Migration20261206100000WorkerReports } from './Migration20261206100000WorkerReports.js';
import { Migration20261206200000WorkstreamSpecIdUnique } from './Migration20261206200000WorkstreamSpecIdUnique.js';
import { Migration20261207000000StepLogs } from './Migration20261207000000StepLogs.js';
import { Migration20261207100000StepTasks } from './Migration20261207100000StepTasks.js';
import { Migration20261201000000PostgresInit } from './postgresql/Migration20261201000000PostgresInit.js';
import { Migration20261206000000ApiTokenRevokedAtIndex as PostgresApiTokenRevokedAtIndex } from './postgresql/Migration20261206000000ApiTokenRevokedAtIndex.js';
import { Migration20261206100000WorkerReports as PostgresWorkerReports } from './postgresql/Migration20261206100000WorkerReports.js';
import { Migration20261206200000WorkstreamSpecIdUnique as PostgresWorkstreamSpecIdUnique } from './postgresql/Migration20261206200000WorkstreamSpecIdUnique.js';
import { Migration20261207000000StepLogs as PostgresStepLogs } from './postgresql/Migration20261207000000StepLogs.js';
import { Migration20261207100000StepTasks as PostgresStepTasks } from './postgresql/Migration20261207100000StepTasks.js';

// SQLite's migrations in order; listed explicitly so that no file globbing or
// dynamic import is needed at run time (tsx, vitest and bundlers alike).
export const migrationsList = [
  { name: 'Migration20261124000000Init', class: Migration20261124000000Init },
  { name: 'Migration20261124150000ApiTokens', class: Migration20261124150000ApiTokens },
  { name: 'Migration20261125000000Workers', class: Migration20261125000000Workers },
  { name: 'Migration20261125100000PatchesAndGates', class: Migration20261125100000PatchesAndGates },
  { name: 'Migration20261125200000CostsAndBudgets', class: Migration20261125200000CostsAndBudgets },
  { name: 'Migration20261125300000Workstreams', class: Migration20261125300000Workstreams },
  { name: 'Migration20261125400000Routing', class: Migration20261125400000Routing },
  { name: 'Migration20261130000000RunProjectStateIndex', class: Migration20261130000000RunProjectStateIndex },
  { name: 'Migration20261206000000ApiTokenRevokedAtIndex', class: Migration20261206000000ApiTokenRevokedAtIndex },
  { name: 'Migration20261206100000WorkerReports', class: Migration20261206100000WorkerReports },
  { name: 'Migration20261206200000WorkstreamSpecIdUnique', class: Migration20261206200000WorkstreamSpecIdUnique },
  { name: 'Migration20261207000000StepLogs', class: Migration20261207000000StepLogs },
  { name: 'Migration20261207100000StepTasks', class: Migration20261207100000StepTasks },
];

/** PostgreSQL's migrations (its DDL differs from SQLite's), in order. */
export const postgresMigrationsList = [
  { name: 'Migration20261201000000PostgresInit', class: Migration20261201000000PostgresInit },
  { name: 'Migration20261206000000ApiTokenRevokedAtIndex', class: PostgresApiTokenRevokedAtIndex },
  { name: 'Migration20261206100000WorkerReports', class: PostgresWorkerReports },
  { name: 'Migration20261206200000WorkstreamSpecIdUnique', class: PostgresWorkstreamSpecIdUnique },
  { name: 'Migration20261207000000StepLogs', class: PostgresStepLogs },
  { name: 'Migration20261207100000StepTasks', class: PostgresStepTasks },
];

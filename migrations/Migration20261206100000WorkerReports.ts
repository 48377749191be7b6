import { Migration } from '@mikro-orm/migrations';

/** Narrower reports by WORKER-only tokens: who started a step, and what such tokens recorded as costs through a task. */
export class Migration20261206100000WorkerReports extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `step_attempt` add column `started_by_token_id` text null;');
    this.addSql('alter table `task` add column `worker_cost_nanos` bigint not null default 0;');
  }

  override async down(): Promise<void> {
    this.addSql('alter table `step_attempt` drop column `started_by_token_id`;');
    this.addSql('alter table `task` drop column `worker_cost_nanos`;');
  }
}

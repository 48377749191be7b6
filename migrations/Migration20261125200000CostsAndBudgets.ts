import { Migration } from '@mikro-orm/migrations';

/** Cost records, budgets, and the run a HALT budget stopped. */
export class Migration20261125200000CostsAndBudgets extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `cost_record` (`id` text not null, `run_id` text null, `project_id` text null, `resource_type` text not null, `resource_name` text null, `amount_nanos` bigint not null, `currency` text not null, `usage` json null, `recorded_at` datetime not null, `model` text null, `metadata` json not null, constraint `cost_record_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create index `cost_record_project_id_id_idx` on `cost_record` (`project_id`, `id`)');
    this.addSql('create index `cost_record_run_id_id_idx` on `cost_record` (`run_id`, `id`)');
    this.addSql('create index `cost_record_model_id_idx` on `cost_record` (`model`, `id`)');
    this.addSql('create index `cost_record_resource_type_id_idx` on `cost_record` (`resource_type`, `id`)');
    this.addSql(
      'create table `budget` (`id` text not null, `scope` text not null, `project_id` text null, `run_id` text null, `currency` text not null, `limit_nanos` text not null, `spent_nanos` text not null, `thresholds` json not null, `crossed` json not null, `action` text not null, `scope_key` text not null, `created_at` datetime not null, `updated_at` datetime not null, constraint `budget_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create unique index `budget_scope_key_unique` on `budget` (`scope_key`)');
    this.addSql('create index `budget_project_id_idx` on `budget` (`project_id`)');
    this.addSql('alter table `run` add column `halted_by_budget_id` text null');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `budget`');
    this.addSql('drop table if exists `cost_record`');
    this.addSql('alter table `run` drop column `halted_by_budget_id`');
  }
}

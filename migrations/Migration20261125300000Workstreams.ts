import { Migration } from '@mikro-orm/migrations';

/** Workstreams, and the task graph columns (dependencies, level, on_failure). */
export class Migration20261125300000Workstreams extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `workstream` (`id` text not null, `spec_id` text not null, `project_id` text not null, `phase_id` text not null, `name` text not null, `objective` text not null, `run_id` text not null, `max_parallel` integer not null, `error_strategy` text not null, `running_tasks` integer not null default 0, `spec` json not null, `created_at` datetime not null, constraint `workstream_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create unique index `workstream_run_id_unique` on `workstream` (`run_id`)');
    this.addSql('create index `workstream_project_id_id_idx` on `workstream` (`project_id`, `id`)');
    this.addSql('alter table `task` add column `workstream_id` text null constraint `task_workstream_id_foreign` references `workstream` (`id`) on update cascade on delete cascade');
    this.addSql('alter table `task` add column `spec_task_id` text null');
    this.addSql('alter table `task` add column `name` text null');
    this.addSql("alter table `task` add column `depends_on` json not null default '[]'");
    this.addSql('alter table `task` add column `unmet_dependencies` integer not null default 0');
    this.addSql('alter table `task` add column `level` integer null');
    this.addSql('alter table `task` add column `on_failure` text null');
    this.addSql('create index `task_workstream_id_state_idx` on `task` (`workstream_id`, `state`)');
  }

  override async down(): Promise<void> {
    this.addSql('drop index if exists `task_workstream_id_state_idx`');
    for (const column of ['workstream_id', 'spec_task_id', 'name', 'depends_on', 'unmet_dependencies', 'level', 'on_failure']) {
      this.addSql(`alter table \`task\` drop column \`${column}\``);
    }
    this.addSql('drop table if exists `workstream`');
  }
}

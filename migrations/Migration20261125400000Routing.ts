import { Migration } from '@mikro-orm/migrations';

/** Routing: the router configuration, tool breakers and measurements, rotations, execution requests; task retry and route columns; worker tools; the attempt a cost was spent on. */
export class Migration20261125400000Routing extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table `router_config` (`id` text not null, `config` json not null, `created_at` datetime not null, primary key (`id`))');
    this.addSql('create table `route_rotation` (`rule_key` text not null, `counter` integer not null, primary key (`rule_key`))');
    this.addSql(
      'create table `tool_state` (`tool_id` text not null, `breaker` json not null, `successes` integer not null default 0, `failures` integer not null default 0, `latencies` json not null, `in_flight` integer not null default 0, `updated_at` datetime not null, primary key (`tool_id`))',
    );
    this.addSql(
      'create table `execution_request` (`id` text not null, `project_id` text not null, `run_id` text null, `task_id` text not null, `task_kind` text not null, `attempt` integer not null, `tool_id` text null, `document` json not null, `created_at` datetime not null, constraint `execution_request_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, constraint `execution_request_task_id_foreign` foreign key(`task_id`) references `task`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create index `execution_request_task_id_index` on `execution_request` (`task_id`)');
    this.addSql('create index `execution_request_project_id_id_idx` on `execution_request` (`project_id`, `id`)');
    this.addSql('create index `execution_request_run_id_id_idx` on `execution_request` (`run_id`, `id`)');
    this.addSql('create index `execution_request_task_kind_id_idx` on `execution_request` (`task_kind`, `id`)');
    this.addSql("alter table `worker` add column `tools` json not null default '[]'");
    this.addSql('alter table `cost_record` add column `execution_request_id` text null');
    this.addSql('alter table `task` add column `retry_strategy` text null');
    this.addSql('alter table `task` add column `next_attempt_at` datetime null');
    this.addSql('alter table `task` add column `tool_id` text null');
    this.addSql('alter table `task` add column `route_error` text null');
    this.addSql('alter table `task` add column `route_strategy` text null');
    this.addSql('alter table `task` add column `execution_request_id` text null');
  }

  override async down(): Promise<void> {
    for (const column of ['retry_strategy', 'next_attempt_at', 'tool_id', 'route_error', 'route_strategy', 'execution_request_id']) {
      this.addSql(`alter table \`task\` drop column \`${column}\``);
    }
    this.addSql('alter table `worker` drop column `tools`');
    this.addSql('alter table `cost_record` drop column `execution_request_id`');
    for (const table of ['execution_request', 'tool_state', 'route_rotation', 'router_config']) this.addSql(`drop table if exists \`${table}\``);
  }
}

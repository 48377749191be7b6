import { Migration } from '@mikro-orm/migrations';

/** Runs, step attempts, the run event log and its position counter. */
export class Migration20261124000000Init extends Migration {
  override async up(): Promise<void> {
    this.addSql('create table `log_sequence` (`name` text not null, `value` bigint not null, primary key (`name`))');
    this.addSql(
      'create table `run` (`id` text not null, `project_id` text not null, `phase_id` text not null, `workstream_id` text null, `execution_request_id` text null, `state` text not null, `state_reason` text null, `created_at` datetime not null, `started_at` datetime null, `ended_at` datetime null, `exit_code` integer null, `error_message` text null, `origin` json not null, `step_attempts` integer not null default 0, `patches_created` integer not null default 0, `patches_applied` integer not null default 0, `errors` integer not null default 0, `metadata` json not null, primary key (`id`))',
    );
    this.addSql('create index `run_project_id_id_idx` on `run` (`project_id`, `id`)');
    this.addSql('create index `run_phase_id_id_idx` on `run` (`phase_id`, `id`)');
    this.addSql('create index `run_workstream_id_id_idx` on `run` (`workstream_id`, `id`)');
    this.addSql('create index `run_state_id_idx` on `run` (`state`, `id`)');
    this.addSql(
      'create table `step_attempt` (`id` text not null, `run_id` text not null, `sequence` integer not null, `tool_id` text not null, `tool_run_id` text null, `execution_request_id` text null, `prompt_id` text null, `state` text not null, `state_reason` text null, `started_at` datetime not null, `ended_at` datetime null, `exit_code` integer null, `input_prompt` text null, `outputs` json not null, `error_log` text null, `metadata` json not null, constraint `step_attempt_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create unique index `step_attempt_run_id_sequence_unique` on `step_attempt` (`run_id`, `sequence`)');
    this.addSql(
      'create table `run_event` (`id` text not null, `position` bigint not null, `run_id` text not null, `step_id` text null, `ts` datetime not null, `kind` text not null, `payload` json not null, constraint `run_event_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, constraint `run_event_step_id_foreign` foreign key(`step_id`) references `step_attempt`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create unique index `run_event_position_unique` on `run_event` (`position`)');
    this.addSql('create index `run_event_step_id_index` on `run_event` (`step_id`)');
    this.addSql('create index `run_event_run_id_position_idx` on `run_event` (`run_id`, `position`)');
    this.addSql("insert into `log_sequence` (`name`, `value`) values ('run_event', 0);");
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `run_event`;');
    this.addSql('drop table if exists `step_attempt`;');
    this.addSql('drop table if exists `run`;');
    this.addSql('drop table if exists `log_sequence`;');
  }
}

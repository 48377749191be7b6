import { Migration } from '@mikro-orm/migrations';

/** Workers (lifecycle, statistics, heartbeat deadline) and the task queue. */
export class Migration20261125000000Workers extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `worker` (`id` text not null, `type` text not null, `state` text not null, `current_task_id` text null, `active_tasks` integer not null default 0, `started_at` datetime not null, `last_heartbeat_at` datetime null, `heartbeat_progress` double null, `stale_after` datetime not null, `timeout_seconds` double not null, `stopped_at` datetime null, `crash_info` json null, `tasks_completed` integer not null default 0, `tasks_failed` integer not null default 0, `total_execution_time` double not null default 0, `config` json not null, `metadata` json not null, `registered_by_token_id` text null, primary key (`id`))',
    );
    this.addSql('create index `worker_state_id_idx` on `worker` (`state`, `id`)');
    this.addSql('create index `worker_type_id_idx` on `worker` (`type`, `id`)');
    this.addSql('create index `worker_stale_after_idx` on `worker` (`stale_after`)');
    this.addSql(
      'create table `task` (`id` text not null, `kind` text not null, `run_id` text null, `state` text not null, `payload` json not null, `attempts` integer not null default 0, `max_attempts` integer not null, `timeout_seconds` double null, `worker_id` text null, `created_at` datetime not null, `started_at` datetime null, `deadline_at` datetime null, `ended_at` datetime null, `result` json null, `error` text null, `execution_time_seconds` double null, constraint `task_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, constraint `task_worker_id_foreign` foreign key(`worker_id`) references `worker`(`id`) on delete set null on update cascade, primary key (`id`))',
    );
    this.addSql('create index `task_state_kind_id_idx` on `task` (`state`, `kind`, `id`)');
    this.addSql('create index `task_state_id_idx` on `task` (`state`, `id`)');
    this.addSql('create index `task_run_id_id_idx` on `task` (`run_id`, `id`)');
    this.addSql('create index `task_worker_id_state_idx` on `task` (`worker_id`, `state`)');
    this.addSql('create index `task_deadline_at_idx` on `task` (`deadline_at`)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `task`');
    this.addSql('drop table if exists `worker`');
  }
}

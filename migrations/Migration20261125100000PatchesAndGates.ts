import { Migration } from '@mikro-orm/migrations';

/** The patch ledger (patches, the files they touch, ledger entries, policies) and test gates. */
export class Migration20261125100000PatchesAndGates extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `patch_policy` (`id` text not null, `level` text not null, `project_id` text null, `phase_id` text null, `scope_key` text not null, `constraints` json not null, `created_at` datetime not null, `updated_at` datetime not null, primary key (`id`))',
    );
    this.addSql('create unique index `patch_policy_scope_key_unique` on `patch_policy` (`scope_key`)');
    this.addSql(
      'create table `patch` (`id` text not null, `format` text not null, `project_id` text not null, `run_id` text null, `target_repo` text not null, `base_ref` text null, `base_commit` text null, `origin` json not null, `summary` text null, `scope` json not null, `binary` integer not null, `diff_text` text not null, `reviewers` json not null, `created_at` datetime not null, constraint `patch_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql(
      'create table `patch_file` (`patch_id` text not null, `path` text not null, `project_id` text not null, constraint `patch_file_patch_id_foreign` foreign key(`patch_id`) references `patch`(`id`) on delete cascade on update cascade, primary key (`patch_id`, `path`))',
    );
    this.addSql('create index `patch_file_project_id_path_patch_id_idx` on `patch_file` (`project_id`, `path`, `patch_id`)');
    this.addSql(
      'create table `patch_ledger` (`id` text not null, `patch_id` text not null, `project_id` text not null, `run_id` text null, `phase_id` text null, `workstream_id` text null, `execution_request_id` text null, `state` text not null, `state_history` json not null, `validation` json not null, `apply` json not null, `quarantine` json not null, `relations` json not null, `created_at` datetime not null, `updated_at` datetime not null, constraint `patch_ledger_patch_id_foreign` foreign key(`patch_id`) references `patch`(`id`) on delete cascade on update cascade, constraint `patch_ledger_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create unique index `patch_ledger_patch_id_unique` on `patch_ledger` (`patch_id`)');
    this.addSql('create index `patch_ledger_project_id_id_idx` on `patch_ledger` (`project_id`, `id`)');
    this.addSql('create index `patch_ledger_run_id_id_idx` on `patch_ledger` (`run_id`, `id`)');
    this.addSql('create index `patch_ledger_workstream_id_id_idx` on `patch_ledger` (`workstream_id`, `id`)');
    this.addSql('create index `patch_ledger_state_id_idx` on `patch_ledger` (`state`, `id`)');
    this.addSql(
      'create table `test_gate` (`id` text not null, `name` text not null, `type` text not null, `state` text not null, `project_id` text null, `run_id` text null, `execution_request_id` text null, `criteria` json not null, `execution` json null, `results` json null, `decision` json null, `error_message` text null, `deadline_at` datetime null, `metadata` json not null, `created_at` datetime not null, `updated_at` datetime not null, constraint `test_gate_run_id_foreign` foreign key(`run_id`) references `run`(`id`) on delete cascade on update cascade, primary key (`id`))',
    );
    this.addSql('create index `test_gate_run_id_id_idx` on `test_gate` (`run_id`, `id`)');
    this.addSql('create index `test_gate_project_id_id_idx` on `test_gate` (`project_id`, `id`)');
    this.addSql('create index `test_gate_state_id_idx` on `test_gate` (`state`, `id`)');
    this.addSql('create index `test_gate_deadline_at_idx` on `test_gate` (`deadline_at`)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `test_gate`');
    this.addSql('drop table if exists `patch_ledger`');
    this.addSql('drop table if exists `patch_file`');
    this.addSql('drop table if exists `patch`');
    this.addSql('drop table if exists `patch_policy`');
  }
}

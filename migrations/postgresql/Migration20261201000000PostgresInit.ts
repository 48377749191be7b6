import { Migration } from '@mikro-orm/migrations';

/**
 * PostgreSQL: the whole schema as of SQLite's migrations up to
 * Migration20261130000000RunProjectStateIndex, in one step (PostgreSQL
 * support starts here). Strings are unbounded text, as on SQLite, so the two
 * databases accept the same inputs.
 */
export class Migration20261201000000PostgresInit extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "api_token" ("id" text not null, "name" text not null, "scopes" jsonb not null, "secret_hash" text not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_token_pkey" primary key ("id"))',
    );
    this.addSql('alter table "api_token" add constraint "api_token_secret_hash_unique" unique ("secret_hash")');
    this.addSql('create table "log_sequence" ("name" text not null, "value" bigint not null, constraint "log_sequence_pkey" primary key ("name"))');
    this.addSql(
      'create table "patch_policy" ("id" text not null, "level" text not null, "project_id" text null, "phase_id" text null, "scope_key" text not null, "constraints" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "patch_policy_pkey" primary key ("id"))',
    );
    this.addSql('alter table "patch_policy" add constraint "patch_policy_scope_key_unique" unique ("scope_key")');
    this.addSql('create table "router_config" ("id" text not null, "config" jsonb not null, "created_at" timestamptz not null, constraint "router_config_pkey" primary key ("id"))');
    this.addSql('create table "route_rotation" ("rule_key" text not null, "counter" int not null, constraint "route_rotation_pkey" primary key ("rule_key"))');
    this.addSql(
      'create table "run" ("id" text not null, "project_id" text not null, "phase_id" text not null, "workstream_id" text null, "execution_request_id" text null, "state" text not null, "state_reason" text null, "created_at" timestamptz not null, "started_at" timestamptz null, "ended_at" timestamptz null, "exit_code" int null, "error_message" text null, "origin" jsonb not null, "step_attempts" int not null default 0, "patches_created" int not null default 0, "patches_applied" int not null default 0, "errors" int not null default 0, "metadata" jsonb not null, "halted_by_budget_id" text null, constraint "run_pkey" primary key ("id"))',
    );
    this.addSql('create index "run_project_id_id_idx" on "run" ("project_id", "id")');
    this.addSql('create index "run_phase_id_id_idx" on "run" ("phase_id", "id")');
    this.addSql('create index "run_workstream_id_id_idx" on "run" ("workstream_id", "id")');
    this.addSql('create index "run_state_id_idx" on "run" ("state", "id")');
    this.addSql('create index "run_project_id_state_id_idx" on "run" ("project_id", "state", "id")');
    this.addSql(
      'create table "patch" ("id" text not null, "format" text not null, "project_id" text not null, "run_id" text null, "target_repo" text not null, "base_ref" text null, "base_commit" text null, "origin" jsonb not null, "summary" text null, "scope" jsonb not null, "binary" boolean not null, "diff_text" text not null, "reviewers" jsonb not null, "created_at" timestamptz not null, constraint "patch_pkey" primary key ("id"))',
    );
    this.addSql('create table "patch_file" ("patch_id" text not null, "path" text not null, "project_id" text not null, constraint "patch_file_pkey" primary key ("patch_id", "path"))');
    this.addSql('create index "patch_file_project_id_path_patch_id_idx" on "patch_file" ("project_id", "path", "patch_id")');
    this.addSql(
      'create table "patch_ledger" ("id" text not null, "patch_id" text not null, "project_id" text not null, "run_id" text null, "phase_id" text null, "workstream_id" text null, "execution_request_id" text null, "state" text not null, "state_history" jsonb not null, "validation" jsonb not null, "apply" jsonb not null, "quarantine" jsonb not null, "relations" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "patch_ledger_pkey" primary key ("id"))',
    );
    this.addSql('alter table "patch_ledger" add constraint "patch_ledger_patch_id_unique" unique ("patch_id")');
    this.addSql('create index "patch_ledger_project_id_id_idx" on "patch_ledger" ("project_id", "id")');
    this.addSql('create index "patch_ledger_run_id_id_idx" on "patch_ledger" ("run_id", "id")');
    this.addSql('create index "patch_ledger_workstream_id_id_idx" on "patch_ledger" ("workstream_id", "id")');
    this.addSql('create index "patch_ledger_state_id_idx" on "patch_ledger" ("state", "id")');
    this.addSql(
      'create table "cost_record" ("id" text not null, "run_id" text null, "project_id" text null, "execution_request_id" text null, "resource_type" text not null, "resource_name" text null, "amount_nanos" bigint not null, "currency" text not null, "usage" jsonb null, "recorded_at" timestamptz not null, "model" text null, "metadata" jsonb not null, constraint "cost_record_pkey" primary key ("id"))',
    );
    this.addSql('create index "cost_record_project_id_id_idx" on "cost_record" ("project_id", "id")');
    this.addSql('create index "cost_record_run_id_id_idx" on "cost_record" ("run_id", "id")');
    this.addSql('create index "cost_record_model_id_idx" on "cost_record" ("model", "id")');
    this.addSql('create index "cost_record_resource_type_id_idx" on "cost_record" ("resource_type", "id")');
    this.addSql(
      'create table "budget" ("id" text not null, "scope" text not null, "project_id" text null, "run_id" text null, "currency" text not null, "limit_nanos" text not null, "spent_nanos" text not null, "thresholds" jsonb not null, "crossed" jsonb not null, "action" text not null, "scope_key" text not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "budget_pkey" primary key ("id"))',
    );
    this.addSql('alter table "budget" add constraint "budget_scope_key_unique" unique ("scope_key")');
    this.addSql('create index "budget_project_id_idx" on "budget" ("project_id")');
    this.addSql(
      'create table "step_attempt" ("id" text not null, "run_id" text not null, "sequence" int not null, "tool_id" text not null, "tool_run_id" text null, "execution_request_id" text null, "prompt_id" text null, "state" text not null, "state_reason" text null, "started_at" timestamptz not null, "ended_at" timestamptz null, "exit_code" int null, "input_prompt" text null, "outputs" jsonb not null, "error_log" text null, "metadata" jsonb not null, constraint "step_attempt_pkey" primary key ("id"))',
    );
    this.addSql('alter table "step_attempt" add constraint "step_attempt_run_id_sequence_unique" unique ("run_id", "sequence")');
    this.addSql(
      'create table "run_event" ("id" text not null, "position" bigint not null, "run_id" text not null, "step_id" text null, "ts" timestamptz not null, "kind" text not null, "payload" jsonb not null, constraint "run_event_pkey" primary key ("id"))',
    );
    this.addSql('alter table "run_event" add constraint "run_event_position_unique" unique ("position")');
    this.addSql('create index "run_event_run_id_position_idx" on "run_event" ("run_id", "position")');
    this.addSql(
      'create table "test_gate" ("id" text not null, "name" text not null, "type" text not null, "state" text not null, "project_id" text null, "run_id" text null, "execution_request_id" text null, "criteria" jsonb not null, "execution" jsonb null, "results" jsonb null, "decision" jsonb null, "error_message" text null, "deadline_at" timestamptz null, "metadata" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "test_gate_pkey" primary key ("id"))',
    );
    this.addSql('create index "test_gate_run_id_id_idx" on "test_gate" ("run_id", "id")');
    this.addSql('create index "test_gate_project_id_id_idx" on "test_gate" ("project_id", "id")');
    this.addSql('create index "test_gate_state_id_idx" on "test_gate" ("state", "id")');
    this.addSql('create index "test_gate_deadline_at_idx" on "test_gate" ("deadline_at")');
    this.addSql(
      'create table "tool_state" ("tool_id" text not null, "breaker" jsonb not null, "successes" int not null default 0, "failures" int not null default 0, "latencies" jsonb not null, "in_flight" int not null default 0, "updated_at" timestamptz not null, constraint "tool_state_pkey" primary key ("tool_id"))',
    );
    this.addSql(
      `create table "worker" ("id" text not null, "type" text not null, "state" text not null, "current_task_id" text null, "active_tasks" int not null default 0, "started_at" timestamptz not null, "last_heartbeat_at" timestamptz null, "heartbeat_progress" double precision null, "stale_after" timestamptz not null, "timeout_seconds" double precision not null, "stopped_at" timestamptz null, "crash_info" jsonb null, "tasks_completed" int not null default 0, "tasks_failed" int not null default 0, "total_execution_time" double precision not null default 0, "config" jsonb not null, "metadata" jsonb not null, "registered_by_token_id" text null, "tools" jsonb not null default '[]', constraint "worker_pkey" primary key ("id"))`,
    );
    this.addSql('create index "worker_state_id_idx" on "worker" ("state", "id")');
    this.addSql('create index "worker_type_id_idx" on "worker" ("type", "id")');
    this.addSql('create index "worker_stale_after_idx" on "worker" ("stale_after")');
    this.addSql(
      'create table "workstream" ("id" text not null, "spec_id" text not null, "project_id" text not null, "phase_id" text not null, "name" text not null, "objective" text not null, "run_id" text not null, "max_parallel" int not null, "error_strategy" text not null, "running_tasks" int not null default 0, "spec" jsonb not null, "created_at" timestamptz not null, constraint "workstream_pkey" primary key ("id"))',
    );
    this.addSql('alter table "workstream" add constraint "workstream_run_id_unique" unique ("run_id")');
    this.addSql('create index "workstream_project_id_id_idx" on "workstream" ("project_id", "id")');
    this.addSql(
      `create table "task" ("id" text not null, "kind" text not null, "run_id" text null, "state" text not null, "payload" jsonb not null, "attempts" int not null default 0, "max_attempts" int not null, "timeout_seconds" double precision null, "worker_id" text null, "created_at" timestamptz not null, "started_at" timestamptz null, "deadline_at" timestamptz null, "ended_at" timestamptz null, "result" jsonb null, "error" text null, "execution_time_seconds" double precision null, "workstream_id" text null, "spec_task_id" text null, "name" text null, "depends_on" jsonb not null default '[]', "unmet_dependencies" int not null default 0, "level" int null, "on_failure" text null, "retry_strategy" text null, "next_attempt_at" timestamptz null, "tool_id" text null, "route_error" text null, "route_strategy" text null, "execution_request_id" text null, constraint "task_pkey" primary key ("id"))`,
    );
    this.addSql('create index "task_state_kind_id_idx" on "task" ("state", "kind", "id")');
    this.addSql('create index "task_state_id_idx" on "task" ("state", "id")');
    this.addSql('create index "task_run_id_id_idx" on "task" ("run_id", "id")');
    this.addSql('create index "task_worker_id_state_idx" on "task" ("worker_id", "state")');
    this.addSql('create index "task_deadline_at_idx" on "task" ("deadline_at")');
    this.addSql('create index "task_workstream_id_state_idx" on "task" ("workstream_id", "state")');
    this.addSql(
      'create table "execution_request" ("id" text not null, "project_id" text not null, "run_id" text null, "task_id" text not null, "task_kind" text not null, "attempt" int not null, "tool_id" text null, "document" jsonb not null, "created_at" timestamptz not null, constraint "execution_request_pkey" primary key ("id"))',
    );
    this.addSql('create index "execution_request_project_id_id_idx" on "execution_request" ("project_id", "id")');
    this.addSql('create index "execution_request_run_id_id_idx" on "execution_request" ("run_id", "id")');
    this.addSql('create index "execution_request_task_kind_id_idx" on "execution_request" ("task_kind", "id")');
    this.addSql('alter table "patch" add constraint "patch_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "patch_file" add constraint "patch_file_patch_id_foreign" foreign key ("patch_id") references "patch" ("id") on update cascade on delete cascade');
    this.addSql('alter table "patch_ledger" add constraint "patch_ledger_patch_id_foreign" foreign key ("patch_id") references "patch" ("id") on update cascade on delete cascade');
    this.addSql('alter table "patch_ledger" add constraint "patch_ledger_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "cost_record" add constraint "cost_record_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "budget" add constraint "budget_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "step_attempt" add constraint "step_attempt_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "run_event" add constraint "run_event_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "run_event" add constraint "run_event_step_id_foreign" foreign key ("step_id") references "step_attempt" ("id") on update cascade on delete cascade');
    this.addSql('alter table "test_gate" add constraint "test_gate_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "workstream" add constraint "workstream_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "task" add constraint "task_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "task" add constraint "task_worker_id_foreign" foreign key ("worker_id") references "worker" ("id") on update cascade on delete set null');
    this.addSql('alter table "task" add constraint "task_workstream_id_foreign" foreign key ("workstream_id") references "workstream" ("id") on update cascade on delete cascade');
    this.addSql('alter table "execution_request" add constraint "execution_request_run_id_foreign" foreign key ("run_id") references "run" ("id") on update cascade on delete cascade');
    this.addSql('alter table "execution_request" add constraint "execution_request_task_id_foreign" foreign key ("task_id") references "task" ("id") on update cascade on delete cascade');
    this.addSql('create index "run_event_step_id_index" on "run_event" ("step_id")');
    this.addSql('create index "execution_request_task_id_index" on "execution_request" ("task_id")');
    this.addSql(`insert into "log_sequence" ("name", "value") values ('run_event', 0)`);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "execution_request" cascade');
    this.addSql('drop table if exists "task" cascade');
    this.addSql('drop table if exists "workstream" cascade');
    this.addSql('drop table if exists "worker" cascade');
    this.addSql('drop table if exists "tool_state" cascade');
    this.addSql('drop table if exists "test_gate" cascade');
    this.addSql('drop table if exists "run_event" cascade');
    this.addSql('drop table if exists "step_attempt" cascade');
    this.addSql('drop table if exists "budget" cascade');
    this.addSql('drop table if exists "cost_record" cascade');
    this.addSql('drop table if exists "patch_ledger" cascade');
    this.addSql('drop table if exists "patch_file" cascade');
    this.addSql('drop table if exists "patch" cascade');
    this.addSql('drop table if exists "run" cascade');
    this.addSql('drop table if exists "route_rotation" cascade');
    this.addSql('drop table if exists "router_config" cascade');
    this.addSql('drop table if exists "patch_policy" cascade');
    this.addSql('drop table if exists "log_sequence" cascade');
    this.addSql('drop table if exists "api_token" cascade');
  }
}

import { Migration } from '@mikro-orm/migrations';

/** As the SQLite migration of the same name: each step's log summary and its stored chunks (bytea, which holds a NUL as text cannot). */
export class Migration20261207000000StepLogs extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "step_attempt" add column "log_size" int not null default 0, add column "log_cut_from" int null, add column "log_cut_to" int null');
    this.addSql(
      'create table "step_log_chunk" ("step_id" text not null, "end_offset" int not null, "start_offset" int not null, "stream" text not null, "bytes" bytea not null, "at" timestamptz not null, constraint "step_log_chunk_pkey" primary key ("step_id", "end_offset"))',
    );
    this.addSql('alter table "step_log_chunk" add constraint "step_log_chunk_step_id_foreign" foreign key ("step_id") references "step_attempt" ("id") on update cascade on delete cascade');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists "step_log_chunk"');
    this.addSql('alter table "step_attempt" drop column "log_size", drop column "log_cut_from", drop column "log_cut_to"');
  }
}

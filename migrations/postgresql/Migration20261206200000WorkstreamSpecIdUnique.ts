import { Migration } from '@mikro-orm/migrations';

/** As the SQLite migration of the same name: earlier duplicates renamed "<workstream_id>~<id>", then one workstream_id per project. */
export class Migration20261206200000WorkstreamSpecIdUnique extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'update "workstream" set "spec_id" = "spec_id" || \'~\' || "id" where exists (select 1 from "workstream" as "first" where "first"."project_id" = "workstream"."project_id" and "first"."spec_id" = "workstream"."spec_id" and "first"."id" < "workstream"."id")',
    );
    this.addSql('alter table "workstream" add constraint "workstream_project_id_spec_id_unique" unique ("project_id", "spec_id")');
  }

  override async down(): Promise<void> {
    this.addSql('alter table "workstream" drop constraint "workstream_project_id_spec_id_unique"');
  }
}

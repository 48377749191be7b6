import { Migration } from '@mikro-orm/migrations';

/**
 * A workstream_id names one workstream per project (submitWorkstream is idempotent, or ALREADY_EXISTS).
 * Before, submitting a workstream_id again made another workstream: those later copies keep their rows
 * and get "<workstream_id>~<their id>" as spec_id, so the index can be built and every copy stays findable.
 */
export class Migration20261206200000WorkstreamSpecIdUnique extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "update `workstream` set `spec_id` = `spec_id` || '~' || `id` where exists (select 1 from `workstream` as `first` where `first`.`project_id` = `workstream`.`project_id` and `first`.`spec_id` = `workstream`.`spec_id` and `first`.`id` < `workstream`.`id`);",
    );
    this.addSql('create unique index `workstream_project_id_spec_id_unique` on `workstream` (`project_id`, `spec_id`);');
  }

  override async down(): Promise<void> {
    this.addSql('drop index `workstream_project_id_spec_id_unique`;');
  }
}

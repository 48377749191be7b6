import { Migration } from '@mikro-orm/migrations';

/** runs filtered by project and state: without it a page or count walks every run of the state (bench/suites/5-growth.ts). */
export class Migration20261130000000RunProjectStateIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql('create index `run_project_id_state_id_idx` on `run` (`project_id`, `state`, `id`);');
  }

  override async down(): Promise<void> {
    this.addSql('drop index `run_project_id_state_id_idx`;');
  }
}

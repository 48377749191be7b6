import { Migration } from '@mikro-orm/migrations';

/** As the SQLite migration of the same name: the task attempt a step runs in. */
export class Migration20261207100000StepTasks extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "step_attempt" add column "task_id" text null, add column "task_attempt" int null');
    this.addSql('create index "step_attempt_task_id_idx" on "step_attempt" ("task_id")');
  }

  override async down(): Promise<void> {
    this.addSql('drop index "step_attempt_task_id_idx"');
    this.addSql('alter table "step_attempt" drop column "task_id", drop column "task_attempt"');
  }
}

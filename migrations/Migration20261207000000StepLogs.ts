import { Migration } from '@mikro-orm/migrations';

/** Step logs: each step's log summary (bytes appended, the range cut from the middle) and its stored chunks, as UTF-8 bytes. */
export class Migration20261207000000StepLogs extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `step_attempt` add column `log_size` integer not null default 0;');
    this.addSql('alter table `step_attempt` add column `log_cut_from` integer null;');
    this.addSql('alter table `step_attempt` add column `log_cut_to` integer null;');
    this.addSql(
      'create table `step_log_chunk` (`step_id` text not null, `end_offset` integer not null, `start_offset` integer not null, `stream` text not null, `bytes` blob not null, `at` datetime not null, constraint `step_log_chunk_step_id_foreign` foreign key(`step_id`) references `step_attempt`(`id`) on delete cascade on update cascade, primary key (`step_id`, `end_offset`));',
    );
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `step_log_chunk`;');
    this.addSql('alter table `step_attempt` drop column `log_size`;');
    this.addSql('alter table `step_attempt` drop column `log_cut_from`;');
    this.addSql('alter table `step_attempt` drop column `log_cut_to`;');
  }
}

import { Migration } from '@mikro-orm/migrations';

/** API tokens: hashed secrets with scopes, expiry and revocation. */
export class Migration20261124150000ApiTokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `api_token` (`id` text not null, `name` text not null, `scopes` json not null, `secret_hash` text not null, `created_at` datetime not null, `last_used_at` datetime null, `expires_at` datetime null, `revoked_at` datetime null, primary key (`id`))',
    );
    this.addSql('create unique index `api_token_secret_hash_unique` on `api_token` (`secret_hash`)');
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists `api_token`');
  }
}

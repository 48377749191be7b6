import { Migration } from '@mikro-orm/migrations';

/** Every instance asks each second for the tokens revoked lately (TokenService.pollRevocations): a range read of this index. */
export class Migration20261206000000ApiTokenRevokedAtIndex extends Migration {
  override async up(): Promise<void> {
    this.addSql('create index `api_token_revoked_at_idx` on `api_token` (`revoked_at`);');
  }

  override async down(): Promise<void> {
    this.addSql('drop index `api_token_revoked_at_idx`;');
  }
}

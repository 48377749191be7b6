import { parseArgs } from 'node:util';
import { databaseOptions, loadConfig } from '../config.js';
import { migrateDatabase } from '../engine/db/orm.js';
import { openDatabase } from '../engine/database.js';
import { createEngine } from '../engine/index.js';

export const TOKEN_USAGE = `usage:
  uet-gateway token create --name NAME --scopes read,operate[,worker,admin] [--expires-at 2027-01-01T00:00:00Z]
  uet-gateway token list
  uet-gateway token revoke ID`;

/** `uet-gateway token` (or `npm run token --`): manage API tokens on the configured database, for scripts and operators. */
export async function tokenCommand(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, 'expires-at': { type: 'string' } },
  });
  const [command, id] = positionals;
  const config = loadConfig();
  const orm = await openDatabase(databaseOptions(config));
  try {
    await migrateDatabase(orm);
    const { tokens } = createEngine({ orm });
    if (command === 'create') {
      const expiresAt = values['expires-at'] ? new Date(values['expires-at']) : null;
      const { secret, token } = await tokens.create({ name: values.name ?? '', scopes: (values.scopes ?? '').split(',').filter(Boolean), expiresAt });
      console.log(`created ${token.name} (${token.scopes.join(', ')}), id ${token.id}`);
      console.log(secret);
    } else if (command === 'list') {
      for (let after: string | null = null; ;) {
        const page = await tokens.list({ first: 100, after });
        for (const { node } of page.edges) {
          const status = node.revokedAt ? 'revoked' : node.expiresAt && node.expiresAt <= new Date() ? 'expired' : 'active';
          console.log(`${node.id}  ${node.name}  ${node.scopes.join(',')}  ${status}  last used ${node.lastUsedAt?.toISOString() ?? 'never'}`);
        }
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
    } else if (command === 'revoke' && id) {
      const token = await tokens.revoke(id);
      console.log(`revoked ${token.name} (${token.id})`);
    } else {
      console.error(TOKEN_USAGE);
      return 2;
    }
    return 0;
  } finally {
    await orm.close();
  }
}

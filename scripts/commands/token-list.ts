/** `updraft token list`: every API token, active or not, with the apps it is limited to (never the secrets themselves). */

import type { TokenView } from '../../src/protocol/admin-api.ts';
import type { ApiClient } from '../lib/api.ts';
import type { Command } from '../lib/command.ts';
import { formatTable, formatTime } from '../lib/table.ts';
import { scopeOf } from './token-create.ts';

export async function tokenList(opts: { client: ApiClient }): Promise<{ tokens: TokenView[] }> {
  return opts.client.get<{ tokens: TokenView[] }>('/v1/admin/tokens');
}

function stateOf(token: TokenView, now: Date): string {
  if (token.revoked_at) return 'revoked';
  if (token.expires_at && Date.parse(token.expires_at) <= now.getTime()) return 'expired';
  return 'active';
}

export const command: Command = {
  name: 'token list',
  summary: 'list API tokens',
  args: [],
  options: {},
  help: [],
  async run(inv) {
    const view = await tokenList({ client: inv.client() });
    if (inv.config.json) return inv.printJson(view);
    if (view.tokens.length === 0)
      return inv.print('No tokens (the bootstrap UPDRAFT_ADMIN_TOKEN is not listed).');
    const now = new Date();
    inv.print(
      formatTable(
        ['id', 'name', 'role', 'apps', 'state', 'created', 'expires', 'created by'],
        view.tokens.map((t) => [
          t.id,
          t.name,
          t.role,
          scopeOf(t),
          stateOf(t, now),
          formatTime(t.created_at),
          t.expires_at ? formatTime(t.expires_at) : 'never',
          t.created_by,
        ]),
      ),
    );
  },
};

/** `updraft token revoke <id>`: the token stops working at once. */
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { formatTime } from '../lib/table.ts';

export async function tokenRevoke(opts: {
  client: ApiClient;
  id: string;
}): Promise<{ id: string; revoked_at: string }> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(opts.id))
    throw new UserError(`not a token id: "${opts.id}" (see \`updraft token list\`)`);
  return opts.client.request<{ id: string; revoked_at: string }>(
    'DELETE',
    `/v1/admin/tokens/${seg(opts.id)}`,
  );
}

export const command: Command = {
  name: 'token revoke',
  summary: 'revoke an API token',
  args: ['<id>'],
  options: {},
  help: [],
  async run(inv) {
    const result = await tokenRevoke({ client: inv.client(), id: arg(inv.positionals, 0) });
    if (inv.config.json) return inv.printJson(result);
    inv.print(`Revoked token ${result.id} at ${formatTime(result.revoked_at)}.`);
  },
};

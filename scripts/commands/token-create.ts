/** `updraft token create --name <name> --role admin|publisher|analyst [--expires 30d]`: the token is shown once. */

import type { TokenView } from '../../src/protocol/admin-api.ts';
import type { ApiClient } from '../lib/api.ts';
import { type Command, requireStr, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseExpires } from '../lib/parse.ts';
import { formatTime } from '../lib/table.ts';

export const TOKEN_ROLES = ['admin', 'publisher', 'analyst'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export type CreatedToken = Pick<TokenView, 'id' | 'name' | 'role' | 'created_at' | 'expires_at'> & {
  token: string;
};

export async function tokenCreate(opts: {
  client: ApiClient;
  name: string;
  role: TokenRole;
  /** RFC 3339 time, or null for a token that never expires. */
  expiresAt: string | null;
}): Promise<CreatedToken> {
  const name = opts.name.trim();
  if (name === '' || name.length > 100) throw new UserError('--name must be 1-100 characters');
  const body: { name: string; role: TokenRole; expires_at?: string } = { name, role: opts.role };
  if (opts.expiresAt !== null) body.expires_at = opts.expiresAt;
  return opts.client.post<CreatedToken>('/v1/admin/tokens', body);
}

export function parseRole(text: string): TokenRole {
  const role = TOKEN_ROLES.find((r) => r === text);
  if (!role) throw new UserError(`--role must be admin, publisher or analyst, got "${text}"`);
  return role;
}

export const command: Command = {
  name: 'token create',
  summary: 'create an API token (shown once)',
  args: [],
  usage: '--name <name> --role <admin|publisher|analyst> [--expires 30d]',
  options: { name: { type: 'string' }, role: { type: 'string' }, expires: { type: 'string' } },
  help: [
    '--name <name>      who or what uses it, e.g. ci-release (required)',
    '--role <role>      admin, publisher (publish, promote, yank) or analyst (read only) (required)',
    '--expires <when>   30d, 12h, 2w, a date such as 2027-01-31, or never (default 30d)',
  ],
  async run(inv) {
    const created = await tokenCreate({
      client: inv.client(),
      name: requireStr(inv.values, 'name', '<name>'),
      role: parseRole(requireStr(inv.values, 'role', '<admin|publisher|analyst>')),
      expiresAt: parseExpires(str(inv.values, 'expires') ?? '30d'),
    });
    if (inv.config.json) return inv.printJson(created);
    inv.print(
      [
        `Created ${created.role} token ${created.id} (${created.name}), expires ${created.expires_at ? formatTime(created.expires_at) : 'never'}.`,
        'The token is shown once; store it now (e.g. as the UPDRAFT_TOKEN secret of your CI):',
        '',
        `  ${created.token}`,
      ].join('\n'),
    );
  },
};

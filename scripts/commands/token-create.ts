/**
 * `updraft token create --name <name> --role admin|publisher|analyst [--app <app>]… [--expires 30d]`:
 * the token is shown once. With `--app` it is limited to those apps (docs/protocol.md §4): 403 on any other app
 * and on deployment-wide operations (apps, tokens, keys, export and import).
 */

import type { TokenView } from '../../src/protocol/admin-api.ts';
import { ROLES, type Role } from '../../src/protocol/roles.ts';
import type { ApiClient } from '../lib/api.ts';
import { type Command, list, requireStr, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseExpires, parseName } from '../lib/parse.ts';
import { formatTime } from '../lib/table.ts';

export type CreatedToken = Pick<TokenView, 'id' | 'name' | 'role' | 'apps' | 'created_at' | 'expires_at'> & {
  token: string;
};

export async function tokenCreate(opts: {
  client: ApiClient;
  name: string;
  role: Role;
  /** RFC 3339 time, or null for a token that never expires. */
  expiresAt: string | null;
  /** The apps the token is limited to; absent or empty, every app and the deployment. */
  apps?: readonly string[];
}): Promise<CreatedToken> {
  const name = opts.name.trim();
  if (name === '' || name.length > 100) throw new UserError('--name must be 1-100 characters');
  const body: { name: string; role: Role; apps?: string[]; expires_at?: string } = {
    name,
    role: opts.role,
  };
  const apps = opts.apps ?? [];
  if (apps.length > 0) body.apps = apps.map((app) => parseName(app, '--app'));
  if (opts.expiresAt !== null) body.expires_at = opts.expiresAt;
  return opts.client.post<CreatedToken>('/v1/admin/tokens', body);
}

/** What a token may act on, as `token create` and `token list` show it. */
export function scopeOf(token: Pick<TokenView, 'apps'>): string {
  return token.apps ? token.apps.join(', ') : 'every app';
}

export function parseRole(text: string): Role {
  const role = ROLES.find((r) => r === text);
  if (!role) throw new UserError(`--role must be admin, publisher or analyst, got "${text}"`);
  return role;
}

export const command: Command = {
  name: 'token create',
  summary: 'create an API token (shown once)',
  args: [],
  usage: '--name <name> --role <admin|publisher|analyst> [--app <app>]... [--expires 30d]',
  options: {
    name: { type: 'string' },
    role: { type: 'string' },
    app: { type: 'string', multiple: true },
    expires: { type: 'string' },
  },
  help: [
    '--name <name>      who or what uses it, e.g. ci-release (required)',
    '--role <role>      admin, publisher (publish, promote, yank) or analyst (read only) (required)',
    '--app <app>        limit the token to this app (repeat for more); it then gets 403 on other apps',
    '                   and cannot create apps, tokens or keys, export or import (default: every app)',
    '--expires <when>   30d, 12h, 2w, a date such as 2027-01-31, or never (default 30d)',
  ],
  async run(inv) {
    const created = await tokenCreate({
      client: inv.client(),
      name: requireStr(inv.values, 'name', '<name>'),
      role: parseRole(requireStr(inv.values, 'role', '<admin|publisher|analyst>')),
      expiresAt: parseExpires(str(inv.values, 'expires') ?? '30d'),
      apps: list(inv.values, 'app'),
    });
    if (inv.config.json) return inv.printJson(created);
    inv.print(
      [
        `Created ${created.role} token ${created.id} (${created.name}) for ${scopeOf(created)}, expires ${created.expires_at ? formatTime(created.expires_at) : 'never'}.`,
        'The token is shown once; store it now (e.g. as the UPDRAFT_TOKEN secret of your CI):',
        '',
        `  ${created.token}`,
      ].join('\n'),
    );
  },
};

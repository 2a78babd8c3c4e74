/** `updraft history [<app>] [--limit 50] [--before <id>]`: the audit log, newest first. */

import type { AuditEntry } from '../../src/protocol/admin-api.ts';
import type { ApiClient } from '../lib/api.ts';
import { type Command, str } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName } from '../lib/parse.ts';
import { formatTable, formatTime } from '../lib/table.ts';

export interface HistoryOptions {
  client: ApiClient;
  app?: string;
  limit?: number;
  before?: string;
}

export interface HistoryView {
  entries: AuditEntry[];
  next_before?: string | number;
}

export async function history(opts: HistoryOptions): Promise<HistoryView> {
  return opts.client.get<HistoryView>('/v1/admin/audit', {
    query: {
      app: opts.app === undefined ? undefined : parseName(opts.app, 'app name'),
      limit: opts.limit,
      before: opts.before,
    },
  });
}

export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1000) {
    throw new UserError(`--limit must be a whole number from 1 to 1000, got "${text}"`);
  }
  return Number(text);
}

export const command: Command = {
  name: 'history',
  summary: 'the audit log, newest first',
  args: ['[app]'],
  usage: '[app] [--limit <n>] [--before <id>]',
  options: { limit: { type: 'string' }, before: { type: 'string' } },
  help: [
    '--limit <n>    entries to show (default 50)',
    '--before <id>  older entries than this one (paging)',
  ],
  async run(inv) {
    const view = await history({
      client: inv.client(),
      app: inv.positionals[0],
      limit: parseLimit(str(inv.values, 'limit')),
      before: str(inv.values, 'before'),
    });
    if (inv.config.json) return inv.printJson(view);
    if (view.entries.length === 0) return inv.print('No audit entries.');
    inv.print(
      formatTable(
        ['id', 'at', 'actor', 'action', 'app', 'target'],
        view.entries.map((e) => [e.id, formatTime(e.at), e.actor, e.action, e.app, e.target]),
      ),
    );
    if (view.next_before !== undefined && view.next_before !== null) {
      inv.print(
        `More: updraft history${inv.positionals[0] ? ` ${inv.positionals[0]}` : ''} --before ${view.next_before}`,
      );
    }
  },
};

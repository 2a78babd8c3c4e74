/**
 * Each control table's columns are listed once, in its storage module, and backups read and write
 * them from there (storage/backup.ts). A migration that adds a column must add it to that list, or a
 * backup would silently leave it out: the lists are held to what D1 has after every migration.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { APPS_COLUMN_LIST, CHANNELS_BACKUP_COLUMN_LIST } from '../../src/worker/storage/apps.ts';
import { AUDIT_COLUMN_LIST } from '../../src/worker/storage/audit.ts';
import { RELEASES_COLUMN_LIST } from '../../src/worker/storage/releases.ts';
import { ROLLOUT_COLUMN_LIST } from '../../src/worker/storage/rollouts.ts';
import { STANDBY_YANK_COLUMNS } from '../../src/worker/storage/standby-yanks.ts';
import { YANK_COLUMN_LIST } from '../../src/worker/storage/yanks.ts';

async function columnsOf(table: string): Promise<string[]> {
  const { results } = await env.DB.prepare(`SELECT name FROM pragma_table_info(?1) ORDER BY cid`)
    .bind(table)
    .all<{ name: string }>();
  return results.map((row) => row.name);
}

describe('the column lists of the storage modules', () => {
  it.each([
    ['apps', APPS_COLUMN_LIST],
    ['releases', RELEASES_COLUMN_LIST],
    ['rollouts', ROLLOUT_COLUMN_LIST],
    ['yanks', YANK_COLUMN_LIST],
    ['standby_yanks', STANDBY_YANK_COLUMNS],
    ['audit', AUDIT_COLUMN_LIST],
  ] as const)('are every column of %s', async (table, list) => {
    expect([...list].sort()).toEqual((await columnsOf(table)).sort());
  });

  it('are every column of channels but projected_revision, which the projector derives again', async () => {
    const columns = (await columnsOf('channels')).filter((name) => name !== 'projected_revision');
    expect([...CHANNELS_BACKUP_COLUMN_LIST].sort()).toEqual(columns.sort());
  });
});

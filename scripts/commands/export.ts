/**
 * `updraft export <app|--all> <dir> [--with-artifacts]`: writes the control plane of a deployment (or
 * of one app) to a new folder as readable JSON and the signed documents as `.jws` files
 * (docs/backup.md). The folder holds webhook secrets and token hashes: keep it like the database.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type AppExport,
  AUDIT_PAGE_ROWS,
  type AuditRange,
  type AuditRow,
  type ExportIndex,
} from '../../src/protocol/backup.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { artifactsOf, downloadArtifact } from '../lib/backup-artifacts.ts';
import {
  type FolderManifest,
  folderPaths,
  prepareFolder,
  writeApp,
  writeJson,
  writeKeys,
  writeTokens,
} from '../lib/backup-folder.ts';
import { type Command, flag } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { parseName } from '../lib/parse.ts';
import { type Reporter, silentReporter } from '../lib/progress.ts';
import { formatBytes } from '../lib/table.ts';

export interface ExportOptions {
  client: ApiClient;
  /** One app, or undefined for the whole deployment. */
  app?: string;
  dir: string;
  withArtifacts?: boolean;
  reporter?: Reporter;
}

export interface ExportSummary extends FolderManifest {
  dir: string;
}

/** Appends the audit rows up to `range.max_id` to audit.ndjson, page by page; returns what it wrote. */
async function exportAudit(opts: ExportOptions, range: AuditRange, reporter: Reporter): Promise<AuditRange> {
  const path = folderPaths.audit(opts.dir);
  await writeFile(path, '', { flag: 'wx', mode: 0o600 });
  const written: AuditRange = { rows: 0, min_id: null, max_id: null };
  if (range.max_id === null) return written;
  for (let after: number | undefined = 0; after !== undefined; ) {
    const page: { rows: AuditRow[]; next_after?: number } = await opts.client.get('/v1/admin/export/audit', {
      query: { after, until: range.max_id, app: opts.app, limit: AUDIT_PAGE_ROWS },
    });
    if (page.rows.length === 0) break;
    await appendFile(path, page.rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    written.rows += page.rows.length;
    written.min_id ??= page.rows[0]?.id ?? null;
    written.max_id = page.rows.at(-1)?.id ?? written.max_id;
    after = page.next_after;
  }
  reporter.info(`exported ${written.rows} audit rows`);
  return written;
}

export async function exportDeployment(opts: ExportOptions): Promise<ExportSummary> {
  const reporter = opts.reporter ?? silentReporter;
  const app = opts.app === undefined ? undefined : parseName(opts.app, 'app name');
  const dir = resolve(opts.dir);
  await prepareFolder(dir);
  const index = await opts.client.get<ExportIndex>('/v1/admin/export', { query: { app } });
  if (index.keys.length === 0)
    throw new UserError('the server has no keys document yet: there is nothing to export');

  await writeKeys(dir, index.keys);
  reporter.info(`exported keys documents ${index.keys.map((k) => k.version).join(', ')}`);
  if (index.scope === 'all') {
    await writeTokens(dir, index.tokens);
    reporter.info(`exported ${index.tokens.length} tokens (hashes only)`);
  }
  const apps: AppExport[] = [];
  for (const name of index.apps) {
    const data = await opts.client.get<AppExport>(`/v1/admin/export/apps/${seg(name)}`);
    await writeApp(dir, data);
    apps.push(data);
    reporter.info(
      `exported app ${name}: ${data.channels.length} channels, ${data.releases.length} releases, ${data.rollouts.length} rollouts, ${data.yanks.length} yanks, ${data.standby_yanks?.length ?? 0} standby yanks`,
    );
  }
  const audit = await exportAudit({ ...opts, app, dir }, index.audit, reporter);

  const artifacts = { included: opts.withArtifacts === true, files: 0, bytes: 0 };
  if (opts.withArtifacts) {
    for (const ref of artifactsOf(apps)) {
      await downloadArtifact(opts.client.server, dir, ref, reporter);
      artifacts.files++;
      artifacts.bytes += ref.artifact.size;
    }
  }
  const sum = (pick: (a: AppExport) => unknown[]) => apps.reduce((n, a) => n + pick(a).length, 0);
  const manifest: FolderManifest = {
    format_version: index.format_version,
    exported_at: index.exported_at,
    source: index.source,
    scope: index.scope,
    apps: index.apps,
    keys: index.keys.map((k) => k.version),
    counts: {
      tokens: index.tokens.length,
      channels: sum((a) => a.channels),
      releases: sum((a) => a.releases),
      rollouts: sum((a) => a.rollouts),
      yanks: sum((a) => a.yanks),
      standby_yanks: sum((a) => a.standby_yanks ?? []),
    },
    audit,
    artifacts,
  };
  // Last: a folder without manifest.json is an export that did not finish, and import refuses it.
  await writeJson(folderPaths.manifest(dir), manifest);
  return { dir, ...manifest };
}

export function describeExport(summary: ExportSummary): string {
  const { counts } = summary;
  const what = summary.scope === 'all' ? 'the deployment' : `app ${summary.apps[0] ?? ''}`;
  const lines = [
    `Exported ${what} from ${summary.source} to ${summary.dir}:`,
    `  ${summary.apps.length} apps, ${counts.channels} channels, ${counts.releases} releases, ${counts.rollouts} rollouts, ${counts.yanks} yanks, ${counts.standby_yanks ?? 0} standby yanks`,
    `  keys documents ${summary.keys.join(', ')}; ${counts.tokens} tokens; ${summary.audit.rows} audit rows`,
    summary.artifacts.included
      ? `  ${summary.artifacts.files} artifacts (${formatBytes(summary.artifacts.bytes)}), each checked against its manifest`
      : '  artifacts not included (add --with-artifacts to download them)',
    'The folder holds webhook secrets and token hashes: keep it as safe as the database.',
  ];
  return lines.join('\n');
}

export const command: Command = {
  name: 'export',
  summary: 'write the control plane (or one app) to a folder, for backup, audit or restore',
  args: ['[app]', '<dir>'],
  usage: '<app>|--all <dir> [--with-artifacts]',
  options: { all: { type: 'boolean' }, 'with-artifacts': { type: 'boolean' } },
  help: [
    '--all              every app, the tokens and the whole audit log (instead of one <app>)',
    '--with-artifacts   also download every artifact into <dir>/artifacts, checked by SHA-256',
    '<dir> must be new or empty. Needs an admin token.',
  ],
  async run(inv) {
    const all = flag(inv.values, 'all');
    const [first, second] = inv.positionals;
    if (all && second !== undefined) throw new UserError('give --all or an app, not both');
    if (!all && second === undefined) {
      throw new UserError('give an app or --all, then the folder (usage: updraft export <app>|--all <dir>)');
    }
    const summary = await exportDeployment({
      client: inv.client(),
      app: all ? undefined : first,
      dir: (all ? first : second) ?? '',
      withArtifacts: flag(inv.values, 'with-artifacts'),
      reporter: inv.reporter,
    });
    if (inv.config.json) return inv.printJson(summary);
    inv.print(describeExport(summary));
  },
};

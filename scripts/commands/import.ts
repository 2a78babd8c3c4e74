/**
 * `updraft import <dir> [--with-artifacts] [--audit-only]`: restores an export folder into an empty
 * deployment (docs/backup.md). Every file is checked before the server is touched; the server checks
 * every signature again and writes the control plane in one batch, then the audit log follows in
 * pages and, with --with-artifacts, the artifacts.
 */
import { resolve } from 'node:path';
import {
  AUDIT_PAGE_ROWS,
  type ImportAuditResult,
  type ImportCounts,
  type ImportResult,
} from '../../src/protocol/backup.ts';
import { type ApiClient, ServerError } from '../lib/api.ts';
import {
  type ArtifactRef,
  artifactsOf,
  checkLocalArtifact,
  missingArtifacts,
  uploadArtifact,
} from '../lib/backup-artifacts.ts';
import { auditPages, checkAudit, readImportBody, readManifest } from '../lib/backup-read.ts';
import { arg, type Command, flag } from '../lib/command.ts';
import { UserError } from '../lib/errors.ts';
import { type Reporter, silentReporter } from '../lib/progress.ts';
import { formatBytes } from '../lib/table.ts';

/** Audit pages stay well under the server's 4 MiB page limit. */
const AUDIT_PAGE_BYTES = 1024 * 1024;

export interface ImportOptions {
  client: ApiClient;
  dir: string;
  withArtifacts?: boolean;
  /** Only send the audit log (finishing an import whose audit upload was interrupted). */
  auditOnly?: boolean;
  reporter?: Reporter;
}

export interface ImportSummary {
  dir: string;
  source: string;
  apps: string[];
  /** Null with --audit-only. */
  counts: ImportCounts | null;
  audit: { rows: number; inserted: number };
  artifacts: { uploaded: number; bytes: number; missing: number };
}

async function sendAudit(opts: ImportOptions, reporter: Reporter): Promise<number> {
  let inserted = 0;
  for await (const rows of auditPages(opts.dir, AUDIT_PAGE_ROWS, AUDIT_PAGE_BYTES)) {
    let answer: ImportAuditResult;
    try {
      answer = await opts.client.post<ImportAuditResult>('/v1/admin/import/audit', { rows });
    } catch (error) {
      if (error instanceof ServerError && error.is('import_complete')) break;
      throw error;
    }
    inserted += answer.inserted;
    reporter.info(`audit log: ${inserted} rows sent, ${answer.remaining} to go`);
    if (answer.remaining === 0) break;
  }
  return inserted;
}

export async function importDeployment(opts: ImportOptions): Promise<ImportSummary> {
  const reporter = opts.reporter ?? silentReporter;
  const dir = resolve(opts.dir);
  const manifest = await readManifest(dir);
  const body = await readImportBody(dir, manifest);
  await checkAudit(dir, manifest.audit, AUDIT_PAGE_ROWS, AUDIT_PAGE_BYTES);
  const refs: ArtifactRef[] = artifactsOf(body.apps);
  if (opts.withArtifacts) {
    if (!manifest.artifacts.included) throw new UserError(`${dir} was exported without --with-artifacts`);
    for (const ref of refs) await checkLocalArtifact(dir, ref, reporter);
  }
  reporter.info(
    `checked ${dir}: ${body.apps.length} apps, ${body.keys.length} keys documents, ${manifest.audit.rows} audit rows`,
  );

  let counts: ImportCounts | null = null;
  if (!opts.auditOnly) {
    let result: ImportResult;
    try {
      result = await opts.client.post<ImportResult>('/v1/admin/import', body);
    } catch (error) {
      if (error instanceof ServerError && error.is('not_empty')) {
        throw new UserError(
          `${error.message}; to finish the audit log of an interrupted import, run it again with --audit-only`,
        );
      }
      throw error;
    }
    counts = result.counts;
    reporter.info(
      `imported ${result.apps.length} apps, ${counts.channels} channels, ${counts.releases} releases, ${counts.rollouts} rollouts, ${counts.yanks} yanks, ${counts.standby_yanks ?? 0} standby yanks; every channel re-signed`,
    );
  }
  const inserted = manifest.audit.rows > 0 ? await sendAudit({ ...opts, dir }, reporter) : 0;

  const artifacts = { uploaded: 0, bytes: 0, missing: 0 };
  if (opts.withArtifacts) {
    for (const ref of refs) {
      await uploadArtifact(opts.client, dir, ref, reporter);
      artifacts.uploaded++;
      artifacts.bytes += ref.artifact.size;
    }
  } else if (!opts.auditOnly) {
    artifacts.missing = (await missingArtifacts(opts.client.server, refs)).length;
    if (artifacts.missing > 0) {
      reporter.info(
        `${artifacts.missing} of ${refs.length} artifacts are not on this server yet: copy the R2 bucket, or import a folder exported --with-artifacts with --with-artifacts`,
      );
    }
  }
  return {
    dir,
    source: manifest.source,
    apps: body.apps.map((a) => a.app.name),
    counts,
    audit: { rows: manifest.audit.rows, inserted },
    artifacts,
  };
}

export function describeImport(summary: ImportSummary): string {
  const { counts, artifacts } = summary;
  const lines = [
    counts
      ? `Imported ${summary.dir} (exported from ${summary.source}): ${counts.apps} apps, ${counts.channels} channels, ${counts.releases} releases, ${counts.rollouts} rollouts, ${counts.yanks} yanks, ${counts.standby_yanks ?? 0} standby yanks, ${counts.keys} keys documents, ${counts.tokens} tokens.`
      : `Finished the audit log of the import of ${summary.dir}.`,
    `  audit log: ${summary.audit.inserted} of ${summary.audit.rows} rows added`,
  ];
  if (artifacts.uploaded > 0)
    lines.push(`  artifacts: ${artifacts.uploaded} uploaded (${formatBytes(artifacts.bytes)})`);
  if (artifacts.missing > 0) lines.push(`  artifacts: ${artifacts.missing} not on this server yet`);
  if (counts)
    lines.push("Every channel was re-signed with this server's online key, one revision past the export.");
  return lines.join('\n');
}

export const command: Command = {
  name: 'import',
  summary: 'restore an export folder into an empty deployment',
  args: ['<dir>'],
  usage: '<dir> [--with-artifacts] [--audit-only]',
  options: { 'with-artifacts': { type: 'boolean' }, 'audit-only': { type: 'boolean' } },
  help: [
    '--with-artifacts   also upload <dir>/artifacts (each checked by SHA-256 first)',
    '--audit-only       only send the audit log: finishes an import whose audit upload was interrupted',
    "The server must have no apps and run with the exported deployment's online key. Needs an admin token.",
  ],
  async run(inv) {
    const summary = await importDeployment({
      client: inv.client(),
      dir: arg(inv.positionals, 0),
      withArtifacts: flag(inv.values, 'with-artifacts'),
      auditOnly: flag(inv.values, 'audit-only'),
      reporter: inv.reporter,
    });
    if (inv.config.json) return inv.printJson(summary);
    inv.print(describeImport(summary));
  },
};

/**
 * Reads an export folder back into the body of `POST /v1/admin/import` and pages of audit rows,
 * checking every file on the way so that a damaged folder is refused before the server is touched.
 * The `.jws` files are the signed documents; each readable `.json` next to one must still belong to
 * it (its SHA-256 field), and only its `created_at` is taken from it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import semverCompare from 'semver/functions/compare.js';
import { z } from 'zod';
import {
  type AppExport,
  type AuditRange,
  type AuditRow,
  appEntrySchema,
  appExportSchema,
  auditRangeSchema,
  auditRowSchema,
  BACKUP_FORMAT_VERSION,
  channelEntrySchema,
  type ImportBody,
  rolloutEntrySchema,
  standbyYankEntrySchema,
  tokenEntrySchema,
} from '../../src/protocol/backup.ts';
import { sha256HexSchema, versionSchema } from '../../src/protocol/documents.ts';
import { expoSignatureSchema } from '../../src/protocol/expo.ts';
import {
  documentsIn,
  type FolderManifest,
  folderPaths,
  parseOrThrow,
  readJson,
  readJws,
  readOptionalJson,
  readText,
} from './backup-folder.ts';
import { UserError } from './errors.ts';
import { isCode } from './keys-folder.ts';

const count = z.number().int().min(0);
const manifestSchema = z.object({
  format_version: z.number().int(),
  exported_at: z.string(),
  source: z.string(),
  scope: z.enum(['all', 'app']),
  apps: z.array(z.string()),
  keys: z.array(z.number().int().min(1)).min(1),
  counts: z.object({
    tokens: count,
    channels: count,
    releases: count,
    rollouts: count,
    yanks: count,
    standby_yanks: count.optional(),
  }),
  audit: auditRangeSchema,
  artifacts: z.object({ included: z.boolean(), files: count, bytes: count }),
});

const createdAt = z.object({ created_at: z.string() });
const releaseJson = createdAt.extend({ version: versionSchema, release_sha256: sha256HexSchema });
const yankJson = createdAt.extend({
  version: versionSchema,
  yank_sha256: sha256HexSchema,
  expo_directive_signature: expoSignatureSchema.optional(),
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function readManifest(dir: string): Promise<FolderManifest> {
  try {
    await readText(folderPaths.manifest(dir));
  } catch {
    throw new UserError(
      `${dir} is not a complete export: manifest.json is missing (an export writes it last)`,
    );
  }
  const manifest = await readJson(folderPaths.manifest(dir), manifestSchema);
  if (manifest.format_version !== BACKUP_FORMAT_VERSION) {
    throw new UserError(
      `${folderPaths.manifest(dir)}: format_version ${manifest.format_version} is not ${BACKUP_FORMAT_VERSION}; use the updraft version that made it`,
    );
  }
  return manifest;
}

/** The versions of the documents in `folder`, lowest first. */
async function versionsIn(folder: string): Promise<string[]> {
  const names = await documentsIn(folder);
  for (const name of names) parseOrThrow(versionSchema, name, `${folder}/${name}.jws`);
  return names.sort(semverCompare);
}

async function readApp(dir: string, name: string): Promise<AppExport> {
  const app = await readJson(folderPaths.app(dir, name, 'app.json'), appEntrySchema);
  if (app.name !== name)
    throw new UserError(`${folderPaths.app(dir, name, 'app.json')}: name is ${app.name}, not ${name}`);
  const releases: AppExport['releases'] = [];
  for (const version of await versionsIn(folderPaths.app(dir, name, 'releases'))) {
    const manifest = await readJws(folderPaths.release(dir, name, version, 'jws'));
    const path = folderPaths.release(dir, name, version, 'json');
    const meta = await readJson(path, releaseJson);
    if (meta.version !== version || meta.release_sha256 !== sha256(manifest)) {
      throw new UserError(`${path} does not belong to ${version}.jws (version or release_sha256 differs)`);
    }
    releases.push({ version, release_sha256: meta.release_sha256, created_at: meta.created_at, manifest });
  }
  const yanks: AppExport['yanks'] = [];
  for (const version of await versionsIn(folderPaths.app(dir, name, 'yanks'))) {
    const yank = await readJws(folderPaths.yank(dir, name, version, 'jws'));
    const path = folderPaths.yank(dir, name, version, 'json');
    const meta = await readJson(path, yankJson);
    if (meta.version !== version || meta.yank_sha256 !== sha256(yank)) {
      throw new UserError(`${path} does not belong to ${version}.jws (version or yank_sha256 differs)`);
    }
    yanks.push({
      version,
      yank_sha256: meta.yank_sha256,
      created_at: meta.created_at,
      yank,
      ...(meta.expo_directive_signature && { expo_directive_signature: meta.expo_directive_signature }),
    });
  }
  const data = {
    app,
    channels: await readJson(folderPaths.app(dir, name, 'channels.json'), z.array(channelEntrySchema)),
    releases,
    rollouts: await readJson(folderPaths.app(dir, name, 'rollouts.json'), z.array(rolloutEntrySchema)),
    yanks,
    standby_yanks: await readOptionalJson(
      folderPaths.app(dir, name, 'standby-yanks.json'),
      z.array(standbyYankEntrySchema),
      [],
    ),
  };
  return parseOrThrow(appExportSchema, data, folderPaths.app(dir, name));
}

/** The import body of a folder: keys, tokens and every app (the audit rows go in pages). */
export async function readImportBody(dir: string, manifest: FolderManifest): Promise<ImportBody> {
  const keys: ImportBody['keys'] = [];
  for (const version of manifest.keys) {
    const meta = await readJson(folderPaths.keys(dir, version, 'json'), createdAt);
    keys.push({
      version,
      created_at: meta.created_at,
      jws: await readJws(folderPaths.keys(dir, version, 'jws')),
    });
  }
  const tokens =
    manifest.scope === 'all' ? await readJson(folderPaths.tokens(dir), z.array(tokenEntrySchema)) : [];
  const apps: AppExport[] = [];
  for (const name of manifest.apps) apps.push(await readApp(dir, name));
  return {
    format_version: BACKUP_FORMAT_VERSION,
    exported_at: manifest.exported_at,
    source: manifest.source,
    scope: manifest.scope,
    keys,
    tokens,
    apps,
    audit: manifest.audit,
  };
}

/** The rows of audit.ndjson in pages of at most `rows` rows and about `bytes` bytes, checked line by line. */
export async function* auditPages(dir: string, rows: number, bytes: number): AsyncGenerator<AuditRow[]> {
  const path = folderPaths.audit(dir);
  const stream = createReadStream(path, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) =>
      reject(isCode(error, 'ENOENT') ? new UserError(`${path} is missing`) : error),
    );
  });
  await opened;
  let page: AuditRow[] = [];
  let size = 0;
  let line = 0;
  for await (const text of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UserError(`${path} line ${line} is not JSON`);
    }
    page.push(parseOrThrow(auditRowSchema, value, `${path} line ${line}`));
    size += text.length;
    if (page.length >= rows || size >= bytes) {
      yield page;
      page = [];
      size = 0;
    }
  }
  if (page.length > 0) yield page;
}

/** Reads the whole audit file once and checks it is the range the manifest names. */
export async function checkAudit(dir: string, expected: AuditRange, pageRows: number, pageBytes: number) {
  const seen: AuditRange = { rows: 0, min_id: null, max_id: null };
  const ids = new Set<number>();
  for await (const page of auditPages(dir, pageRows, pageBytes)) {
    for (const row of page) {
      if (ids.has(row.id)) throw new UserError(`${folderPaths.audit(dir)}: audit id ${row.id} appears twice`);
      ids.add(row.id);
      seen.rows++;
      seen.min_id = Math.min(seen.min_id ?? row.id, row.id);
      seen.max_id = Math.max(seen.max_id ?? row.id, row.id);
    }
  }
  if (seen.rows !== expected.rows || seen.min_id !== expected.min_id || seen.max_id !== expected.max_id) {
    throw new UserError(
      `${folderPaths.audit(dir)} holds ${seen.rows} rows (ids ${seen.min_id}–${seen.max_id}); manifest.json says ${expected.rows} (ids ${expected.min_id}–${expected.max_id})`,
    );
  }
}

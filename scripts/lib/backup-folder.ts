/**
 * The export folder (docs/backup.md § The folder): pretty-printed JSON, one file per table and app,
 * and the signed documents as `.jws` files next to a readable `.json` of each. Files are written in
 * a fixed key order, so two exports of the same state differ only in `manifest.json`'s time.
 *
 *   manifest.json                      what the folder holds; written last (no manifest: incomplete)
 *   keys/<n>.jws, keys/<n>.json        the keys chain
 *   tokens.json                        tokens by hash (never a usable token)
 *   audit.ndjson                       the audit log, one row a line, oldest first
 *   apps/<app>/app.json                settings, rules, webhook (with its secret)
 *   apps/<app>/channels.json, rollouts.json
 *   apps/<app>/releases/<v>.jws|.json  manifests; apps/<app>/yanks/<v>.jws|.json  yank statements
 *   apps/<app>/standby-yanks.json      armed automatic rollbacks (docs/protocol.md §6), each with its statement
 *   artifacts/<app>/<v>/<platform>-<arch>/<file>   with --with-artifacts
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import type { AppExport, AuditRange, KeysEntry, TokenEntry } from '../../src/protocol/backup.ts';
import { decodeDocument } from '../../src/protocol/jws.ts';
import { UserError } from './errors.ts';
import { isCode } from './keys-folder.ts';

export interface FolderManifest {
  format_version: number;
  exported_at: string;
  source: string;
  scope: 'all' | 'app';
  apps: string[];
  keys: number[];
  counts: {
    tokens: number;
    channels: number;
    releases: number;
    rollouts: number;
    yanks: number;
    /** Absent from folders written before automatic rollback. */
    standby_yanks?: number;
  };
  audit: AuditRange;
  artifacts: { included: boolean; files: number; bytes: number };
}

export const folderPaths = {
  manifest: (dir: string) => join(dir, 'manifest.json'),
  keys: (dir: string, version: number, ext: 'jws' | 'json') => join(dir, 'keys', `${version}.${ext}`),
  tokens: (dir: string) => join(dir, 'tokens.json'),
  audit: (dir: string) => join(dir, 'audit.ndjson'),
  app: (dir: string, app: string, file = '') => join(dir, 'apps', app, file),
  release: (dir: string, app: string, version: string, ext: 'jws' | 'json') =>
    join(dir, 'apps', app, 'releases', `${version}.${ext}`),
  yank: (dir: string, app: string, version: string, ext: 'jws' | 'json') =>
    join(dir, 'apps', app, 'yanks', `${version}.${ext}`),
  artifact: (dir: string, app: string, version: string, target: string, file: string) =>
    join(dir, 'artifacts', app, version, target, file),
};

/** An empty (or new) folder for an export, readable by its owner only: it holds webhook secrets. */
export async function prepareFolder(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0) throw new UserError(`${dir} is not empty; export into a new folder`);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function writeNewFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (isCode(error, 'EEXIST')) throw new UserError(`${path} already exists; refusing to overwrite it`);
    throw error;
  }
}

export const writeJson = (path: string, value: unknown) =>
  writeNewFile(path, `${JSON.stringify(value, null, 2)}\n`);
const writeJws = (path: string, jws: string) => writeNewFile(path, `${jws}\n`);

/** The unverified payload of a document the server holds, for the readable `.json` next to it. */
function payloadOf(jws: string): Record<string, unknown> {
  const { payload } = decodeDocument(jws);
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
}

export async function writeKeys(dir: string, keys: readonly KeysEntry[]): Promise<void> {
  for (const entry of keys) {
    const { version: _, ...payload } = payloadOf(entry.jws);
    await writeJson(folderPaths.keys(dir, entry.version, 'json'), {
      version: entry.version,
      created_at: entry.created_at,
      ...payload,
    });
    await writeJws(folderPaths.keys(dir, entry.version, 'jws'), entry.jws);
  }
}

export const writeTokens = (dir: string, tokens: readonly TokenEntry[]) =>
  writeJson(folderPaths.tokens(dir), tokens);

export async function writeApp(dir: string, data: AppExport): Promise<void> {
  const name = data.app.name;
  await writeJson(folderPaths.app(dir, name, 'app.json'), data.app);
  await writeJson(folderPaths.app(dir, name, 'channels.json'), data.channels);
  await writeJson(folderPaths.app(dir, name, 'rollouts.json'), data.rollouts);
  await writeJson(folderPaths.app(dir, name, 'standby-yanks.json'), data.standby_yanks ?? []);
  for (const release of data.releases) {
    const { app: _, version: __, ...payload } = payloadOf(release.manifest);
    await writeJson(folderPaths.release(dir, name, release.version, 'json'), {
      version: release.version,
      release_sha256: release.release_sha256,
      created_at: release.created_at,
      ...payload,
    });
    await writeJws(folderPaths.release(dir, name, release.version, 'jws'), release.manifest);
  }
  for (const yank of data.yanks) {
    const { app: _, version: __, ...payload } = payloadOf(yank.yank);
    await writeJson(folderPaths.yank(dir, name, yank.version, 'json'), {
      version: yank.version,
      yank_sha256: yank.yank_sha256,
      created_at: yank.created_at,
      ...(yank.expo_directive_signature && { expo_directive_signature: yank.expo_directive_signature }),
      ...payload,
    });
    await writeJws(folderPaths.yank(dir, name, yank.version, 'jws'), yank.yank);
  }
}

// ------------------------------------------------------------------------------------------ read

/** A file's text, or a one-line UserError naming it. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new UserError(`${path} is missing`);
    throw error;
  }
}

/** Like readJson, but `fallback` when the file does not exist (a part older folders lack). */
export async function readOptionalJson<T extends z.ZodType>(
  path: string,
  schema: T,
  fallback: z.infer<T>,
): Promise<z.infer<T>> {
  try {
    await readFile(path);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return fallback;
    throw error;
  }
  return readJson(path, schema);
}

/** A JSON file checked against `schema`; a UserError names the file and the first bad field. */
export async function readJson<T extends z.ZodType>(path: string, schema: T): Promise<z.infer<T>> {
  let value: unknown;
  try {
    value = JSON.parse(await readText(path));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path} is not JSON`);
  }
  return parseOrThrow(schema, value, path);
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  throw new UserError(`${where}: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}`);
}

/** A `.jws` file's document (one line, trimmed). */
export async function readJws(path: string): Promise<string> {
  return (await readText(path)).trim();
}

/** The names before `.jws` of the documents in a folder (none when it does not exist). */
export async function documentsIn(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).filter((f) => f.endsWith('.jws')).map((f) => f.slice(0, -'.jws'.length));
  } catch (error) {
    if (isCode(error, 'ENOENT')) return [];
    throw error;
  }
}

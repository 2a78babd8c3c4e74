/**
 * `updraft publish <app> <version> --artifact <platform>-<arch>=<path>... [--expo <dist>]`: hashes
 * (SHA-256 and, for electron-updater, SHA-512) and uploads each artifact with its sidecars, adds the
 * signatures Tauri and Sparkle verify (scripts/lib/updater-fields.ts), adds an artifact per platform of
 * an `npx expo export` folder with its expo-updates manifest (scripts/lib/expo-release.ts), all checked
 * before the first upload, signs the release manifest with the release key and registers it. Re-running after a
 * failure is safe: the server answers 200 to an upload of identical bytes, and `--replace-unregistered`
 * clears other bytes an unregistered upload left at an artifact's path.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import semverValidRange from 'semver/ranges/valid.js';
import type { ReleaseView } from '../../src/protocol/admin-api.ts';
import type { Artifact, ReleasePayload, Sidecar } from '../../src/protocol/documents.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { type ApiClient, seg } from '../lib/api.ts';
import { arg, type Command, flag, list, str, type Values } from '../lib/command.ts';
import { messageOf, UserError } from '../lib/errors.ts';
import { type ExpoPublishOptions, prepareExpoRelease, uploadExpoAssets } from '../lib/expo-release.ts';
import { expoSigningFlags } from '../lib/expo-signing.ts';
import { isCode, readPrivateKey } from '../lib/keys-folder.ts';
import {
  type ArtifactSpec,
  parseArtifactSpec,
  parseName,
  parseTargetValue,
  parseVersion,
  rfc3339,
} from '../lib/parse.ts';
import { type Reporter, silentReporter } from '../lib/progress.ts';
import { formatBytes, formatTable } from '../lib/table.ts';
import { parseUpdater, prepareExtras, type UpdaterFlags } from '../lib/updater-fields.ts';
import {
  guessContentType,
  hashFileDigests,
  isArtifactExists,
  type LocalFile,
  removeUpload,
  type UploadTarget,
  uploadFile,
} from '../lib/upload.ts';

export interface PublishOptions {
  client: ApiClient;
  keysDir: string;
  app: string;
  version: string;
  artifacts: readonly ArtifactSpec[];
  notes?: string;
  mandatory?: boolean;
  critical?: boolean;
  /** Semver range of installed versions that may install this release directly (default `*`). */
  requires?: string;
  reporter?: Reporter;
  now?: Date;
  /** What the updaters of docs/protocol.md §9 verify: sidecars, signatures, OS ranges (scripts/lib/updater-fields.ts). */
  updaters?: UpdaterFlags;
  /**
   * When other bytes already hold an artifact's path (an upload no release registered: a publish
   * that failed, or someone else's), remove them and upload this file instead of stopping.
   */
  replaceUnregistered?: boolean;
  /** `--expo <dist>`: an `npx expo export` folder, published for expo-updates (docs/protocol.md §10). */
  expo?: ExpoPublishOptions;
}

export interface PublishResult {
  app: string;
  version: string;
  release_sha256: string;
  artifacts: Artifact[];
  /** With `--expo`: the export's distinct files uploaded now, and those the server already stored. */
  expo_assets?: { uploaded: number; skipped: number };
}

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const app = parseName(opts.app, 'app name');
  const version = parseVersion(opts.version);
  const requires = opts.requires ?? '*';
  if (semverValidRange(requires) === null)
    throw new UserError(`--requires must be a semver range such as >=1.0.0, got "${requires}"`);
  const notes = opts.notes ?? '';
  if (notes.length > 10_000)
    throw new UserError(`release notes are ${notes.length} characters; at most 10000`);
  if (opts.artifacts.length === 0 && !opts.expo)
    throw new UserError('give at least one --artifact <platform>-<arch>=<path> or --expo <dist>');
  const now = opts.now ?? new Date();
  const updaters = opts.updaters ?? {};
  const expo = opts.expo
    ? await prepareExpoRelease(app, version, opts.expo, updaters.runtime ?? [], opts.client.server, now)
    : undefined;
  const targets = [...(expo?.artifacts ?? []), ...opts.artifacts].map((a) => `${a.platform}-${a.arch}`);
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  if (twice) throw new UserError(`two artifacts for ${twice}; one per platform and arch`);
  const reporter = opts.reporter ?? silentReporter;

  const files = await Promise.all(
    opts.artifacts.map(async (spec) => ({ spec, ...(await inspect(spec.path)) })),
  );
  const extras = await prepareExtras(
    files.map((f) => ({ ...f.spec, file: f.file })),
    expo ? { ...updaters, runtime: expo.otherRuntimes } : updaters,
  );
  const releaseKey = await readPrivateKey(opts.keysDir, 'release');
  const existing = await opts.client.find<ReleaseView>(`/v1/admin/apps/${seg(app)}/releases/${seg(version)}`);
  if (existing)
    throw new UserError(
      `${app} ${version} is already published (releases are immutable; publish a new version)`,
    );

  const expoAssets = expo ? await uploadExpoAssets(opts.client, app, expo.files, reporter) : undefined;
  const artifacts: Artifact[] = [...(expo?.artifacts ?? [])];
  const replace = opts.replaceUnregistered ?? false;
  for (const { spec, size, file } of files) {
    const at = { app, version, platform: spec.platform, arch: spec.arch };
    const where = `${spec.platform}-${spec.arch}`;
    const { sidecars: localSidecars = [], ...fields } = extras.get(where) ?? {};
    const digests = await hashFileDigests(spec.path, size, reporter, `${where}/${file}`);
    const contentType = guessContentType(file);
    const local = { path: spec.path, size, ...digests, contentType };
    await uploadArtifact(opts.client, { ...at, file }, local, reporter, replace);
    const sidecars: Sidecar[] = [];
    for (const sidecar of localSidecars) {
      const label = `${where}/${sidecar.file}`;
      const hashed = await hashFileDigests(sidecar.path, sidecar.size, reporter, label);
      const upload = {
        path: sidecar.path,
        size: sidecar.size,
        ...hashed,
        contentType: guessContentType(sidecar.file),
      };
      await uploadArtifact(opts.client, { ...at, file: sidecar.file }, upload, reporter, replace);
      sidecars.push({ file: sidecar.file, size: sidecar.size, ...hashed });
    }
    artifacts.push({
      platform: spec.platform,
      arch: spec.arch,
      file,
      ...digests,
      size,
      content_type: contentType,
      ...fields,
      ...(sidecars.length > 0 ? { sidecars } : {}),
    });
  }

  const payload: ReleasePayload = {
    app,
    version,
    published_at: rfc3339(now),
    notes,
    mandatory: opts.mandatory ?? false,
    critical: opts.critical ?? false,
    requires,
    artifacts,
  };
  const manifest = await signDocument('release', payload, releaseKey);
  const answer = await opts.client.post<{ app: string; version: string; release_sha256: string }>(
    `/v1/admin/apps/${seg(app)}/releases`,
    { manifest },
  );
  return expoAssets ? { ...answer, artifacts, expo_assets: expoAssets } : { ...answer, artifacts };
}

/**
 * Uploads one file. Other bytes at its path can only be an upload no release registered (the
 * version was checked to be unpublished): say how to clear it, or clear it when asked to.
 */
async function uploadArtifact(
  client: ApiClient,
  target: UploadTarget,
  file: LocalFile,
  reporter: Reporter,
  replace: boolean,
): Promise<void> {
  try {
    await uploadFile(client, target, file, reporter);
  } catch (error) {
    if (!isArtifactExists(error)) throw error;
    const where = `${target.platform}-${target.arch}/${target.file}`;
    if (!replace) {
      throw new UserError(
        `${where} of ${target.app} ${target.version} is already uploaded with other bytes, by an upload no release registered (a failed publish, or someone else's); run publish again with --replace-unregistered to remove it and upload yours, or wait until it expires (\`updraft upload rm ${target.app} ${target.version} ${where}\` removes it)`,
      );
    }
    const removed = await removeUpload(client, target);
    reporter.info(
      `removed the unregistered upload at ${where}: ${formatBytes(removed.size)}, sha256 ${removed.sha256 ?? 'unknown'}, uploaded ${removed.uploaded}`,
    );
    await uploadFile(client, target, file, reporter);
  }
}

async function inspect(path: string): Promise<{ size: number; file: string }> {
  const file = basename(path);
  if (!FILE_NAME.test(file)) {
    throw new UserError(
      `artifact file name "${file}" must be 1-128 of A-Z a-z 0-9 . _ + -, not starting with a dot`,
    );
  }
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UserError(`not a file: ${path}`);
    return { size: info.size, file };
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new UserError(`file not found: ${path}`);
    if (isCode(error, 'EACCES')) throw new UserError(`cannot read ${path}: permission denied`);
    throw error;
  }
}

async function readNotes(values: Values): Promise<string | undefined> {
  const notes = str(values, 'notes');
  const notesFile = str(values, 'notes-file');
  if (notes !== undefined && notesFile !== undefined)
    throw new UserError('give --notes or --notes-file, not both');
  if (notesFile === undefined) return notes;
  try {
    return await readFile(notesFile, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read --notes-file ${notesFile}: ${isCode(error, 'ENOENT') ? 'file not found' : messageOf(error)}`,
    );
  }
}

function updaterFlags(values: Values): UpdaterFlags {
  const sparkleKey = str(values, 'sparkle-key');
  return {
    for: list(values, 'for').map(parseUpdater),
    sidecars: list(values, 'sidecar').map((t) =>
      parseTargetValue(t, 'sidecar', 'windows-x64=dist/App.exe.blockmap'),
    ),
    minisign: list(values, 'minisign').map((t) =>
      parseTargetValue(t, 'minisign', 'darwin-arm64=App.app.tar.gz.sig'),
    ),
    edSignatures: list(values, 'ed-signature').map((t) =>
      parseTargetValue(t, 'ed-signature', 'darwin-arm64=<base64>'),
    ),
    os: list(values, 'os').map((t) => parseTargetValue(t, 'os', 'darwin-arm64=>=13.0.0')),
    runtime: list(values, 'runtime')
      .filter((t) => t.includes('='))
      .map((t) => parseTargetValue(t, 'runtime', 'ios-any=exposdk:52.0.0')),
    ...(sparkleKey === undefined ? {} : { sparkleKey }),
  };
}

/**
 * `--expo <dist>` and what goes with it: `--runtime <rv>` without a target (its own runtime version
 * has no `=`), `--asset-origin`, and the code signing key, whose path and keyid may come from the
 * environment like the keys folder does (CI holds the key; the flags then stay the same everywhere).
 */
function expoFlags(values: Values, env: NodeJS.ProcessEnv): ExpoPublishOptions | undefined {
  const dir = str(values, 'expo');
  const plain = list(values, 'runtime').filter((t) => !t.includes('='));
  if (dir === undefined) {
    if (plain.length > 0)
      throw new UserError(
        `--runtime ${plain[0]}: give --runtime <platform>-<arch>=<runtime>, or a bare runtime with --expo <dist>`,
      );
    const stray = ['expo-private-key', 'expo-keyid', 'expo-certificate', 'asset-origin'].find(
      (name) => str(values, name) !== undefined,
    );
    if (stray) throw new UserError(`--${stray} goes with --expo <dist>`);
    return undefined;
  }
  if (plain.length > 1) throw new UserError(`--runtime is given twice (${plain.join(', ')})`);
  return {
    dir,
    runtime: plain[0],
    assetOrigin: str(values, 'asset-origin'),
    signing: expoSigningFlags(values, env),
  };
}

export const command: Command = {
  name: 'publish',
  summary: 'upload artifacts, sign the release manifest and register it',
  args: ['<app>', '<version>'],
  usage:
    '<app> <version> (--artifact <platform>-<arch>=<path>... | --expo <dist>) [--notes <text>] [--mandatory] [--critical] [--requires <range>] [--for electron|tauri|sparkle] [--sidecar|--minisign|--ed-signature|--os|--runtime <platform>-<arch>=<value>] [--sparkle-key <file>] [--expo-private-key <pem>] [--replace-unregistered]',
  options: {
    artifact: { type: 'string', multiple: true },
    notes: { type: 'string' },
    'notes-file': { type: 'string' },
    mandatory: { type: 'boolean' },
    critical: { type: 'boolean' },
    requires: { type: 'string' },
    'replace-unregistered': { type: 'boolean' },
    for: { type: 'string', multiple: true },
    sidecar: { type: 'string', multiple: true },
    minisign: { type: 'string', multiple: true },
    'ed-signature': { type: 'string', multiple: true },
    'sparkle-key': { type: 'string' },
    os: { type: 'string', multiple: true },
    runtime: { type: 'string', multiple: true },
    expo: { type: 'string' },
    'asset-origin': { type: 'string' },
    'expo-private-key': { type: 'string' },
    'expo-keyid': { type: 'string' },
    'expo-certificate': { type: 'string' },
  },
  help: [
    '--artifact <platform>-<arch>=<path>  a file to ship (repeatable), e.g. linux-x64=dist/app.tar.gz',
    '--notes <text>        release notes',
    '--notes-file <path>   release notes from a file',
    '--mandatory           clients must install it (also when they skip over it)',
    '--critical            a security fix: may skip a staged plan',
    '--requires <range>    installed versions allowed to update to it directly (default *)',
    '--replace-unregistered  remove an upload of other bytes that no release registered, then upload',
    '--for <updater>       electron, tauri or sparkle (repeatable): refuse to publish without what it verifies',
    '--sidecar <platform>-<arch>=<path>  a file stored beside that artifact (repeatable); <artifact>.blockmap is picked up on its own',
    '--minisign <platform>-<arch>=<file.sig>  Tauri signature file (default: <artifact>.sig when it is one)',
    '--ed-signature <platform>-<arch>=<base64>  Sparkle EdDSA signature made by sign_update',
    '--sparkle-key <file>  Sparkle private key (generate_keys -x): sign every darwin artifact here',
    '--os <platform>-<arch>=<range>  OS versions that artifact needs, e.g. darwin-arm64=>=13.0.0',
    '--runtime <platform>-<arch>=<runtime>  the native runtime that artifact is for, e.g. ios-any=exposdk:52.0.0',
    '--expo <dist>         an `npx expo export` folder: an artifact per platform with its expo-updates manifest;',
    '                      assets are uploaded content-addressed, each once across releases',
    "--runtime <runtime>   with --expo: the runtime version of every platform (default: expoConfig.json's)",
    '--asset-origin <url>  with --expo: the origin of asset URLs in manifests (default: the --server origin)',
    "--expo-private-key <pem>  with --expo: sign each manifest with the app's code signing key",
    '                      (env UPDRAFT_EXPO_PRIVATE_KEY; keys/private-key.pem of `updraft expo keys`)',
    '--expo-keyid <id>     codeSigningMetadata.keyid of the app (env UPDRAFT_EXPO_KEYID, default main)',
    "--expo-certificate <pem>  check the key is this certificate's before uploading anything",
  ],
  async run(inv) {
    const result = await publish({
      client: inv.client(),
      keysDir: inv.config.keysDir,
      app: arg(inv.positionals, 0),
      version: arg(inv.positionals, 1),
      artifacts: list(inv.values, 'artifact').map(parseArtifactSpec),
      notes: await readNotes(inv.values),
      mandatory: flag(inv.values, 'mandatory'),
      critical: flag(inv.values, 'critical'),
      requires: str(inv.values, 'requires'),
      replaceUnregistered: flag(inv.values, 'replace-unregistered'),
      updaters: updaterFlags(inv.values),
      expo: expoFlags(inv.values, inv.env),
      reporter: inv.reporter,
    });
    if (inv.config.json) return inv.printJson(result);
    inv.print(
      [
        `Published ${result.app} ${result.version} (release sha256 ${result.release_sha256}).`,
        formatTable(
          ['target', 'file', 'size', 'sha256'],
          result.artifacts.map((a) => [`${a.platform}-${a.arch}`, a.file, formatBytes(a.size), a.sha256]),
        ),
        `Roll it out with: updraft promote ${result.app} ${result.version} --channel <channel> --percent <n>`,
      ].join('\n'),
    );
  },
};

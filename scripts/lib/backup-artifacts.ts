/**
 * Artifacts for `export --with-artifacts` / `import --with-artifacts`: downloaded from the public
 * artifact route and uploaded through the admin upload routes, each checked against the size and
 * SHA-256 its release manifest signs, on the way out and again on the way in.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AppExport } from '../../src/protocol/backup.ts';
import { type Artifact, releasePayloadSchema } from '../../src/protocol/documents.ts';
import { decodeDocument } from '../../src/protocol/jws.ts';
import { type ApiClient, seg } from './api.ts';
import { folderPaths } from './backup-folder.ts';
import { messageOf, UserError } from './errors.ts';
import { isCode } from './keys-folder.ts';
import type { Reporter } from './progress.ts';
import { formatBytes } from './table.ts';
import { guessContentType, hashFile, uploadFile } from './upload.ts';

export interface ArtifactRef {
  app: string;
  version: string;
  artifact: Artifact;
}

const targetOf = (a: Artifact) => `${a.platform}-${a.arch}`;
const labelOf = (ref: ArtifactRef) =>
  `${ref.app} ${ref.version} ${targetOf(ref.artifact)}/${ref.artifact.file}`;

/**
 * Every file the releases of `apps` sign (read from their manifests): each artifact, and each of its
 * sidecars as a file of the same target (stored beside it, checked by its own size and SHA-256).
 */
export function artifactsOf(apps: readonly AppExport[]): ArtifactRef[] {
  return apps.flatMap((data) =>
    data.releases.flatMap((release) => {
      const payload = releasePayloadSchema.parse(decodeDocument(release.manifest).payload);
      return payload.artifacts
        .flatMap((artifact): Artifact[] => [
          artifact,
          ...(artifact.sidecars ?? []).map((s) => ({
            platform: artifact.platform,
            arch: artifact.arch,
            file: s.file,
            sha256: s.sha256,
            size: s.size,
          })),
        ])
        .map((artifact) => ({ app: data.app.name, version: release.version, artifact }));
    }),
  );
}

export const localPath = (dir: string, ref: ArtifactRef) =>
  folderPaths.artifact(dir, ref.app, ref.version, targetOf(ref.artifact), ref.artifact.file);

const publicUrl = (server: string, ref: ArtifactRef) =>
  `${server}/v1/apps/${seg(ref.app)}/artifacts/${seg(ref.version)}/${seg(targetOf(ref.artifact))}/${seg(ref.artifact.file)}`;

/** Downloads one artifact into the folder; refuses bytes that are not the signed ones. */
export async function downloadArtifact(server: string, dir: string, ref: ArtifactRef, reporter: Reporter) {
  const { artifact } = ref;
  let response: Response;
  try {
    response = await fetch(publicUrl(server, ref));
  } catch (error) {
    throw new UserError(`cannot download ${labelOf(ref)}: ${messageOf(error)}`);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new UserError(`cannot download ${labelOf(ref)}: the server answered ${response.status}`);
  }
  const path = localPath(dir, ref);
  const partial = `${path}.partial`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const file = await open(partial, 'wx', 0o600);
  const hash = createHash('sha256');
  const progress = reporter.progress(`downloading ${labelOf(ref)}`, artifact.size);
  let size = 0;
  try {
    for await (const chunk of response.body) {
      hash.update(chunk);
      await file.write(chunk);
      size += chunk.byteLength;
      progress.advance(chunk.byteLength);
    }
  } finally {
    await file.close();
  }
  const sha256 = hash.digest('hex');
  if (size !== artifact.size || sha256 !== artifact.sha256) {
    await rm(partial, { force: true });
    throw new UserError(
      `${labelOf(ref)}: the server sent ${size} bytes with SHA-256 ${sha256}; the manifest signs ${artifact.size} bytes with ${artifact.sha256}`,
    );
  }
  await rename(partial, path);
  progress.done(`downloaded ${labelOf(ref)} (${formatBytes(size)})`);
}

/** Checks that the folder holds exactly the signed bytes of `ref` (before anything is imported). */
export async function checkLocalArtifact(dir: string, ref: ArtifactRef, reporter: Reporter): Promise<void> {
  const path = localPath(dir, ref);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if (isCode(error, 'ENOENT')) throw new UserError(`${path} is missing (export with --with-artifacts)`);
    throw error;
  }
  if (size !== ref.artifact.size) {
    throw new UserError(`${path} is ${size} bytes; the manifest signs ${ref.artifact.size}`);
  }
  const sha256 = await hashFile(path, size, reporter, labelOf(ref));
  if (sha256 !== ref.artifact.sha256) {
    throw new UserError(`${path} has SHA-256 ${sha256}; the manifest signs ${ref.artifact.sha256}`);
  }
}

/** Uploads one checked artifact (the server checks the SHA-256 again; identical bytes already there are fine). */
export async function uploadArtifact(client: ApiClient, dir: string, ref: ArtifactRef, reporter: Reporter) {
  const { artifact } = ref;
  await uploadFile(
    client,
    {
      app: ref.app,
      version: ref.version,
      platform: artifact.platform,
      arch: artifact.arch,
      file: artifact.file,
    },
    {
      path: localPath(dir, ref),
      size: artifact.size,
      sha256: artifact.sha256,
      contentType: artifact.content_type ?? guessContentType(artifact.file),
    },
    reporter,
  );
}

/** The artifacts the server cannot serve (HEAD of the public route is not 200), a few at a time. */
export async function missingArtifacts(server: string, refs: readonly ArtifactRef[]): Promise<ArtifactRef[]> {
  const missing: ArtifactRef[] = [];
  const queue = [...refs];
  const worker = async () => {
    for (let ref = queue.shift(); ref; ref = queue.shift()) {
      const response = await fetch(publicUrl(server, ref), { method: 'HEAD' }).catch(() => undefined);
      if (response?.status !== 200) missing.push(ref);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return missing;
}

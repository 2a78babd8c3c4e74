/**
 * Releases (docs/api.md § Releases): a manifest signed by a release key, whose every artifact and
 * sidecar is already in R2 with exactly the signed size, SHA-256 and (when signed) SHA-512. The
 * Worker never signs a release itself.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { type Artifact, keysPayloadSchema } from '../../../protocol/documents.ts';
import { sha256Hex } from '../../../protocol/encoding.ts';
import { decodeDocument } from '../../../protocol/jws.ts';
import { requireRole } from '../../auth/authenticate.ts';
import { badRequest, conflict, notFound } from '../../http/errors.ts';
import { validate } from '../../http/validate.ts';
import { currentKeyset } from '../../storage/keysets.ts';
import { hashObject, putDocument, storedSha256, trustedSha512 } from '../../storage/objects.ts';
import { artifactKey, releaseDocKey } from '../../storage/projection.ts';
import { getRelease, insertRelease, listReleases } from '../../storage/releases.ts';
import { isGuardFailure, isUniqueViolation } from '../../storage/revisions.ts';
import { type CheckedArtifact, refuseRemovedArtifacts } from '../../storage/uploads.ts';
import type { AppEnv } from '../../types.ts';
import {
  appParams,
  audit,
  jwsSchema,
  releaseLimit,
  requireApp,
  verifyOr400,
  versionParams,
} from './common.ts';
import { checkExpoArtifact } from './expo-release.ts';
import { releaseView } from './views.ts';

const postRelease = z.object({ manifest: jwsSchema });

/** The keys that may sign releases and yanks: `release[]` of the current keys document. */
export async function releaseKeys(db: D1Database) {
  const current = await currentKeyset(db);
  if (!current)
    throw conflict('no_keys', 'no keys document is registered yet; run `updraft keys init` first');
  return keysPayloadSchema.parse(decodeDocument(current.jws).payload).release;
}

/** What a manifest signs of one stored file: an artifact, or one of its sidecars. */
interface SignedFile {
  file: string;
  sha256: string;
  size: number;
  sha512?: string | undefined;
}

/**
 * Checks that R2 holds exactly the signed bytes of `signed` at `target` (400 artifact_missing /
 * artifact_mismatch / sha512_mismatch), and what registration holds against removals of it
 * (storage/uploads.ts). `what` names the file in messages ("artifact", "sidecar of …").
 */
async function checkFile(
  bucket: R2Bucket,
  at: { app: string; version: string; platform: string; arch: string },
  signed: SignedFile,
  what: string,
): Promise<CheckedArtifact> {
  const key = artifactKey(at.app, at.version, at.platform, at.arch, signed.file);
  const checked_at = new Date().toISOString();
  const object = await bucket.head(key);
  if (!object) throw badRequest('artifact_missing', `${what} ${key} has not been uploaded`);
  // A single PUT's hashes were checked as the bytes came in; a multipart object's are recomputed here,
  // in one read, as is the SHA-512 of an object uploaded without declaring one.
  const multipart = object.customMetadata?.multipart === '1';
  const trusted = multipart ? undefined : storedSha256(object);
  const known512 = signed.sha512 === undefined ? undefined : trustedSha512(object);
  const needs512 = signed.sha512 !== undefined && known512 === undefined;
  const hashed =
    trusted === undefined || needs512 ? await hashObject(bucket, key, { sha512: needs512 }) : undefined;
  const sha256 = trusted ?? hashed?.sha256;
  if (object.size !== signed.size || sha256 !== signed.sha256) {
    throw badRequest(
      'artifact_mismatch',
      `${what} ${key} holds ${object.size} bytes with SHA-256 ${sha256}; the manifest signs ${signed.size} bytes with ${signed.sha256}`,
    );
  }
  const sha512 = known512 ?? hashed?.sha512;
  if (signed.sha512 !== undefined && sha512 !== signed.sha512) {
    throw badRequest(
      'sha512_mismatch',
      `${what} ${key} has SHA-512 ${sha512}; the manifest signs ${signed.sha512} (electron-updater would refuse the download)`,
    );
  }
  return { key, version: object.version, checked_at };
}

/** Checks an artifact and each of its sidecars (stored beside it: same version, platform and arch). */
async function checkArtifact(
  bucket: R2Bucket,
  app: string,
  version: string,
  artifact: Artifact,
): Promise<CheckedArtifact[]> {
  // An Expo artifact's bytes are assets, content-addressed and never removed: nothing to hold.
  if (artifact.expo) {
    await checkExpoArtifact(bucket, app, version, artifact);
    return [];
  }
  const at = { app, version, platform: artifact.platform, arch: artifact.arch };
  const checked = [await checkFile(bucket, at, artifact, 'artifact')];
  for (const sidecar of artifact.sidecars ?? []) {
    if (sidecar.file === artifact.file)
      throw badRequest('invalid_sidecar', `sidecar ${sidecar.file} has the name of its artifact`);
    checked.push(await checkFile(bucket, at, sidecar, `sidecar of ${artifact.file}:`));
  }
  return checked;
}

export const releases = new Hono<AppEnv>();

releases.post(
  '/apps/:app/releases',
  requireRole('publisher'),
  releaseLimit,
  validate('param', appParams),
  validate('json', postRelease),
  async (c) => {
    const { app } = c.req.valid('param');
    const { manifest } = c.req.valid('json');
    await requireApp(c.env.DB, app);
    const release = await verifyOr400('release', manifest, await releaseKeys(c.env.DB));
    if (release.app !== app)
      throw badRequest('app_mismatch', `the manifest is for app ${release.app}, not ${app}`);
    const exists = () => conflict('release_exists', `${app} ${release.version} is already registered`);
    if (await getRelease(c.env.DB, app, release.version)) throw exists();
    const checked: CheckedArtifact[] = [];
    for (const artifact of release.artifacts)
      checked.push(...(await checkArtifact(c.env.BUCKET, app, release.version, artifact)));

    const now = new Date();
    const release_sha256 = await sha256Hex(manifest);
    const result = { app, version: release.version, release_sha256 };
    try {
      await c.env.DB.batch([
        // An upload removed (or being removed) since it was checked above fails the batch.
        refuseRemovedArtifacts(c.env.DB, checked),
        insertRelease(c.env.DB, release, manifest, release_sha256, now),
        audit(c, now, {
          action: 'release.register',
          app,
          target: release.version,
          before: null,
          after: result,
        }),
      ]);
    } catch (error) {
      if (isGuardFailure(error)) {
        throw conflict(
          'artifact_removed',
          'an artifact of this release was removed (or expired, as an upload no release had registered) while it was being registered; upload it again and retry',
        );
      }
      throw isUniqueViolation(error) ? exists() : error;
    }
    if (!(await putDocument(c.env.BUCKET, releaseDocKey(app, release.version), manifest))) {
      console.warn(
        `${releaseDocKey(app, release.version)} already holds another manifest; D1 keeps this one`,
      );
    }
    return c.json(result, 201);
  },
);

releases.get('/apps/:app/releases', requireRole('analyst'), validate('param', appParams), async (c) => {
  const { app } = c.req.valid('param');
  await requireApp(c.env.DB, app);
  return c.json({ releases: (await listReleases(c.env.DB, app)).map(releaseView) });
});

releases.get(
  '/apps/:app/releases/:version',
  requireRole('analyst'),
  validate('param', versionParams),
  async (c) => {
    const { app, version } = c.req.valid('param');
    await requireApp(c.env.DB, app);
    const release = await getRelease(c.env.DB, app, version);
    if (!release) throw notFound('unknown_release', `${app} has no release ${version}`);
    return c.json({ ...releaseView(release), manifest: release.manifest_jws });
  },
);

/**
 * Releases (docs/api.md § Releases): a manifest signed by a release key, whose every artifact is
 * already in R2 with exactly the signed size and SHA-256. The Worker never signs a release itself.
 */
import { Hono } from 'hono';
import * as z from 'zod';
import { type Artifact, keysPayloadSchema } from '../../../protocol/documents.ts';
import { sha256Hex } from '../../../protocol/encoding.ts';
import { decodeDocument } from '../../../protocol/jws.ts';
import { requireRole } from '../../auth.ts';
import { badRequest, conflict, notFound } from '../../errors.ts';
import { currentKeyset } from '../../storage/keysets.ts';
import { hashObject, putDocument, storedSha256 } from '../../storage/objects.ts';
import { artifactKey, releaseDocKey } from '../../storage/projection.ts';
import { getRelease, insertRelease, listReleases } from '../../storage/releases.ts';
import { isGuardFailure, isUniqueViolation } from '../../storage/revisions.ts';
import { type CheckedArtifact, refuseRemovedArtifacts } from '../../storage/uploads.ts';
import type { AppEnv } from '../../types.ts';
import { validate } from '../../validate.ts';
import { appParams, audit, jsonLimit, jwsSchema, requireApp, verifyOr400, versionParams } from './common.ts';
import { releaseView } from './views.ts';

const postRelease = z.object({ manifest: jwsSchema });

/** The keys that may sign releases and yanks: `release[]` of the current keys document. */
export async function releaseKeys(db: D1Database) {
  const current = await currentKeyset(db);
  if (!current)
    throw conflict('no_keys', 'no keys document is registered yet; run `updraft keys init` first');
  return keysPayloadSchema.parse(decodeDocument(current.jws).payload).release;
}

/**
 * Checks that R2 holds exactly the signed bytes of `artifact` (400 artifact_missing / artifact_mismatch),
 * and what registration holds against removals of it (storage/uploads.ts).
 */
async function checkArtifact(
  bucket: R2Bucket,
  app: string,
  version: string,
  artifact: Artifact,
): Promise<CheckedArtifact> {
  const key = artifactKey(app, version, artifact.platform, artifact.arch, artifact.file);
  const checked_at = new Date().toISOString();
  const object = await bucket.head(key);
  if (!object) throw badRequest('artifact_missing', `${key} has not been uploaded`);
  // A single PUT's hash was checked by R2 itself; a multipart object's is recomputed here.
  const trusted = object.customMetadata?.multipart === '1' ? undefined : storedSha256(object);
  const sha256 = trusted ?? (await hashObject(bucket, key))?.sha256;
  if (object.size !== artifact.size || sha256 !== artifact.sha256) {
    throw badRequest(
      'artifact_mismatch',
      `${key} holds ${object.size} bytes with SHA-256 ${sha256}; the manifest signs ${artifact.size} bytes with ${artifact.sha256}`,
    );
  }
  return { key, version: object.version, checked_at };
}

export const releases = new Hono<AppEnv>();

releases.post(
  '/apps/:app/releases',
  requireRole('publisher'),
  jsonLimit,
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
      checked.push(await checkArtifact(c.env.BUCKET, app, release.version, artifact));

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

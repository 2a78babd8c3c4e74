/**
 * Fault: an artifact missing from R2 (deleted by hand, a lifecycle rule, a bucket restored without
 * it). The download answers 404 `artifact_missing` with a message saying what is missing, never a
 * generic `not_found`; the SDK refuses to install anything; registering a release whose artifact is
 * not in R2 is refused; re-uploading the signed bytes repairs it.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { artifactKey } from '../../src/worker/storage/projection.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { expectRefusal, offered, victim } from '../security/attacker.ts';
import {
  admin,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  promote,
  releasePayload,
  testArtifact,
  uniqueApp,
  uploadArtifact,
} from './support/fixtures.ts';

describe('an artifact missing from R2', () => {
  it('a promoted release whose bytes were deleted: 404 artifact_missing on every kind of download, the SDK installs nothing, a re-upload repairs it', async () => {
    const app = await createApp(uniqueApp('fault'));
    const keys = await bootstrapKeys();
    const artifact = testArtifact(app, '1.1.0');
    expect((await uploadArtifact(app, '1.1.0', artifact)).status).toBe(201);
    const manifest = await signDocument(
      'release',
      await releasePayload(app, '1.1.0', [artifact]),
      keys.release,
    );
    expect((await admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest } })).status).toBe(201);
    expect((await promote(app, 'stable', '1.1.0')).status).toBe(200);
    clearStateCache();

    const client = await victim({ app, currentVersion: '1.0.0' });
    const offer = offered(await client.check());
    const path = new URL(offer.artifact.url).pathname;
    await env.BUCKET.delete(artifactKey(app, '1.1.0', 'linux', 'x64', artifact.file));

    const variants: Record<string, string>[] = [{}, { Range: 'bytes=0-3' }, { 'If-None-Match': '"x"' }];
    for (const headers of variants) {
      const response = await call(path, { token: null, headers });
      expect(response.status).toBe(404);
      expect(response.headers.get('Cache-Control')).toBe('no-store');
      const { error } = await response.json<ErrorBody>();
      expect(error.code).toBe('artifact_missing');
      expect(error.message).toBe(
        `artifact ${artifact.file} for linux-x64 of ${app} 1.1.0 is not in storage; check the URL, or re-upload it if a release lists it`,
      );
    }
    expect((await call(path, { token: null, method: 'HEAD' })).status).toBe(404);

    await expectRefusal(client.download(offer), 'server_error');
    await expect(client.download(offer)).rejects.toThrow(/404: artifact_missing/);

    // The repair: upload the same signed bytes again (R2 checks their SHA-256; the path is free).
    expect((await uploadArtifact(app, '1.1.0', artifact)).status).toBe(201);
    const bytes = await client.download(offer);
    expect(await sha256Hex(bytes)).toBe(offer.artifact.sha256);
  });

  it('registration refuses a release whose artifact is gone from R2 (400 artifact_missing) and registers nothing', async () => {
    const app = await createApp(uniqueApp('fault'));
    const keys = await bootstrapKeys();
    const artifact = testArtifact(app, '1.0.0');
    expect((await uploadArtifact(app, '1.0.0', artifact)).status).toBe(201);
    await env.BUCKET.delete(artifactKey(app, '1.0.0', 'linux', 'x64', artifact.file));
    const manifest = await signDocument(
      'release',
      await releasePayload(app, '1.0.0', [artifact]),
      keys.release,
    );
    const refused = await admin<ErrorBody>(`/apps/${app}/releases`, { method: 'POST', body: { manifest } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('artifact_missing');
    expect((await admin(`/apps/${app}/releases`)).body).toEqual({ releases: [] });
  });
});

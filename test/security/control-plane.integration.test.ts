/**
 * Server-side properties (docs/protocol.md §2, §4, §6): what a stolen admin or publisher token can NOT do
 * through the admin API, because the Worker checks signatures it cannot produce itself.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { YankPayload } from '../../src/protocol/documents.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { runScheduled } from '../../src/worker/scheduler/scheduled.ts';
import {
  admin,
  bootstrapKeys,
  call,
  createApp,
  type ErrorBody,
  keysDocument,
  publish,
  releasePayload,
  testArtifact,
  uniqueApp,
  uploadArtifact,
} from '../worker/support/fixtures.ts';
import { stolenOnlineKey } from './attacker.ts';

/** A token of `role`, created by the bootstrap admin, as an attacker who stole it holds it. */
async function stolenToken(role: 'admin' | 'publisher'): Promise<{ id: string; token: string }> {
  const created = await admin<{ id: string; token: string }>('/tokens', {
    method: 'POST',
    body: { name: `stolen ${role}`, role },
  });
  expect(created.status).toBe(201);
  return created.body;
}

/** A release `version` with its artifact uploaded, signed by `signer` instead of a release key. */
async function manifestSignedBy(
  app: string,
  version: string,
  signer: Parameters<typeof signDocument>[2],
): Promise<string> {
  const artifact = testArtifact(app, version);
  expect((await uploadArtifact(app, version, artifact)).status).toBe(201);
  return signDocument('release', await releasePayload(app, version, [artifact]), signer);
}

describe('a stolen ADMIN token', () => {
  let token = '';
  let app = '';

  beforeAll(async () => {
    await bootstrapKeys();
    ({ token } = await stolenToken('admin'));
    app = await createApp(uniqueApp('sec-admin'));
    await publish(app, '1.0.0');
  });

  it('cannot register a manifest signed by the online key (400 unknown_key)', async () => {
    const manifest = await manifestSignedBy(app, '1.1.0', stolenOnlineKey());
    const answer = await admin<ErrorBody>(`/apps/${app}/releases`, {
      method: 'POST',
      body: { manifest },
      token,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('unknown_key');
  });

  it('cannot register a manifest signed by a key of its own (400 unknown_key)', async () => {
    const manifest = await manifestSignedBy(app, '1.2.0', (await generateKeyPair()).privateJwk);
    const answer = await admin<ErrorBody>(`/apps/${app}/releases`, {
      method: 'POST',
      body: { manifest },
      token,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('unknown_key');
  });

  it('cannot register a yank signed by the online key (400 unknown_key)', async () => {
    const payload: YankPayload = {
      app,
      version: '1.0.0',
      reason: 'forged',
      rollback_to: null,
      yanked_at: '2026-11-22T12:00:00Z',
    };
    const yank = await signDocument('yank', payload, stolenOnlineKey());
    const answer = await admin<ErrorBody>(`/apps/${app}/yanks`, { method: 'POST', body: { yank }, token });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('unknown_key');
  });

  it('cannot register a keys document that its own root signs (400 unknown_key)', async () => {
    const evil = await generateKeyPair();
    const jws = await keysDocument(2, { root: evil.privateJwk, release: evil.privateJwk });
    const answer = await admin<ErrorBody>('/keys', { method: 'POST', body: { keys: jws }, token });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('unknown_key');
  });

  it('cannot replace the bytes of a published artifact (409 artifact_exists)', async () => {
    const evil = testArtifact(app, '1.0.0');
    const answer = await uploadArtifact(app, '1.0.0', evil, { token });
    expect(answer.status).toBe(409);
    expect((answer.body as unknown as ErrorBody).error.code).toBe('artifact_exists');
  });

  it('stops working once revoked (401 invalid_token)', async () => {
    const stolen = await stolenToken('admin');
    expect((await admin('/whoami', { token: stolen.token })).status).toBe(200);
    expect((await admin(`/tokens/${stolen.id}`, { method: 'DELETE' })).status).toBe(200);
    const answer = await admin<ErrorBody>('/whoami', { token: stolen.token });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('invalid_token');
  });
});

describe('a stolen PUBLISHER token', () => {
  let token = '';

  beforeAll(async () => {
    await bootstrapKeys();
    ({ token } = await stolenToken('publisher'));
  });

  it('cannot skip the staged plan for a release that is not signed critical (409 not_critical)', async () => {
    const app = await createApp(uniqueApp('sec-pub'));
    await publish(app, '1.0.0', { critical: false });
    const answer = await admin<ErrorBody>(`/apps/${app}/channels/stable/rollouts`, {
      method: 'POST',
      body: { version: '1.0.0', critical: true },
      token,
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('not_critical');
  });

  it('may fast-track a release whose signed manifest says critical (the release key decided)', async () => {
    const app = await createApp(uniqueApp('sec-pub'));
    await publish(app, '1.0.0', { critical: true });
    const answer = await admin(`/apps/${app}/channels/stable/rollouts`, {
      method: 'POST',
      body: { version: '1.0.0', critical: true },
      token,
    });
    expect(answer.status).toBe(200);
  });

  it('cannot register keys documents or mint tokens (403 forbidden)', async () => {
    const keys = await bootstrapKeys();
    const jws = await keysDocument(2, { root: keys.root, release: keys.release });
    const asKeys = await admin<ErrorBody>('/keys', { method: 'POST', body: { keys: jws }, token });
    expect(asKeys.status).toBe(403);
    const asToken = await admin<ErrorBody>('/tokens', {
      method: 'POST',
      body: { name: 'escalate', role: 'admin' },
      token,
    });
    expect(asToken.status).toBe(403);
  });

  it('cannot remove a published artifact, nor have it expire (409 artifact_registered)', async () => {
    const app = await createApp(uniqueApp('sec-pub'));
    await publish(app, '1.0.0');
    const path = `/apps/${app}/uploads/1.0.0/linux-x64/${app}-1.0.0.tar.gz`;
    const answer = await admin<ErrorBody>(path, { method: 'DELETE', token });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('artifact_registered');
    // A year of cron runs later the bytes are still there (from a fresh pass over R2).
    await env.DB.exec('DELETE FROM upload_sweep');
    await runScheduled(env, new Date(Date.now() + 365 * 86_400_000));
    const download = await call(`/v1/apps/${app}/artifacts/1.0.0/linux-x64/${app}-1.0.0.tar.gz`, {
      token: null,
    });
    expect(download.status).toBe(200);
  });

  it("cannot block a future version's publish for ever by squatting its path", async () => {
    const app = await createApp(uniqueApp('sec-pub'));
    const real = testArtifact(app, '2.0.0');
    const squat = { ...real, bytes: new TextEncoder().encode('squatted') };
    expect((await uploadArtifact(app, '2.0.0', squat, { token })).status).toBe(201);
    expect((await uploadArtifact(app, '2.0.0', real)).status).toBe(409);
    // The owner removes the squatter's upload (it would also expire after a day), then publishes.
    const removed = await admin(`/apps/${app}/uploads/2.0.0/linux-x64/${real.file}`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await uploadArtifact(app, '2.0.0', real)).status).toBe(201);
  });

  it('taking manual control of a planned rollout is possible but audited (plan_dropped)', async () => {
    // Not a vulnerability but a documented power: manual control wins over a plan (docs/rollouts.md).
    const app = await createApp(uniqueApp('sec-pub'));
    await publish(app, '1.0.0');
    const plan = {
      steps_bp: [100, 10_000],
      bake_seconds: 3600,
      gates: { max_failure_rate: 0.05, max_rollback_rate: 0.05, min_installs: 10 },
    };
    const planned = await admin(`/apps/${app}/channels/stable/rollouts`, {
      method: 'POST',
      body: { version: '1.0.0', plan },
    });
    expect(planned.status).toBe(200);
    const manual = await admin(`/apps/${app}/channels/stable/rollouts`, {
      method: 'POST',
      body: { version: '1.0.0', percent_bp: 10_000 },
      token,
    });
    expect(manual.status).toBe(200);
    const audit = await admin<{ entries: { action: string; actor: string; after: unknown }[] }>(
      `/audit?app=${app}&limit=1`,
    );
    const [last] = audit.body.entries;
    expect(last?.action).toBe('rollout.promote');
    expect(last?.actor).toMatch(/^token:[0-9a-f]{16}:stolen publisher$/);
    expect(last?.after).toMatchObject({ plan_dropped: true });
  });
});

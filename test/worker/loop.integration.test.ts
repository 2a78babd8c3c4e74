/**
 * The core loop, driven only through the admin API and the public check endpoint (no direct KV, D1 or
 * R2 writes): publish, staged promote, raise, halt, resume, yank with rollback, and the signed
 * documents a client verifies on the way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../src/protocol/api.ts';
import { bucket } from '../../src/protocol/bucket.ts';
import type { PublicJwk } from '../../src/protocol/documents.ts';
import { sha256Hex } from '../../src/protocol/encoding.ts';
import { signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { publicJwk } from '../../src/protocol/keys.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import {
  admin,
  bootstrapKeys,
  type ChannelViewBody,
  call,
  createApp,
  onlinePublic,
  promote,
  releasePayload,
  signYank,
  testArtifact,
  uniqueApp,
  uploadArtifact,
} from './support/fixtures.ts';

interface StatusBody {
  app: string;
  default_channel: string;
  channels: ChannelViewBody[];
}

const CLIENTS = Array.from({ length: 10_000 }, (_, i) => `loop-client-${i}`);
const CONCURRENCY = 50;

async function check(
  app: string,
  clientId: string,
  version: string,
  target: { platform: string; arch: string } = { platform: 'linux', arch: 'x64' },
): Promise<CheckResponse> {
  const query = new URLSearchParams({ client_id: clientId, version, ...target });
  const response = await call(`/v1/apps/${app}/check?${query}`, { token: null });
  expect(response.status).toBe(200);
  return response.json<CheckResponse>();
}

/** Asks every id, `CONCURRENCY` at a time; returns the answers in the order of `ids`. */
async function checkAll(app: string, ids: string[], version: string): Promise<CheckResponse[]> {
  const answers: CheckResponse[] = [];
  for (let i = 0; i < ids.length; i += CONCURRENCY) {
    const chunk = ids.slice(i, i + CONCURRENCY);
    answers.push(...(await Promise.all(chunk.map((id) => check(app, id, version)))));
  }
  return answers;
}

/** Uploads a linux-x64 and a darwin-arm64 artifact, signs the manifest and registers it. */
async function publishTwoTargets(app: string, version: string): Promise<void> {
  const keys = await bootstrapKeys();
  const artifacts = [
    testArtifact(app, version, 'linux', 'x64'),
    testArtifact(app, version, 'darwin', 'arm64'),
  ];
  for (const artifact of artifacts) expect((await uploadArtifact(app, version, artifact)).status).toBe(201);
  const manifest = await signDocument('release', await releasePayload(app, version, artifacts), keys.release);
  const registered = await admin(`/apps/${app}/releases`, { method: 'POST', body: { manifest } });
  expect(registered.status).toBe(201);
}

/** The rollout of `version` on `stable`, as GET status reports it. */
async function rolloutOf(app: string, version: string): Promise<ChannelViewBody['rollouts'][number]> {
  const { status, body } = await admin<StatusBody>(`/apps/${app}/status`);
  expect(status).toBe(200);
  const rollout = body.channels.find((c) => c.name === 'stable')?.rollouts.find((r) => r.version === version);
  if (!rollout) throw new Error(`no rollout of ${version} on stable`);
  return rollout;
}

/**
 * Checks every client on 1.0.0 and asserts each answer matches bucket(salt, id) < percentBp: inside
 * clients get `update` to 1.1.0 for linux-x64, the others `none`. Returns the clients offered 1.1.0.
 */
async function offered(app: string, salt: string, percentBp: number): Promise<Set<string>> {
  clearStateCache();
  const answers = await checkAll(app, CLIENTS, '1.0.0');
  const inside = new Set<string>();
  const disagreements: string[] = [];
  for (const [i, answer] of answers.entries()) {
    const id = CLIENTS[i] ?? '';
    const expected = (await bucket(salt, id)) < percentBp;
    const updated =
      answer.status === 'update' &&
      answer.version === '1.1.0' &&
      answer.artifact?.url.includes('/1.1.0/linux-x64/') === true;
    if (updated) inside.add(id);
    if (updated !== expected || (!updated && answer.status !== 'none')) {
      disagreements.push(`${id}: ${answer.status} ${answer.version ?? ''} (expected inside=${expected})`);
    }
  }
  expect(disagreements.slice(0, 10)).toEqual([]);
  return inside;
}

describe('core loop through the admin API', () => {
  let app = '';
  let releaseKeys: PublicJwk[] = [];
  let firstGroup = new Set<string>();

  beforeAll(async () => {
    releaseKeys = [publicJwk((await bootstrapKeys()).release)];
    app = await createApp(uniqueApp('loop'));
    await publishTwoTargets(app, '1.0.0');
    await publishTwoTargets(app, '1.1.0');
  });

  it('stages 1.1.0 at 10 % then 50 % with one salt, agreeing with bucket() for all 10,000 clients', async () => {
    expect((await promote(app, 'stable', '1.0.0', 10_000)).status).toBe(200);
    expect((await promote(app, 'stable', '1.1.0', 1000)).status).toBe(200);
    const rollout = await rolloutOf(app, '1.1.0');
    expect(rollout).toMatchObject({ percent_bp: 1000, state: 'active' });

    firstGroup = await offered(app, rollout.salt, 1000);
    // The server draws the salt, so the share is random: bounds at 5 standard deviations (σ = 30 at
    // 10 %, 50 at 50 %) never flake. The ±1 % of the issue is asserted with a fixed salt in
    // check-rollouts.integration.test.ts and bucket.unit.test.ts; here every answer is checked exactly.
    expect(firstGroup.size).toBeGreaterThanOrEqual(850);
    expect(firstGroup.size).toBeLessThanOrEqual(1150);

    // A darwin-arm64 client inside the rollout gets its own artifact.
    const [someone] = firstGroup;
    if (someone === undefined) throw new Error('nobody inside the 10 % rollout');
    const darwin = await check(app, someone, '1.0.0', { platform: 'darwin', arch: 'arm64' });
    expect(darwin).toMatchObject({ status: 'update', version: '1.1.0' });
    expect(darwin.artifact?.url).toContain('/1.1.0/darwin-arm64/');

    expect((await promote(app, 'stable', '1.1.0', 5000)).status).toBe(200);
    const raised = await rolloutOf(app, '1.1.0');
    expect(raised).toMatchObject({ percent_bp: 5000, state: 'active', salt: rollout.salt });

    const second = await offered(app, rollout.salt, 5000);
    expect(second.size).toBeGreaterThanOrEqual(4750);
    expect(second.size).toBeLessThanOrEqual(5250);
    expect([...firstGroup].filter((id) => !second.has(id))).toEqual([]);
  }, 180_000);

  it('halting 1.1.0 offers it to nobody new and leaves clients on it where they are', async () => {
    const halted = await admin<ChannelViewBody>(`/apps/${app}/channels/stable/rollouts/1.1.0/halt`, {
      method: 'POST',
      body: { reason: 'crash reports' },
    });
    expect(halted.status).toBe(200);
    clearStateCache();

    const sample = [...firstGroup].slice(0, 50);
    expect(sample.length).toBe(50);
    for (const answer of await checkAll(app, sample, '1.0.0'))
      expect(answer).toMatchObject({ status: 'none', yanked: false });
    for (const answer of await checkAll(app, sample, '1.1.0'))
      expect(answer).toMatchObject({ status: 'none', yanked: false });
  });

  it('yanking 1.1.0 rolls its clients back to 1.0.0 with documents that verify', async () => {
    const resumed = await admin<ChannelViewBody>(`/apps/${app}/channels/stable/rollouts/1.1.0/resume`, {
      method: 'POST',
      body: {},
    });
    expect(resumed.status).toBe(200);
    expect((await rolloutOf(app, '1.1.0')).state).toBe('active');
    clearStateCache();
    const [insider] = firstGroup;
    if (insider === undefined) throw new Error('the rollout phase found nobody inside');
    expect(await check(app, insider, '1.0.0')).toMatchObject({ status: 'update', version: '1.1.0' });

    const yanked = await admin<{ version: string; rollback_to: string; yank_sha256: string }>(
      `/apps/${app}/yanks`,
      { method: 'POST', body: { yank: await signYank(app, '1.1.0', '1.0.0') } },
    );
    expect(yanked.status).toBe(201);
    expect(yanked.body).toMatchObject({ version: '1.1.0', rollback_to: '1.0.0' });
    clearStateCache();

    // Inside and outside the former rollout alike: everyone on a yanked version goes back.
    const answers = await checkAll(app, CLIENTS.slice(0, 200), '1.1.0');
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 'rollback', version: '1.0.0', mandatory: true });
      expect(answer.artifact?.url).toContain('/1.0.0/linux-x64/');
    }

    const [first] = answers;
    if (!first) throw new Error('no answers');
    const { snapshot, release, yank } = first.signed;
    if (!release || !yank)
      throw new Error(`rollback without signed release or yank: ${JSON.stringify(first)}`);
    expect(answers.every((a) => a.signed.snapshot === snapshot && a.signed.yank === yank)).toBe(true);

    const yankPayload = await verifyDocument('yank', yank, releaseKeys);
    expect(yankPayload).toMatchObject({ app, version: '1.1.0', rollback_to: '1.0.0' });
    expect(yanked.body.yank_sha256).toBe(await sha256Hex(yank));

    const channel = await verifyDocument('channel', snapshot, [onlinePublic()]);
    expect(channel).toMatchObject({ app, channel: 'stable' });
    expect(channel.yanked).toContainEqual({
      version: '1.1.0',
      rollback_to: '1.0.0',
      yank_sha256: await sha256Hex(yank),
    });

    const releasePayloadSigned = await verifyDocument('release', release, releaseKeys);
    expect(releasePayloadSigned).toMatchObject({ app, version: '1.0.0' });
    const entry = channel.releases.find((r) => r.version === '1.0.0');
    expect(entry?.release_sha256).toBe(await sha256Hex(release));
    const linux = releasePayloadSigned.artifacts.find((a) => a.platform === 'linux' && a.arch === 'x64');
    expect(first.artifact?.sha256).toBe(linux?.sha256);
  });
});

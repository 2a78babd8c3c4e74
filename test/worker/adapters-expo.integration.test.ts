/**
 * expo-updates protocol v1 (docs/protocol.md §10) through the Worker's real entry point: content-addressed
 * assets, Expo releases checked at registration, and the manifest route's answers (manifest,
 * rollBackToEmbedded, noUpdateAvailable) parsed with Expo's own `@expo/multipart-body-parser`.
 * The native expo-updates client cannot run here; test/e2e/expo.e2e.test.ts drives the CLI and
 * checks signatures with `@expo/code-signing-certificates`.
 */

import { env } from 'cloudflare:workers';
import { parseMultipartMixedResponseAsync } from '@expo/multipart-body-parser';
import { describe, expect, it, vi } from 'vitest';
import { bucket } from '../../src/protocol/bucket.ts';
import { type ExpoManifest, expoUpdateId, rollBackToEmbeddedDirective } from '../../src/protocol/expo.ts';
import { clearStateCache } from '../../src/worker/storage/state-cache.ts';
import { asset, publishExpo, putAsset, rsaKeys, signExpo, verifiesExpo } from './support/expo-fixtures.ts';
import { admin, call, createApp, type ErrorBody, promote, signYank, uniqueApp } from './support/fixtures.ts';
import { MINUTE, plan, rollout, runAt, seed, VERSION } from './support/scheduler-fixtures.ts';

const QUEUE_WAIT = { timeout: 15_000, interval: 250 };
const EMBEDDED = '00000000-0000-4000-8000-000000000001';

function poll(app: string, headers: Record<string, string> = {}) {
  return call(`/v1/apps/${app}/expo/manifest`, {
    token: null,
    headers: {
      'expo-protocol-version': '1',
      accept: 'application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed',
      'expo-platform': 'ios',
      'expo-runtime-version': '1.0.0',
      'expo-embedded-update-id': EMBEDDED,
      'expo-current-update-id': EMBEDDED,
      ...headers,
    },
  });
}

async function parts(response: Response) {
  const type = response.headers.get('content-type') ?? '';
  const body = Buffer.from(await response.arrayBuffer());
  return parseMultipartMixedResponseAsync(type, body);
}

async function onePart(response: Response) {
  expect(response.status).toBe(200);
  expect(response.headers.get('expo-protocol-version')).toBe('1');
  expect(response.headers.get('expo-sfv-version')).toBe('0');
  expect(response.headers.get('cache-control')).toBe('private, max-age=0');
  const all = await parts(response);
  expect(all).toHaveLength(1);
  const [part] = all;
  if (!part) throw new Error('no part');
  return { ...part, json: JSON.parse(part.body) as Record<string, unknown> };
}

/** An app with channel `stable` where 1.0.0 (Expo, both platforms) is promoted to `percent_bp`. */
async function expoApp(percent_bp = 10_000, signWith?: CryptoKey) {
  const app = uniqueApp('expo');
  await createApp(app);
  const { registered, manifests } = await publishExpo(app, '1.0.0', { signWith });
  expect(registered.status, JSON.stringify(registered.body)).toBe(201);
  expect((await promote(app, 'stable', '1.0.0', percent_bp)).status).toBe(200);
  return { app, manifests };
}

describe('content-addressed assets', () => {
  it('stores an asset once, tells which are missing, and serves it immutable with ranges', async () => {
    const app = uniqueApp('assets');
    await createApp(app);
    const icon = await asset('an icon of a few bytes');
    const absent = await asset('never uploaded');
    expect(await putAsset(app, icon)).toBe(201);
    expect(await putAsset(app, icon)).toBe(200);
    const missing = await admin<{ missing: string[] }>(`/apps/${app}/assets/missing`, {
      method: 'POST',
      body: { sha256: [icon.sha256, absent.sha256] },
    });
    expect(missing.body.missing).toEqual([absent.sha256]);

    const whole = await call(`/v1/apps/${app}/assets/${icon.sha256}`, { token: null });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('image/png');
    expect(whole.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(icon.bytes);
    const part = await call(`/v1/apps/${app}/assets/${icon.sha256}`, {
      token: null,
      headers: { Range: 'bytes=3-5' },
    });
    expect(part.status).toBe(206);
    expect(new TextDecoder().decode(await part.arrayBuffer())).toBe('ico');
    const unknown = await call(`/v1/apps/${app}/assets/${absent.sha256}`, { token: null });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error.code).toBe('asset_missing');
  });

  it('refuses bytes that do not hash to the path, and stores nothing', async () => {
    const app = uniqueApp('assets');
    await createApp(app);
    const icon = await asset('real bytes');
    const { status, body } = await admin<ErrorBody>(`/apps/${app}/assets/${icon.sha256}`, {
      method: 'PUT',
      body: new TextEncoder().encode('other bytes'),
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe('sha256_mismatch');
    expect(await env.BUCKET.head(`assets/${app}/${icon.sha256}`)).toBeNull();
  });
});

describe('Expo releases at registration', () => {
  const tampers: [string, (m: ExpoManifest) => void][] = [
    ['another update id', (m) => Object.assign(m, { id: crypto.randomUUID() })],
    [
      'a runtimeVersion other than the artifact runtime',
      (m) => Object.assign(m, { runtimeVersion: '2.0.0' }),
    ],
    [
      'an asset URL off this server',
      (m) => {
        const first = m.assets[0];
        if (first) first.url = 'https://cdn.example/icon.png';
      },
    ],
  ];
  it.each(tampers)('refuses a manifest with %s', async (_, tamper) => {
    const app = uniqueApp('expo-bad');
    await createApp(app);
    const { registered } = await publishExpo(app, '1.0.0', { tamper });
    expect(registered.status).toBe(400);
    expect((registered.body as unknown as ErrorBody).error.code).toBe('invalid_expo_manifest');
  });

  it('refuses a release whose assets were not uploaded', async () => {
    const app = uniqueApp('expo-bad');
    await createApp(app);
    const { registered } = await publishExpo(app, '1.0.0', { skipUpload: true });
    expect(registered.status).toBe(400);
    expect((registered.body as unknown as ErrorBody).error.code).toBe('asset_missing');
  });
});

describe('GET /v1/apps/{app}/expo/manifest', () => {
  it('serves the stored manifest to a client on its embedded update, byte for byte', async () => {
    const { app, manifests } = await expoApp();
    const part = await onePart(await poll(app, { 'eas-client-id': 'c-1' }));
    expect(part.name).toBe('manifest');
    expect(part.body).toBe(JSON.stringify(manifests.ios));
    const android = await onePart(await poll(app, { 'expo-platform': 'android' }));
    expect(android.body).toBe(JSON.stringify(manifests.android));
    // The launch asset is where the manifest says.
    const launch = manifests.ios?.launchAsset;
    const bytes = await call(new URL(launch?.url ?? '').pathname, { token: null });
    expect(bytes.headers.get('content-type')).toBe('application/javascript');
  });

  it('answers noUpdateAvailable to the client already on the newest update, and to other runtimes', async () => {
    const { app } = await expoApp();
    const current = await expoUpdateId(app, '1.0.0', 'ios', '1.0.0');
    const same = await onePart(await poll(app, { 'expo-current-update-id': current }));
    expect(same.name).toBe('directive');
    expect(same.json).toEqual({ type: 'noUpdateAvailable' });
    const other = await onePart(await poll(app, { 'expo-runtime-version': '2.0.0' }));
    expect(other.json).toEqual({ type: 'noUpdateAvailable' });
  });

  it('offers a staged release to the clients whose bucket is inside the rollout, by eas-client-id', async () => {
    const { app } = await expoApp();
    const { registered } = await publishExpo(app, '1.1.0');
    expect(registered.status).toBe(201);
    const staged = await promote(app, 'stable', '1.1.0', 2_500);
    const salt = staged.body.rollouts.find((r) => r.version === '1.1.0')?.salt ?? '';
    const current = await expoUpdateId(app, '1.0.0', 'ios', '1.0.0');
    const newer = await expoUpdateId(app, '1.1.0', 'ios', '1.0.0');
    let inside = 0;
    for (let i = 0; i < 40; i++) {
      const client = `device-${i}`;
      const part = await onePart(
        await poll(app, { 'eas-client-id': client, 'expo-current-update-id': current }),
      );
      const expected = (await bucket(salt, client)) < 2_500;
      if (expected) inside++;
      expect(part.name, client).toBe(expected ? 'manifest' : 'directive');
      if (expected) expect(part.json.id).toBe(newer);
    }
    expect(inside).toBeGreaterThan(0);
  });

  it('rolls a client on a yanked update back to its embedded build, with the signed directive', async () => {
    const keys = await rsaKeys();
    const { app } = await expoApp(10_000, keys.privateKey);
    const yank = await signYank(app, '1.0.0', null, 'crashes on launch');
    const yankedAt = '2026-11-21T12:00:00Z';
    const directive = rollBackToEmbeddedDirective(yankedAt);
    const registered = await admin(`/apps/${app}/yanks`, {
      method: 'POST',
      body: { yank, expo_directive_signature: await signExpo(directive, keys.privateKey) },
    });
    expect(registered.status).toBe(201);
    const current = await expoUpdateId(app, '1.0.0', 'ios', '1.0.0');
    const signed = await onePart(
      await poll(app, {
        'expo-current-update-id': current,
        'expo-expect-signature': 'sig, keyid="main", alg="rsa-v1_5-sha256"',
      }),
    );
    expect(signed.name).toBe('directive');
    expect(signed.body).toBe(directive);
    const header = signed.headers.get('expo-signature');
    expect(typeof header).toBe('string');
    expect(await verifiesExpo(signed.body, String(header), keys.publicKey)).toBe(true);
    // On its embedded build, with nothing else released, there is nothing to offer.
    const embedded = await onePart(await poll(app));
    expect(embedded.json).toEqual({ type: 'noUpdateAvailable' });
    // A backup keeps the directive's signature with the yank.
    const exported = await admin<{ yanks: { expo_directive_signature?: string }[] }>(`/export/apps/${app}`);
    expect(exported.body.yanks[0]?.expo_directive_signature).toBe(header);
  });

  it('rolls code-signed devices back by themselves when a breach publishes the standby yank and its signed directive', async () => {
    const keys = await rsaKeys();
    const app = uniqueApp('expo-auto');
    await createApp(app);
    for (const version of ['1.0.0', VERSION]) {
      const { registered } = await publishExpo(app, version, {
        platforms: ['ios'],
        signWith: keys.privateKey,
      });
      expect(registered.status).toBe(201);
    }
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    expect(
      (await admin(`/apps/${app}/channels/stable/rollouts/1.0.0/complete`, { method: 'POST', body: {} }))
        .status,
    ).toBe(200);
    // The standby yank and, signed with the app's Expo key, the directive it will be served with.
    const standby = await signYank(app, VERSION, '1.0.0', 'automatic rollback');
    const directive = rollBackToEmbeddedDirective('2026-11-21T12:00:00Z');
    const promoted = await promote(app, 'stable', VERSION, undefined, {
      percent_bp: undefined,
      plan: { ...plan({ steps_bp: [5_000, 10_000] }), on_breach: 'rollback' },
      standby_yank: standby,
      standby_expo_directive_signature: await signExpo(directive, keys.privateKey),
    });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    const started = Date.parse((await rollout(app)).step_started_at ?? '');
    const running = {
      'expo-current-update-id': await expoUpdateId(app, VERSION, 'ios', '1.0.0'),
      'expo-expect-signature': 'sig, keyid="main", alg="rsa-v1_5-sha256"',
    };
    // Sealed until the breach: a device on VERSION is told nothing new.
    const before = await poll(app, running);
    expect(before.status).toBe(204);

    await seed(app, { installs: 50, failures: 10 }, started, started + 10 * MINUTE);
    await runAt(started + 10 * MINUTE);
    expect((await rollout(app)).state).toBe('halted');
    clearStateCache();
    const signed = await onePart(await poll(app, running));
    expect(signed.name).toBe('directive');
    expect(signed.body).toBe(directive);
    expect(
      await verifiesExpo(signed.body, String(signed.headers.get('expo-signature')), keys.publicKey),
    ).toBe(true);
  });

  it('refuses a standby directive signature without a standby yank', async () => {
    const keys = await rsaKeys();
    const { app } = await expoApp(10_000, keys.privateKey);
    const { registered } = await publishExpo(app, VERSION, { platforms: ['ios'], signWith: keys.privateKey });
    expect(registered.status).toBe(201);
    const signature = await signExpo(rollBackToEmbeddedDirective('2026-11-21T12:00:00Z'), keys.privateKey);
    const res = await promote(app, 'stable', VERSION, undefined, {
      percent_bp: undefined,
      plan: plan({ steps_bp: [5_000, 10_000] }),
      standby_expo_directive_signature: signature,
    });
    expect(res.status).toBe(400);
    expect((res.body as unknown as ErrorBody).error.message).toMatch(/standby_expo_directive_signature/);
  });

  it('routes by the version of the update the client runs when a channel rule asks for it', async () => {
    const app = uniqueApp('expo-rules');
    await createApp(app, [
      { name: 'stable', public: true },
      { name: 'beta', public: true },
    ]);
    for (const version of ['1.0.0', '1.1.0']) {
      const { registered } = await publishExpo(app, version, { platforms: ['ios'] });
      expect(registered.status).toBe(201);
    }
    expect((await promote(app, 'stable', '1.0.0')).status).toBe(200);
    expect((await promote(app, 'beta', '1.0.0')).status).toBe(200);
    expect((await promote(app, 'beta', '1.1.0')).status).toBe(200);
    const rules = [{ channel: 'beta', match: { versions: '>=1.0.0' } }];
    expect((await admin(`/apps/${app}/rules`, { method: 'PUT', body: { rules } })).status).toBe(200);
    // On its embedded update the installed version is unknown: no rule matches, stable answers.
    const fresh = await onePart(await poll(app));
    expect(fresh.json.id).toBe(await expoUpdateId(app, '1.0.0', 'ios', '1.0.0'));
    // Running 1.0.0, the rule routes it to beta, where 1.1.0 is live.
    const current = await expoUpdateId(app, '1.0.0', 'ios', '1.0.0');
    const routed = await onePart(await poll(app, { 'expo-current-update-id': current }));
    expect(routed.json.id).toBe(await expoUpdateId(app, '1.1.0', 'ios', '1.0.0'));
  });

  it('withholds what a client that verifies signatures could not verify', async () => {
    const { app } = await expoApp();
    const response = await poll(app, { 'expo-expect-signature': 'sig, keyid="main"' });
    expect(response.status).toBe(204);
    expect(response.headers.get('updraft-withheld')).toMatch(/not code-signed/);
  });

  it('counts recent failed update ids as install failures, once per client and update', async () => {
    const { app } = await expoApp();
    const failedId = await expoUpdateId(app, '1.0.0', 'ios', '1.0.0');
    for (let i = 0; i < 3; i++) {
      const response = await poll(app, {
        'eas-client-id': 'crashy',
        'expo-recent-failed-update-ids': `"${failedId.toUpperCase()}", "${crypto.randomUUID()}"`,
      });
      // Its failed update is not offered again.
      expect(response.headers.get('updraft-withheld')).toMatch(/failed to launch/);
      await response.arrayBuffer();
    }
    const rows = async () =>
      (
        await env.DB.prepare(
          "SELECT type, client_id, version, kind FROM events WHERE app = ?1 AND type = 'install_failed'",
        )
          .bind(app)
          .all()
      ).results;
    await vi.waitFor(async () => expect(await rows()).toHaveLength(1), QUEUE_WAIT);
    expect(await rows()).toEqual([
      { type: 'install_failed', client_id: 'crashy', version: '1.0.0', kind: 'expo' },
    ]);
  });

  it.each([
    [{ 'expo-platform': 'web' }, 400, /expo-platform/],
    [{ 'expo-runtime-version': '' }, 400, /expo-runtime-version/],
    [{ 'expo-current-update-id': 'not-a-uuid' }, 400, /expo-current-update-id/],
    [{ 'expo-recent-failed-update-ids': 'abc' }, 400, /expo-recent-failed-update-ids/],
    [
      {
        'expo-recent-failed-update-ids': Array.from({ length: 40 }, () => `"${crypto.randomUUID()}"`).join(
          ', ',
        ),
      },
      400,
      /over 32/,
    ],
    [{ 'expo-channel-name': 'Prod Channel' }, 400, /expo-channel-name/],
    [{ 'eas-client-id': 'x'.repeat(200) }, 400, /eas-client-id/],
    [{ 'expo-protocol-version': '0' }, 406, /protocol 1/],
    [{ accept: 'application/json' }, 406, /multipart/],
  ])('answers bad headers %j with %i and a code', async (headers, status, message) => {
    const { app } = await expoApp();
    const response = await poll(app, headers as Record<string, string>);
    expect(response.status).toBe(status);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(body.error.message).toMatch(message);
  });

  it('answers 404 for an unknown app', async () => {
    const response = await poll('no-such-app');
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).error.code).toBe('unknown_app');
  });
});

import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../../src/protocol/channels.ts';
import { generateKeyPair } from '../../src/protocol/keys.ts';
import { appKey, KEYS_KEY, type KeysProjection, keysDocKey } from '../../src/worker/storage/projection.ts';
import {
  admin,
  auditCount,
  bootstrapKeys,
  createApp,
  type ErrorBody,
  keysDocument,
  projected,
  uniqueApp,
} from './support/fixtures.ts';

interface AppViewBody {
  name: string;
  default_channel: string;
  revision: number;
  channels: { name: string; public: boolean; revision: number }[];
  rules: { channel: string; match: Record<string, unknown> }[];
}

const appProjection = (app: string) => env.STATE.get<AppConfig>(appKey(app), 'json');

describe('apps and channels', () => {
  it('creates an app with its channels, each with a signed empty snapshot', async () => {
    await bootstrapKeys();
    const name = uniqueApp();
    const res = await admin<AppViewBody>('/apps', {
      method: 'POST',
      body: {
        name,
        default_channel: 'stable',
        channels: [
          { name: 'stable', public: true },
          { name: 'beta', public: false },
        ],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name,
      default_channel: 'stable',
      revision: 1,
      rules: [],
      channels: [
        { name: 'beta', public: false, revision: 1 },
        { name: 'stable', public: true, revision: 1 },
      ],
    });
    expect(await appProjection(name)).toEqual({
      app: name,
      default_channel: 'stable',
      channels: [
        { name: 'beta', public: false },
        { name: 'stable', public: true },
      ],
      rules: [],
    });
    expect((await projected(name, 'beta'))?.payload).toMatchObject({ revision: 1, releases: [], yanked: [] });
    const listed = await admin<{ apps: AppViewBody[] }>('/apps');
    expect(listed.body.apps.some((a) => a.name === name)).toBe(true);
    expect((await admin<AppViewBody>(`/apps/${name}`)).body.name).toBe(name);
  });

  it('refuses a second app of the same name and bad app bodies', async () => {
    const name = await createApp();
    const audits = await auditCount();
    const cases: [object, number, string][] = [
      [{ name, default_channel: 'stable' }, 409, 'app_exists'],
      [{ name: 'Bad Name', default_channel: 'stable' }, 400, 'invalid_json'],
      [
        { name: uniqueApp(), default_channel: 'stable', channels: [{ name: 'beta', public: true }] },
        400,
        'invalid_json',
      ],
      [{ name: uniqueApp() }, 400, 'invalid_json'],
    ];
    for (const [body, status, code] of cases) {
      const res = await admin<ErrorBody>('/apps', { method: 'POST', body });
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
    expect(await auditCount()).toBe(audits);
    expect((await admin<ErrorBody>('/apps/no-such-app-xyz')).body.error.code).toBe('unknown_app');
  });

  it('adds a channel (201) and changes its visibility (200), bumping the app revision', async () => {
    const app = await createApp();
    const created = await admin<AppViewBody>(`/apps/${app}/channels/beta`, {
      method: 'PUT',
      body: { public: false },
    });
    expect(created.status).toBe(201);
    expect(created.body.revision).toBe(2);
    expect((await projected(app, 'beta'))?.payload.revision).toBe(1);
    const changed = await admin<AppViewBody>(`/apps/${app}/channels/beta`, {
      method: 'PUT',
      body: { public: true },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.revision).toBe(3);
    expect((await appProjection(app))?.channels).toContainEqual({ name: 'beta', public: true });
    const stale = await admin<ErrorBody>(`/apps/${app}/channels/beta`, {
      method: 'PUT',
      body: { public: false, expected_revision: 2 },
    });
    expect([stale.status, stale.body.error.code]).toEqual([409, 'stale_revision']);
  });

  it('sets channel rules, salting cohorts, and refuses rules for unknown channels', async () => {
    const app = await createApp(undefined, [
      { name: 'stable', public: true },
      { name: 'beta', public: true },
    ]);
    const rules = [
      { channel: 'beta', match: { client_ids: ['tester-1'] } },
      { channel: 'beta', match: { percent_bp: 500, platforms: ['linux'] } },
    ];
    const res = await admin<AppViewBody>(`/apps/${app}/rules`, {
      method: 'PUT',
      body: { rules, expected_revision: 1 },
    });
    expect(res.status).toBe(200);
    expect(res.body.revision).toBe(2);
    expect(res.body.rules[1]?.match.salt).toMatch(/^[0-9a-f]{32}$/);
    expect((await appProjection(app))?.rules).toEqual(res.body.rules);

    const audits = await auditCount(app);
    const bad = await admin<ErrorBody>(`/apps/${app}/rules`, {
      method: 'PUT',
      body: { rules: [{ channel: 'nightly', match: {} }] },
    });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'unknown_channel']);
    const stale = await admin<ErrorBody>(`/apps/${app}/rules`, {
      method: 'PUT',
      body: { rules: [], expected_revision: 1 },
    });
    expect([stale.status, stale.body.error.code]).toEqual([409, 'stale_revision']);
    expect(await auditCount(app)).toBe(audits);
    expect((await appProjection(app))?.rules).toEqual(res.body.rules);
  });
});

describe('keys documents', () => {
  it('chains a new version signed by the current root, re-signing every snapshot', async () => {
    const keys = await bootstrapKeys();
    const app = await createApp();
    const revision = (await projected(app, 'stable'))?.payload.revision ?? 0;
    const current = await env.STATE.get<KeysProjection>(KEYS_KEY, 'json');
    expect(current?.version).toBe(keys.version);

    const newRoot = (await generateKeyPair()).privateJwk;
    const stranger = (await generateKeyPair()).privateJwk;
    const audits = await auditCount();
    const refusals: [string, number, string][] = [
      [
        await keysDocument(keys.version + 1, { root: newRoot, release: keys.release, signer: stranger }),
        400,
        'unknown_key',
      ],
      [
        await keysDocument(keys.version + 2, { root: newRoot, release: keys.release, signer: keys.root }),
        409,
        'stale_keys_version',
      ],
      [
        await keysDocument(keys.version, { root: newRoot, release: keys.release, signer: keys.root }),
        409,
        'stale_keys_version',
      ],
      [
        await keysDocument(keys.version + 1, {
          root: newRoot,
          release: keys.release,
          signer: keys.root,
          online: [(await generateKeyPair()).publicJwk],
        }),
        400,
        'online_key_not_listed',
      ],
    ];
    for (const [jws, status, code] of refusals) {
      const res = await admin<ErrorBody>('/keys', { method: 'POST', body: { keys: jws } });
      expect([res.status, res.body.error.code]).toEqual([status, code]);
    }
    expect(await auditCount()).toBe(audits);

    const next = await keysDocument(keys.version + 1, {
      root: newRoot,
      release: keys.release,
      signer: keys.root,
    });
    const res = await admin('/keys', { method: 'POST', body: { keys: next } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ version: keys.version + 1 });
    expect(await env.STATE.get<KeysProjection>(KEYS_KEY, 'json')).toEqual({
      version: keys.version + 1,
      jws: next,
    });
    expect(await env.BUCKET.get(keysDocKey(keys.version + 1)).then((o) => o?.text())).toBe(next);
    expect(await env.BUCKET.get(keysDocKey(keys.version)).then((o) => o?.text())).toBe(keys.jws);
    expect((await projected(app, 'stable'))?.payload.revision).toBe(revision + 1);
  });
});

/**
 * Import refusals and a restore through the admin API (docs/backup.md). The tests of this file share
 * one deployment and run in order: the refusals first, while it is empty, then a real import, then
 * what an import into a deployment that is no longer empty does.
 */
import { env } from 'cloudflare:workers';
import { base64url } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StatusView } from '../../src/protocol/admin-api.ts';
import type { CheckResponse } from '../../src/protocol/api.ts';
import type { AppExport, ExportIndex, ImportBody, ImportResult } from '../../src/protocol/backup.ts';
import { bucket } from '../../src/protocol/bucket.ts';
import type { YankPayload } from '../../src/protocol/documents.ts';
import { randomHex, sha256Hex } from '../../src/protocol/encoding.ts';
import { type PrivateJwk, signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { generateKeyPair, publicJwk } from '../../src/protocol/keys.ts';
import { releaseDocKey } from '../../src/worker/storage/projection.ts';
import {
  admin,
  call,
  type ErrorBody,
  keysDocument,
  onlinePublic,
  projected,
  releasePayload,
  testArtifact,
} from './support/fixtures.ts';

const APP = 'shop';
const SALT = '00112233445566778899aabbccddeeff';
const TOKEN = `updr_${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`;

interface Keys {
  root: PrivateJwk;
  root2: PrivateJwk;
  release: PrivateJwk;
  keys1: string;
  keys2: string;
}

let keys: Keys;

async function manifest(version: string, signer = keys.release): Promise<string> {
  const payload = await releasePayload(APP, version, [testArtifact(APP, version)], {
    mandatory: version === '1.1.0',
  });
  return signDocument('release', payload, signer);
}

async function yankOf(version: string, rollbackTo: string, signer = keys.release): Promise<string> {
  const payload: YankPayload = {
    app: APP,
    version,
    reason: 'crash on start',
    rollback_to: rollbackTo,
    yanked_at: '2026-11-21T12:00:00Z',
  };
  return signDocument('yank', payload, signer);
}

/** A deployment's export, as `updraft export` would send it back: two keys versions, one app. */
async function bundle(): Promise<ImportBody> {
  const releases = await Promise.all(
    ['1.0.0', '1.0.1', '1.1.0'].map(async (version) => {
      const jws = await manifest(version);
      return {
        version,
        release_sha256: await sha256Hex(jws),
        created_at: '2026-11-20T12:01:00Z',
        manifest: jws,
      };
    }),
  );
  const yank = await yankOf('1.0.1', '1.0.0');
  const plan = {
    steps_bp: [100, 500, 2500, 10_000],
    bake_seconds: 3600,
    gates: { max_failure_rate: 0.02, max_rollback_rate: 0.01, min_installs: 50 },
  };
  // beta's 1.1.0 rolls back on a breach: its standby yank (docs/protocol.md §6) is part of the backup.
  const standby = await yankOf('1.1.0', '1.0.0');
  const rollout = (channel: string, version: string, percent_bp: number, state: 'active' | 'complete') => ({
    channel,
    version,
    percent_bp,
    salt: SALT,
    state,
    plan: null,
    step: null,
    step_started_at: null,
    judgement: null,
    created_at: '2026-11-20T13:00:00Z',
    updated_at: '2026-11-20T13:00:00Z',
  });
  const app: AppExport = {
    app: {
      name: APP,
      default_channel: 'stable',
      revision: 4,
      rules: [{ channel: 'beta', match: { client_ids: ['qa-1'] } }],
      webhook_url: 'https://hooks.example.com/updraft',
      webhook_secret: base64url.encode(crypto.getRandomValues(new Uint8Array(32))),
      default_plan: plan,
      created_at: '2026-11-20T09:00:00Z',
      updated_at: '2026-11-20T10:00:00Z',
    },
    channels: [
      {
        name: 'beta',
        public: false,
        revision: 3,
        issued_at: '2026-11-20T13:00:00Z',
        expires: '2026-11-27T13:00:00Z',
        created_at: '2026-11-20T09:00:00Z',
      },
      {
        name: 'stable',
        public: true,
        revision: 7,
        issued_at: '2026-11-20T13:00:00Z',
        expires: '2026-11-27T13:00:00Z',
        created_at: '2026-11-20T09:00:00Z',
      },
    ],
    releases,
    rollouts: [
      {
        ...rollout('beta', '1.1.0', 100, 'active'),
        plan: { ...plan, on_breach: 'rollback' as const },
        step: 0,
        step_started_at: '2026-11-20T13:00:00Z',
      },
      rollout('stable', '1.0.0', 10_000, 'complete'),
      rollout('stable', '1.0.1', 10_000, 'complete'),
      rollout('stable', '1.1.0', 2500, 'active'),
    ],
    yanks: [
      { version: '1.0.1', yank_sha256: await sha256Hex(yank), created_at: '2026-11-21T12:00:04Z', yank },
    ],
    standby_yanks: [
      {
        channel: 'beta',
        version: '1.1.0',
        yank_sha256: await sha256Hex(standby),
        created_at: '2026-11-20T13:00:00Z',
        yank: standby,
      },
    ],
  };
  return {
    format_version: 1,
    exported_at: '2026-11-21T18:00:00Z',
    source: 'https://old.updraft.test',
    scope: 'all',
    keys: [
      { version: 1, created_at: '2026-11-20T08:00:00Z', jws: keys.keys1 },
      { version: 2, created_at: '2026-11-20T08:30:00Z', jws: keys.keys2 },
    ],
    tokens: [
      {
        id: randomHex(8),
        name: 'ci publisher',
        role: 'publisher',
        token_sha256: await sha256Hex(TOKEN),
        created_at: '2026-11-20T09:30:00Z',
        created_by: 'bootstrap',
        expires_at: null,
        revoked_at: null,
        // A CI token limited to the app (docs/protocol.md §4): a restore must not widen it.
        apps: [APP],
      },
    ],
    apps: [app],
    audit: { rows: 3, min_id: 3, max_id: 8 },
  };
}

/** A JWS whose payload was edited after signing (the signature no longer covers it). */
function tamper(jws: string, edit: (payload: Record<string, unknown>) => void): string {
  const [header, payload, signature] = jws.split('.');
  const decoded = JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ''))) as Record<
    string,
    unknown
  >;
  edit(decoded);
  return [header, base64url.encode(JSON.stringify(decoded)), signature].join('.');
}

function withApp(body: ImportBody, edit: (app: AppExport) => AppExport): ImportBody {
  return { ...body, apps: body.apps.map(edit) };
}

const TABLES = ['apps', 'channels', 'releases', 'rollouts', 'yanks', 'keysets', 'tokens', 'audit'] as const;

/** Rows in every control-plane table, and objects in KV and R2. */
async function footprint(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
    counts[table] = row?.n ?? 0;
  }
  counts.kv = (await env.STATE.list()).keys.length;
  counts.r2 = (await env.BUCKET.list()).objects.length;
  return counts;
}

const importBody = (body: ImportBody) => admin<ImportResult & ErrorBody>('/import', { method: 'POST', body });

async function check(query: Record<string, string>): Promise<CheckResponse> {
  const response = await call(`/v1/apps/${APP}/check?${new URLSearchParams(query)}`, { token: null });
  expect(response.status).toBe(200);
  return response.json();
}

/** A client ID inside (or outside) `percentBp` of SALT. */
async function clientFor(inside: boolean, percentBp: number): Promise<string> {
  for (let i = 0; ; i++) {
    const id = `client-${i}`;
    if ((await bucket(SALT, id)) < percentBp === inside) return id;
  }
}

beforeAll(async () => {
  const root = (await generateKeyPair()).privateJwk;
  const root2 = (await generateKeyPair()).privateJwk;
  const release = (await generateKeyPair()).privateJwk;
  keys = {
    root,
    root2,
    release,
    keys1: await keysDocument(1, { root, release }),
    // Version 2 rotates the root: listed alone, signed by the root of version 1.
    keys2: await keysDocument(2, { root: root2, release, signer: root }),
  };
});

describe('import refusals (nothing is written)', () => {
  it('starts from an empty deployment', async () => {
    expect(Object.values(await footprint()).every((n) => n === 0)).toBe(true);
  });

  it('refuses a tampered manifest with 400 and writes nothing', async () => {
    const body = withApp(await bundle(), (app) => ({
      ...app,
      releases: app.releases.map((r) =>
        r.version === '1.1.0'
          ? { ...r, manifest: tamper(r.manifest, (p) => Object.assign(p, { mandatory: false })) }
          : r,
      ),
    }));
    const res = await importBody(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_signature');
    expect(res.body.error.message).toMatch(/apps\.shop\.releases\.1\.1\.0/);
    expect(Object.values(await footprint()).every((n) => n === 0)).toBe(true);
  });

  it('refuses a manifest or yank signed by a key the chain never listed', async () => {
    const stranger = (await generateKeyPair()).privateJwk;
    const strangerManifest = await manifest('1.1.0', stranger);
    const byStranger = withApp(await bundle(), (app) => ({
      ...app,
      releases: app.releases.map((r) => (r.version === '1.1.0' ? { ...r, manifest: strangerManifest } : r)),
    }));
    expect((await importBody(byStranger)).body.error.code).toBe('unknown_key');
    const strangerYank = await yankOf('1.0.1', '1.0.0', stranger);
    const yankByStranger = withApp(await bundle(), (app) => ({
      ...app,
      yanks: app.yanks.map((y) => ({ ...y, yank: strangerYank })),
    }));
    const res = await importBody(yankByStranger);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_key');
    expect(Object.values(await footprint()).every((n) => n === 0)).toBe(true);
  });

  it('refuses a broken keys chain and keys that do not list the online key', async () => {
    const body = await bundle();
    const unchained = await keysDocument(2, { root: keys.root2, release: keys.release }); // self-signed
    const broken = { ...body, keys: [body.keys[0], { version: 2, created_at: 'x', jws: unchained }] };
    const res = await importBody(broken as ImportBody);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('unknown_key');
    expect(res.body.error.message).toMatch(/keys chain/);

    const other = (await generateKeyPair()).privateJwk;
    const foreign = await keysDocument(1, {
      root: keys.root,
      release: keys.release,
      online: [publicJwk(other)],
    });
    const res2 = await importBody({ ...body, keys: [{ version: 1, created_at: 'x', jws: foreign }] });
    expect(res2.status).toBe(400);
    expect(res2.body.error.code).toBe('online_key_not_listed');
    expect(Object.values(await footprint()).every((n) => n === 0)).toBe(true);
  });

  it('refuses rows that reference what the import does not hold', async () => {
    const body = await bundle();
    const unknownRelease = withApp(body, (app) => ({
      ...app,
      rollouts: app.rollouts.map((r) => (r.version === '1.0.0' ? { ...r, version: '9.9.9' } : r)),
    }));
    const res = await importBody(unknownRelease);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_import' });
    expect(res.body.error.message).toMatch(/no release 9\.9\.9/);

    const wrongHash = withApp(body, (app) => ({
      ...app,
      releases: app.releases.map((r) => ({ ...r, release_sha256: '0'.repeat(64) })),
    }));
    expect((await importBody(wrongHash)).body.error.code).toBe('sha256_mismatch');

    // A token limited to an app the import does not hold would come back pointing at nothing.
    const dangling = { ...body, tokens: body.tokens.map((t) => ({ ...t, apps: ['elsewhere'] })) };
    const refusedToken = await importBody(dangling);
    expect([refusedToken.status, refusedToken.body.error.code]).toEqual([400, 'invalid_import']);
    expect(refusedToken.body.error.message).toMatch(
      /limited to app elsewhere, which the import does not hold/,
    );

    // A standby yank must belong to a rollout of the import whose plan rolls back, and verify.
    const standbyOf = (app: AppExport) => app.standby_yanks?.[0];
    const notRollingBack = withApp(body, (app) => ({
      ...app,
      standby_yanks: app.standby_yanks?.map((s) => ({ ...s, channel: 'stable' })),
    }));
    const refused = await importBody(notRollingBack);
    expect([refused.status, refused.body.error.code]).toEqual([400, 'invalid_import']);
    expect(refused.body.error.message).toMatch(/no rollout of 1\.1\.0 on stable has a plan that rolls back/);
    const forged = await yankOf('1.1.0', '1.0.0', keys.root);
    const misSigned = withApp(body, (app) => ({
      ...app,
      standby_yanks: [{ ...(standbyOf(app) ?? ({} as never)), yank: forged }],
    }));
    expect((await importBody(misSigned)).status).toBe(400);
    const otherRelease = withApp(body, (app) => ({
      ...app,
      standby_yanks: [{ ...(standbyOf(app) ?? ({} as never)), version: '1.0.0' }],
    }));
    expect((await importBody(otherRelease)).body.error.message).toMatch(/the statement yanks 1\.1\.0/);
    expect((await importBody({ ...body, format_version: 2 } as unknown as ImportBody)).body.error.code).toBe(
      'invalid_json',
    );
    expect(Object.values(await footprint()).every((n) => n === 0)).toBe(true);
  });
});

describe('a restore', () => {
  let body: ImportBody;
  let result: ImportResult;

  it('imports into a deployment with only the same keys document 1 and a token of its own', async () => {
    body = await bundle();
    // A deployment being prepared for the restore: keys document 1 registered, an admin token made.
    expect((await admin('/keys', { method: 'POST', body: { keys: keys.keys1 } })).status).toBe(201);
    expect(
      (await admin('/tokens', { method: 'POST', body: { name: 'restorer', role: 'admin' } })).status,
    ).toBe(201);

    const res = await importBody(body);
    expect(res.status).toBe(201);
    result = res.body;
    expect(result.apps).toEqual([APP]);
    expect(result.counts).toEqual({
      keys: 1,
      tokens: 1,
      apps: 1,
      channels: 2,
      releases: 3,
      rollouts: 4,
      yanks: 1,
      standby_yanks: 1,
    });
    // Two audit rows were here: the imported ids 3…8 move up by 2, and the import row comes after them.
    expect(result.audit).toEqual({ rows: 3, min_id: 3, max_id: 8, id_offset: 2 });
    expect(result.import_audit_id).toBe(11);
  });

  it('signs every channel one revision past the export, keeping rollouts, salts and yanks', async () => {
    for (const [channel, revision] of [
      ['stable', 8],
      ['beta', 4],
    ] as const) {
      const kv = await projected(APP, channel);
      const payload = await verifyDocument('channel', kv?.snapshot ?? '', [onlinePublic()]);
      expect(payload.revision).toBe(revision);
      expect(payload.yanked).toEqual([
        { version: '1.0.1', yank_sha256: body.apps[0]?.yanks[0]?.yank_sha256, rollback_to: '1.0.0' },
      ]);
      expect(payload.releases.every((r) => r.rollout.salt === SALT)).toBe(true);
    }
    // The standby yank came back armed and sealed: in the rollout's view, in no snapshot or R2 object.
    const status = await admin<StatusView>(`/apps/${APP}/status`);
    const beta = status.body.channels.find((c) => c.name === 'beta');
    const standby = body.apps[0]?.standby_yanks?.[0];
    expect(beta?.rollouts.find((r) => r.version === '1.1.0')?.standby_yank).toEqual({
      yank_sha256: standby?.yank_sha256,
      rollback_to: '1.0.0',
      signed_at: standby?.created_at,
    });
    expect(JSON.stringify(await projected(APP, 'beta'))).not.toContain(standby?.yank_sha256);
    expect(await env.BUCKET.get(`manifests/${APP}/yanks/1.1.0.jws`)).toBeNull();
    const keysDoc = (await (await call('/v1/keys', { token: null })).json()) as { keys: string };
    expect(keysDoc.keys).toBe(keys.keys2);
    expect(await env.BUCKET.get(releaseDocKey(APP, '1.1.0')).then((o) => o?.text())).toBe(
      body.apps[0]?.releases[2]?.manifest,
    );
  });

  it('answers checks from the restored state', async () => {
    const inside = await clientFor(true, 2500);
    const outside = await clientFor(false, 2500);
    const base = { version: '1.0.0', platform: 'linux', arch: 'x64' };
    const update = await check({ ...base, client_id: inside });
    expect(update).toMatchObject({ status: 'update', version: '1.1.0', mandatory: true, channel: 'stable' });
    expect(update.signed.release).toBe(body.apps[0]?.releases[2]?.manifest);
    expect(await check({ ...base, client_id: outside })).toMatchObject({ status: 'none' });
    const rollback = await check({ ...base, version: '1.0.1', client_id: outside });
    expect(rollback).toMatchObject({ status: 'rollback', version: '1.0.0' });
    expect(rollback.signed.yank).toBe(body.apps[0]?.yanks[0]?.yank);
    // The routing rule sends qa-1 to the private beta channel.
    expect((await check({ ...base, client_id: 'qa-1' })).channel).toBe('beta');
  });

  it('restores tokens by their hash, still limited to their apps: the old token works here', async () => {
    const res = await admin<{ actor: string; role: string }>('/whoami', { token: TOKEN });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      actor: `token:${body.tokens[0]?.id}:ci publisher`,
      role: 'publisher',
      apps: [APP],
    });
    expect((await admin(`/apps/${APP}/status`, { token: TOKEN })).status).toBe(200);
    const elsewhere = await admin<ErrorBody>('/apps/another-app/status', { token: TOKEN });
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([403, 'app_forbidden']);
    expect((await admin('/export', { token: TOKEN })).status).toBe(403);
  });

  it('refuses a second import with 409 not_empty and changes nothing', async () => {
    const before = await footprint();
    const res = await importBody(await bundle());
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('not_empty');
    expect(await footprint()).toEqual(before);
  });

  it('takes the audit log in pages into the ids it reserved, once', async () => {
    const row = (id: number, action: string) => ({
      id,
      at: '2026-11-20T12:00:00Z',
      actor: 'bootstrap',
      action,
      app: APP,
      target: '1.0.0',
      before: null,
      after: { version: '1.0.0', nested: { a: 1 } },
    });
    const outside = await admin<ErrorBody>('/import/audit', {
      method: 'POST',
      body: { rows: [row(9, 'x')] },
    });
    expect(outside.status).toBe(400);
    expect(outside.body.error.code).toBe('out_of_range');

    const first = await admin('/import/audit', {
      method: 'POST',
      body: { rows: [row(3, 'app.create'), row(5, 'release.register')] },
    });
    expect(first.body).toEqual({ inserted: 2, remaining: 1 });
    // A page sent again is harmless.
    const again = await admin('/import/audit', {
      method: 'POST',
      body: { rows: [row(5, 'release.register'), row(8, 'yank.register')] },
    });
    expect(again.body).toEqual({ inserted: 1, remaining: 0 });
    const done = await admin<ErrorBody>('/import/audit', { method: 'POST', body: { rows: [row(4, 'x')] } });
    expect(done.status).toBe(409);
    expect(done.body.error.code).toBe('import_complete');

    const log = await admin<{ entries: { id: number; action: string; after: unknown }[] }>('/audit?limit=20');
    expect(log.body.entries.map((e) => [e.id, e.action])).toEqual([
      [11, 'import'],
      [10, 'yank.register'],
      [7, 'release.register'],
      [5, 'app.create'],
      [2, 'token.create'],
      [1, 'keys.register'],
    ]);
    expect(log.body.entries.find((e) => e.id === 7)?.after).toEqual({ version: '1.0.0', nested: { a: 1 } });
  });

  it('exports what it imported, channels one revision on', async () => {
    const index = await admin<ExportIndex>('/export');
    expect(index.status).toBe(200);
    expect(index.body).toMatchObject({ format_version: 1, scope: 'all', apps: [APP] });
    // Keys document 1 was registered here before the import: its created_at is this deployment's.
    expect(index.body.keys.map((k) => [k.version, k.jws])).toEqual(body.keys.map((k) => [k.version, k.jws]));
    expect(index.body.keys[1]).toEqual(body.keys[1]);
    expect(index.body.tokens).toEqual(expect.arrayContaining(body.tokens));
    expect(index.body.audit).toEqual({ rows: 6, min_id: 1, max_id: 11 });

    const exported = await admin<AppExport>(`/export/apps/${APP}`);
    const original = body.apps[0];
    if (!original) throw new Error('no app');
    const { channels, ...rest } = exported.body;
    const { channels: originalChannels, ...originalRest } = original;
    expect(rest).toEqual({ ...originalRest, releases: originalRest.releases });
    expect(channels.map((c) => [c.name, c.public, c.revision, c.created_at])).toEqual(
      originalChannels.map((c) => [c.name, c.public, c.revision + 1, c.created_at]),
    );

    const page = await admin<{ rows: { id: number }[]; next_after?: number }>(
      `/export/audit?until=11&limit=2&app=${APP}`,
    );
    expect(page.body).toEqual({
      rows: [expect.objectContaining({ id: 5 }), expect.objectContaining({ id: 7 })],
      next_after: 7,
    });
  });
});
